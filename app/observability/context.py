"""Log context carried by contextvars: request id, user, transaction, Celery task.

Contextvars (not thread-locals) so that each gunicorn thread, each Celery task
and each eager task run inside a request sees its own values, and a task can
restore the values of the request that ran it eagerly.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

FIELDS = ("request_id", "user_id", "transaction_id", "task_id", "task_name")
_VARS: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"billing_{name}", default=None) for name in FIELDS
}
# What a client may send as X-Request-ID: short, printable, no spaces (it is logged
# and echoed in a header). Anything else is replaced by a fresh id.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

Tokens = dict[str, contextvars.Token[str | None]]


def new_request_id() -> str:
    # 32 hex digits like a UUID's, without building a UUID object: made per request.
    return secrets.token_hex(16)


def accept_request_id(raw: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    if raw and _REQUEST_ID.match(raw):
        return raw
    return new_request_id()


def get(name: str) -> str | None:
    return _VARS[name].get()


def bind(**values: Any) -> Tokens:
    """Set context fields (None values are skipped); answers tokens for :func:`reset`."""
    tokens: Tokens = {}
    for name, value in values.items():
        if value is not None:
            tokens[name] = _VARS[name].set(str(value))
    return tokens


def reset(tokens: Tokens) -> None:
    for name, token in tokens.items():
        _VARS[name].reset(token)


def snapshot() -> dict[str, str]:
    return {name: value for name in FIELDS if (value := _VARS[name].get()) is not None}


@contextlib.contextmanager
def transaction_log_context(
    transaction_id: uuid.UUID | str, origin_request_id: str | None = None
) -> Iterator[None]:
    """Context for work on one transaction: its id and, unless a request id is
    already bound (a task a request sent), the id of the request that created it
    (``Transaction.origin_request_id``, read with the row)."""
    request_id = None if get("request_id") else origin_request_id
    tokens = bind(transaction_id=str(transaction_id), request_id=request_id)
    try:
        yield
    finally:
        reset(tokens)
