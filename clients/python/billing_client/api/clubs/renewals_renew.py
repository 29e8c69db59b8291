from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.purchase_intent_out import PurchaseIntentOut
from ...models.renew_in import RenewIn
from ...types import UNSET, Response, Unset


def _get_kwargs(
    club_id: str,
    *,
    body: RenewIn | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/clubs/{club_id}/renew".format(
            club_id=quote(str(club_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | PurchaseIntentOut | None:
    if response.status_code == 200:
        response_200 = PurchaseIntentOut.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = PurchaseIntentOut.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

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
) -> Response[Error | PurchaseIntentOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    club_id: str,
    *,
    client: AuthenticatedClient,
    body: RenewIn | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | PurchaseIntentOut]:
    """Renew a club's plan: a purchase intent for the next period (owner only)

     201 with a new renewal's purchase intent, or 200 with the renewal already pending
    (one per club). Paying it extends the subscription from the current period's end;
    after expiry, a new period starts at payment. A dearer `plan_id` while the period
    runs is an upgrade: the prorated difference for the days left, same period end.

    Args:
        club_id (str):
        idempotency_key (str | Unset):
        body (RenewIn | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | PurchaseIntentOut]
    """

    kwargs = _get_kwargs(
        club_id=club_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    club_id: str,
    *,
    client: AuthenticatedClient,
    body: RenewIn | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Error | PurchaseIntentOut | None:
    """Renew a club's plan: a purchase intent for the next period (owner only)

     201 with a new renewal's purchase intent, or 200 with the renewal already pending
    (one per club). Paying it extends the subscription from the current period's end;
    after expiry, a new period starts at payment. A dearer `plan_id` while the period
    runs is an upgrade: the prorated difference for the days left, same period end.

    Args:
        club_id (str):
        idempotency_key (str | Unset):
        body (RenewIn | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | PurchaseIntentOut
    """

    return sync_detailed(
        club_id=club_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    club_id: str,
    *,
    client: AuthenticatedClient,
    body: RenewIn | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | PurchaseIntentOut]:
    """Renew a club's plan: a purchase intent for the next period (owner only)

     201 with a new renewal's purchase intent, or 200 with the renewal already pending
    (one per club). Paying it extends the subscription from the current period's end;
    after expiry, a new period starts at payment. A dearer `plan_id` while the period
    runs is an upgrade: the prorated difference for the days left, same period end.

    Args:
        club_id (str):
        idempotency_key (str | Unset):
        body (RenewIn | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | PurchaseIntentOut]
    """

    kwargs = _get_kwargs(
        club_id=club_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    club_id: str,
    *,
    client: AuthenticatedClient,
    body: RenewIn | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Error | PurchaseIntentOut | None:
    """Renew a club's plan: a purchase intent for the next period (owner only)

     201 with a new renewal's purchase intent, or 200 with the renewal already pending
    (one per club). Paying it extends the subscription from the current period's end;
    after expiry, a new period starts at payment. A dearer `plan_id` while the period
    runs is an upgrade: the prorated difference for the days left, same period end.

    Args:
        club_id (str):
        idempotency_key (str | Unset):
        body (RenewIn | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | PurchaseIntentOut
    """

    return (
        await asyncio_detailed(
            club_id=club_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
