from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.requirement_out import RequirementOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    event_id: str,
    *,
    max_participants: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_max_participants: None | str | Unset
    if isinstance(max_participants, Unset):
        json_max_participants = UNSET
    else:
        json_max_participants = max_participants
    params["max_participants"] = json_max_participants

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/events/{event_id}/requirements".format(
            event_id=quote(str(event_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | RequirementOut | None:
    if response.status_code == 200:
        response_200 = RequirementOut.from_dict(response.json())

        return response_200

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

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | RequirementOut]:
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
    max_participants: None | str | Unset = UNSET,
) -> Response[Error | RequirementOut]:
    """What publishing this draft, or resizing this published event, would need now

    Args:
        event_id (str):
        max_participants (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RequirementOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        max_participants=max_participants,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    event_id: str,
    *,
    client: AuthenticatedClient,
    max_participants: None | str | Unset = UNSET,
) -> Error | RequirementOut | None:
    """What publishing this draft, or resizing this published event, would need now

    Args:
        event_id (str):
        max_participants (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RequirementOut
    """

    return sync_detailed(
        event_id=event_id,
        client=client,
        max_participants=max_participants,
    ).parsed


async def asyncio_detailed(
    event_id: str,
    *,
    client: AuthenticatedClient,
    max_participants: None | str | Unset = UNSET,
) -> Response[Error | RequirementOut]:
    """What publishing this draft, or resizing this published event, would need now

    Args:
        event_id (str):
        max_participants (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | RequirementOut]
    """

    kwargs = _get_kwargs(
        event_id=event_id,
        max_participants=max_participants,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    event_id: str,
    *,
    client: AuthenticatedClient,
    max_participants: None | str | Unset = UNSET,
) -> Error | RequirementOut | None:
    """What publishing this draft, or resizing this published event, would need now

    Args:
        event_id (str):
        max_participants (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | RequirementOut
    """

    return (
        await asyncio_detailed(
            event_id=event_id,
            client=client,
            max_participants=max_participants,
        )
    ).parsed
