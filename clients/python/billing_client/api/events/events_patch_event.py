from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.event_out import EventOut
from ...models.event_patch_in import EventPatchIn
from ...models.events_patch_event_confirm_credit import EventsPatchEventConfirmCredit
from ...types import UNSET, Response, Unset


def _get_kwargs(
    event_id: str,
    *,
    body: EventPatchIn | Unset = UNSET,
    confirm_credit: EventsPatchEventConfirmCredit | Unset = EventsPatchEventConfirmCredit.VALUE_2,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    params: dict[str, Any] = {}

    json_confirm_credit: str | Unset = UNSET
    if not isinstance(confirm_credit, Unset):
        json_confirm_credit = confirm_credit.value

    params["confirm_credit"] = json_confirm_credit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/api/events/{event_id}".format(
            event_id=quote(str(event_id), safe=""),
        ),
        "params": params,
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | EventOut | None:
    if response.status_code == 200:
        response_200 = EventOut.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | EventOut]:
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
    body: EventPatchIn | Unset = UNSET,
    confirm_credit: EventsPatchEventConfirmCredit | Unset = EventsPatchEventConfirmCredit.VALUE_2,
) -> Response[Error | EventOut]:
    """Edit an event; a published one must stay within its entitlement

    Args:
        event_id (str):
        confirm_credit (EventsPatchEventConfirmCredit | Unset):  Default:
            EventsPatchEventConfirmCredit.VALUE_2.
        body (EventPatchIn | Unset): Only the fields sent change; ``max_participants: null`` means
            unlimited.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        body=body,
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
    body: EventPatchIn | Unset = UNSET,
    confirm_credit: EventsPatchEventConfirmCredit | Unset = EventsPatchEventConfirmCredit.VALUE_2,
) -> Error | EventOut | None:
    """Edit an event; a published one must stay within its entitlement

    Args:
        event_id (str):
        confirm_credit (EventsPatchEventConfirmCredit | Unset):  Default:
            EventsPatchEventConfirmCredit.VALUE_2.
        body (EventPatchIn | Unset): Only the fields sent change; ``max_participants: null`` means
            unlimited.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventOut
    """

    return sync_detailed(
        event_id=event_id,
        client=client,
        body=body,
        confirm_credit=confirm_credit,
    ).parsed


async def asyncio_detailed(
    event_id: str,
    *,
    client: AuthenticatedClient,
    body: EventPatchIn | Unset = UNSET,
    confirm_credit: EventsPatchEventConfirmCredit | Unset = EventsPatchEventConfirmCredit.VALUE_2,
) -> Response[Error | EventOut]:
    """Edit an event; a published one must stay within its entitlement

    Args:
        event_id (str):
        confirm_credit (EventsPatchEventConfirmCredit | Unset):  Default:
            EventsPatchEventConfirmCredit.VALUE_2.
        body (EventPatchIn | Unset): Only the fields sent change; ``max_participants: null`` means
            unlimited.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        body=body,
        confirm_credit=confirm_credit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    event_id: str,
    *,
    client: AuthenticatedClient,
    body: EventPatchIn | Unset = UNSET,
    confirm_credit: EventsPatchEventConfirmCredit | Unset = EventsPatchEventConfirmCredit.VALUE_2,
) -> Error | EventOut | None:
    """Edit an event; a published one must stay within its entitlement

    Args:
        event_id (str):
        confirm_credit (EventsPatchEventConfirmCredit | Unset):  Default:
            EventsPatchEventConfirmCredit.VALUE_2.
        body (EventPatchIn | Unset): Only the fields sent change; ``max_participants: null`` means
            unlimited.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventOut
    """

    return (
        await asyncio_detailed(
            event_id=event_id,
            client=client,
            body=body,
            confirm_credit=confirm_credit,
        )
    ).parsed
