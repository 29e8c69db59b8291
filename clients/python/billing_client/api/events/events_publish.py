from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.events_publish_confirm_credit import EventsPublishConfirmCredit
from ...models.publish_out import PublishOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    event_id: str,
    *,
    confirm_credit: EventsPublishConfirmCredit | Unset = EventsPublishConfirmCredit.VALUE_2,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_confirm_credit: str | Unset = UNSET
    if not isinstance(confirm_credit, Unset):
        json_confirm_credit = confirm_credit.value

    params["confirm_credit"] = json_confirm_credit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/events/{event_id}/publish".format(
            event_id=quote(str(event_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | PublishOut | None:
    if response.status_code == 200:
        response_200 = PublishOut.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 402:
        response_402 = Error.from_dict(response.json())

        return response_402

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | PublishOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    event_id: str,
    *,
    client: AuthenticatedClient,
    confirm_credit: EventsPublishConfirmCredit | Unset = EventsPublishConfirmCredit.VALUE_2,
) -> Response[Error | PublishOut]:
    """Publish an event, enforcing the free limit, upgrade credits and club plans

    Args:
        event_id (str):
        confirm_credit (EventsPublishConfirmCredit | Unset):  Default:
            EventsPublishConfirmCredit.VALUE_2.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | PublishOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        confirm_credit=confirm_credit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    event_id: str,
    *,
    client: AuthenticatedClient,
    confirm_credit: EventsPublishConfirmCredit | Unset = EventsPublishConfirmCredit.VALUE_2,
) -> Error | PublishOut | None:
    """Publish an event, enforcing the free limit, upgrade credits and club plans

    Args:
        event_id (str):
        confirm_credit (EventsPublishConfirmCredit | Unset):  Default:
            EventsPublishConfirmCredit.VALUE_2.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | PublishOut
    """

    return sync_detailed(
        event_id=event_id,
        client=client,
        confirm_credit=confirm_credit,
    ).parsed


async def asyncio_detailed(
    event_id: str,
    *,
    client: AuthenticatedClient,
    confirm_credit: EventsPublishConfirmCredit | Unset = EventsPublishConfirmCredit.VALUE_2,
) -> Response[Error | PublishOut]:
    """Publish an event, enforcing the free limit, upgrade credits and club plans

    Args:
        event_id (str):
        confirm_credit (EventsPublishConfirmCredit | Unset):  Default:
            EventsPublishConfirmCredit.VALUE_2.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | PublishOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        confirm_credit=confirm_credit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    event_id: str,
    *,
    client: AuthenticatedClient,
    confirm_credit: EventsPublishConfirmCredit | Unset = EventsPublishConfirmCredit.VALUE_2,
) -> Error | PublishOut | None:
    """Publish an event, enforcing the free limit, upgrade credits and club plans

    Args:
        event_id (str):
        confirm_credit (EventsPublishConfirmCredit | Unset):  Default:
            EventsPublishConfirmCredit.VALUE_2.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | PublishOut
    """

    return (
        await asyncio_detailed(
            event_id=event_id,
            client=client,
            confirm_credit=confirm_credit,
        )
    ).parsed
