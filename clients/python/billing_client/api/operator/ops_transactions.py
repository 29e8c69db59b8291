import datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.ops_page_out import OpsPageOut
from ...models.tx_status import TxStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: None | TxStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    payment_id: None | str | Unset = UNSET,
    club_id: None | Unset | UUID = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: None | str | Unset
    if isinstance(status, Unset):
        json_status = UNSET
    elif isinstance(status, TxStatus):
        json_status = status.value
    else:
        json_status = status
    params["status"] = json_status

    json_user_id: None | str | Unset
    if isinstance(user_id, Unset):
        json_user_id = UNSET
    else:
        json_user_id = user_id
    params["user_id"] = json_user_id

    json_payment_id: None | str | Unset
    if isinstance(payment_id, Unset):
        json_payment_id = UNSET
    else:
        json_payment_id = payment_id
    params["payment_id"] = json_payment_id

    json_club_id: None | str | Unset
    if isinstance(club_id, Unset):
        json_club_id = UNSET
    elif isinstance(club_id, UUID):
        json_club_id = str(club_id)
    else:
        json_club_id = club_id
    params["club_id"] = json_club_id

    json_from_: None | str | Unset
    if isinstance(from_, Unset):
        json_from_ = UNSET
    elif isinstance(from_, datetime.datetime):
        json_from_ = from_.isoformat()
    else:
        json_from_ = from_
    params["from"] = json_from_

    json_to: None | str | Unset
    if isinstance(to, Unset):
        json_to = UNSET
    elif isinstance(to, datetime.datetime):
        json_to = to.isoformat()
    else:
        json_to = to
    params["to"] = json_to

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/ops/transactions",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | OpsPageOut | None:
    if response.status_code == 200:
        response_200 = OpsPageOut.from_dict(response.json())

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

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | OpsPageOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    status: None | TxStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    payment_id: None | str | Unset = UNSET,
    club_id: None | Unset | UUID = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
) -> Response[Error | OpsPageOut]:
    """Operator: every buyer's transactions, newest first, in cursor pages

    Args:
        status (None | TxStatus | Unset):
        user_id (None | str | Unset):
        payment_id (None | str | Unset):
        club_id (None | Unset | UUID):
        from_ (datetime.datetime | None | Unset):
        to (datetime.datetime | None | Unset):
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OpsPageOut]
    """

    kwargs = _get_kwargs(
        status=status,
        user_id=user_id,
        payment_id=payment_id,
        club_id=club_id,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    status: None | TxStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    payment_id: None | str | Unset = UNSET,
    club_id: None | Unset | UUID = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
) -> Error | OpsPageOut | None:
    """Operator: every buyer's transactions, newest first, in cursor pages

    Args:
        status (None | TxStatus | Unset):
        user_id (None | str | Unset):
        payment_id (None | str | Unset):
        club_id (None | Unset | UUID):
        from_ (datetime.datetime | None | Unset):
        to (datetime.datetime | None | Unset):
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OpsPageOut
    """

    return sync_detailed(
        client=client,
        status=status,
        user_id=user_id,
        payment_id=payment_id,
        club_id=club_id,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    status: None | TxStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    payment_id: None | str | Unset = UNSET,
    club_id: None | Unset | UUID = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
) -> Response[Error | OpsPageOut]:
    """Operator: every buyer's transactions, newest first, in cursor pages

    Args:
        status (None | TxStatus | Unset):
        user_id (None | str | Unset):
        payment_id (None | str | Unset):
        club_id (None | Unset | UUID):
        from_ (datetime.datetime | None | Unset):
        to (datetime.datetime | None | Unset):
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | OpsPageOut]
    """

    kwargs = _get_kwargs(
        status=status,
        user_id=user_id,
        payment_id=payment_id,
        club_id=club_id,
        from_=from_,
        to=to,
        cursor=cursor,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    status: None | TxStatus | Unset = UNSET,
    user_id: None | str | Unset = UNSET,
    payment_id: None | str | Unset = UNSET,
    club_id: None | Unset | UUID = UNSET,
    from_: datetime.datetime | None | Unset = UNSET,
    to: datetime.datetime | None | Unset = UNSET,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
) -> Error | OpsPageOut | None:
    """Operator: every buyer's transactions, newest first, in cursor pages

    Args:
        status (None | TxStatus | Unset):
        user_id (None | str | Unset):
        payment_id (None | str | Unset):
        club_id (None | Unset | UUID):
        from_ (datetime.datetime | None | Unset):
        to (datetime.datetime | None | Unset):
        cursor (None | str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | OpsPageOut
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            user_id=user_id,
            payment_id=payment_id,
            club_id=club_id,
            from_=from_,
            to=to,
            cursor=cursor,
            limit=limit,
        )
    ).parsed
