from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.billing_transaction_events_response_200 import BillingTransactionEventsResponse200
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    transaction_id: str,
    *,
    last_event_id: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/billing/transactions/{transaction_id}/events".format(
            transaction_id=quote(str(transaction_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BillingTransactionEventsResponse200 | Error | None:
    if response.status_code == 200:
        response_200 = BillingTransactionEventsResponse200.from_dict(response.text)

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BillingTransactionEventsResponse200 | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    transaction_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,
) -> Response[BillingTransactionEventsResponse200 | Error]:
    """Follow one of your transactions: Server-Sent Events of its status

     The first event is the current state (the body of GET /api/billing/transactions/ID);
    then one `status` event per change, within a second of its COMMIT. A final status
    (completed, failed, expired, refunded) is sent and the stream ends. A comment every
    15 s keeps it alive; after 5 minutes it ends with a `retry:` hint and the client
    reconnects. Served by the stream process (Procfile `stream`).

    Args:
        transaction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BillingTransactionEventsResponse200 | Error]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
        last_event_id=last_event_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    transaction_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,
) -> BillingTransactionEventsResponse200 | Error | None:
    """Follow one of your transactions: Server-Sent Events of its status

     The first event is the current state (the body of GET /api/billing/transactions/ID);
    then one `status` event per change, within a second of its COMMIT. A final status
    (completed, failed, expired, refunded) is sent and the stream ends. A comment every
    15 s keeps it alive; after 5 minutes it ends with a `retry:` hint and the client
    reconnects. Served by the stream process (Procfile `stream`).

    Args:
        transaction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BillingTransactionEventsResponse200 | Error
    """

    return sync_detailed(
        transaction_id=transaction_id,
        client=client,
        last_event_id=last_event_id,
    ).parsed


async def asyncio_detailed(
    transaction_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,
) -> Response[BillingTransactionEventsResponse200 | Error]:
    """Follow one of your transactions: Server-Sent Events of its status

     The first event is the current state (the body of GET /api/billing/transactions/ID);
    then one `status` event per change, within a second of its COMMIT. A final status
    (completed, failed, expired, refunded) is sent and the stream ends. A comment every
    15 s keeps it alive; after 5 minutes it ends with a `retry:` hint and the client
    reconnects. Served by the stream process (Procfile `stream`).

    Args:
        transaction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BillingTransactionEventsResponse200 | Error]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
        last_event_id=last_event_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    transaction_id: str,
    *,
    client: AuthenticatedClient,
    last_event_id: str | Unset = UNSET,
) -> BillingTransactionEventsResponse200 | Error | None:
    """Follow one of your transactions: Server-Sent Events of its status

     The first event is the current state (the body of GET /api/billing/transactions/ID);
    then one `status` event per change, within a second of its COMMIT. A final status
    (completed, failed, expired, refunded) is sent and the stream ends. A comment every
    15 s keeps it alive; after 5 minutes it ends with a `retry:` hint and the client
    reconnects. Served by the stream process (Procfile `stream`).

    Args:
        transaction_id (str):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BillingTransactionEventsResponse200 | Error
    """

    return (
        await asyncio_detailed(
            transaction_id=transaction_id,
            client=client,
            last_event_id=last_event_id,
        )
    ).parsed
