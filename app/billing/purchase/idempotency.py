"""Idempotency-Key handling for purchase intents, scoped to the user.

The key is claimed with an INSERT guarded by a unique (user_id, key) index, so
ten concurrent requests with one key produce one claim; the others see the
claim and answer 409 (still running), 422 (another body) or the stored reply.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, Table, bindparam, delete, select, text, update

from app.auth.services import user_row_insert
from app.billing.core.models import IdempotencyRecord
from app.db import step, write_alone
from app.domain_errors import Conflict, InvalidRequest, Unprocessable
from app.extensions import db

MAX_KEY_LENGTH = 255
# The claim: one INSERT guarded by the unique (user_id, key) index; optionally the
# caller's user row first, in the same statement (its foreign key is checked at
# the end). Text, not Core: SQLAlchemy compiles an ON CONFLICT insert anew on
# every execution.
_CLAIM_SQL = """
{provisioned}INSERT INTO idempotency_records
    (user_id, key, request_hash, state, created_at, expires_at)
VALUES (:user_id, :key, :request_hash, :state, :created_at, :expires_at)
ON CONFLICT (user_id, key) DO NOTHING
RETURNING id
"""
_CLAIM = text(_CLAIM_SQL.format(provisioned=""))
_CLAIM_AND_USER = text(
    _CLAIM_SQL.format(provisioned=f"WITH provisioned AS ({user_row_insert()})\n")
)
# The reply's write, built once: SQLAlchemy then reuses its compiled form without
# working out a cache key each time.
_RECORDS = cast(Table, IdempotencyRecord.__table__)  # mapped classes type it as a FromClause
_COMPLETE = (
    update(_RECORDS)
    .where(_RECORDS.c.user_id == bindparam("slot_user_id"), _RECORDS.c.key == bindparam("slot_key"))
    .values(
        state="done",
        response_status=bindparam("slot_status"),
        response_body=bindparam("slot_body"),
    )
)
# Remembers the claim's transaction, committed with the transaction row: an UPDATE
# for the statement that creates the row, taking its id from that statement's CTE
# named ``created`` (parameters ``user_id`` and ``slot_key``).
BIND_CREATED_SQL = (
    "UPDATE idempotency_records SET transaction_id = created.id FROM created "
    "WHERE idempotency_records.user_id = :user_id AND idempotency_records.key = :slot_key"
)
# A claim this old whose request never finished (a crashed process) may be taken over.
STALE_CLAIM = timedelta(minutes=2)


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Resume:
    """An abandoned claim taken over; the transaction its first request made, if any."""

    transaction_id: uuid.UUID | None


@dataclass
class Slot:
    """One request's hold on its Idempotency-Key; every method is a no-op without a key.

    ``replay`` is the stored reply of an earlier request with the same key and
    body; ``resumed_transaction_id`` the transaction of a crashed earlier request
    whose claim this one took over.
    """

    user_id: str
    key: str | None
    replay: Replay | None = None
    resumed_transaction_id: uuid.UUID | None = None
    _finished: bool = field(default=False, repr=False)

    def complete(self, status: int, body: dict[str, Any]) -> None:
        """Store the reply, in the step that makes the request's last change."""
        if self.key is not None:
            complete(self.user_id, self.key, status, body)
        self._finished = True

    def release(self) -> None:
        """Give the key back, in the step that undoes the request's effects."""
        if self.key is not None:
            release(self.user_id, self.key)
        self._finished = True


@contextmanager
def slot(
    user_id: str,
    key: str | None,
    payload: dict[str, Any],
    *,
    new_user: Mapping[str, str | None] | None = None,
) -> Iterator[Slot]:
    """Claim ``key`` for the block, or hand back the stored reply.

    ``new_user`` (the caller's user row, from ``current_user_row``, which the claim
    refers to) is created if missing by the claim's own statement.

    Raises 422/409 domain errors like :func:`claim`. If the block fails before it
    completed or released the slot, the claim is released in a step of its own so
    a retry may try again.
    """
    held = Slot(user_id, key)
    if key is not None:
        claimed = claim(user_id, key, request_fingerprint(payload), new_user=new_user)
        if isinstance(claimed, Replay):
            held.replay = claimed
        elif isinstance(claimed, Resume):
            held.resumed_transaction_id = claimed.transaction_id
    try:
        yield held
    except BaseException:
        if key is not None and held.replay is None and not held._finished:
            with step():
                release(user_id, key)
        raise


def request_fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str) -> str:
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            "VALIDATION_ERROR",
            "Invalid Idempotency-Key header",
            details=[
                {
                    "field": "Idempotency-Key",
                    "message": f"1 to {MAX_KEY_LENGTH} printable characters",
                    "type": "idempotency_key",
                }
            ],
        )
    return key


def claim(
    user_id: str,
    key: str,
    fingerprint: str,
    *,
    new_user: Mapping[str, str | None] | None = None,
) -> Replay | Resume | None:
    """Claim ``key`` for this request, or return the stored reply to replay.

    ``Resume`` means a crashed request's claim was taken over: the caller carries
    on with the transaction that request made instead of making a second one.

    Raises 422 for a different body and 409 while the first request still runs.
    The claim is committed before the work starts, by a step that is one INSERT
    (with ``new_user``'s row, when given); a key already taken costs a second step,
    which reads the record and may take the claim over.
    """
    now = datetime.now(UTC)
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    params: dict[str, Any] = {
        "user_id": user_id,
        "key": key,
        "request_hash": fingerprint,
        "state": "in_progress",
        "created_at": now,
        "expires_at": now + ttl,
    }
    stmt = _CLAIM
    if new_user is not None:
        stmt = _CLAIM_AND_USER
        params.update(new_user)
    with write_alone() as conn:
        claimed = conn.execute(stmt, params).scalar()
    if claimed is not None:
        return None
    with step():
        return _claimed_before(user_id, key, fingerprint, now)


def _claimed_before(user_id: str, key: str, fingerprint: str, now: datetime) -> Replay | Resume:
    record = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None:  # expired and purged between the two steps
        raise _in_use()
    if record.request_hash != fingerprint:
        raise Unprocessable(
            "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request"
        )
    if record.state == "done":
        if record.response_status is None or record.response_body is None:
            # complete() writes the state and the response in one UPDATE: never expected.
            raise Conflict(
                "IDEMPOTENCY_RECORD_INCOMPLETE",
                "The request with this Idempotency-Key left no response to replay",
            )
        return Replay(record.response_status, record.response_body)
    if record.created_at < now - STALE_CLAIM and _take_over(record.id, record.created_at, now):
        return Resume(record.transaction_id)
    raise _in_use()


def _take_over(record_id: int, seen_created_at: datetime, now: datetime) -> bool:
    """Conditional update: only one of several retries wins an abandoned claim."""
    result = db.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.state == "in_progress",
            IdempotencyRecord.created_at == seen_created_at,
        )
        .values(created_at=now)
    )
    # An UPDATE returns a CursorResult; Session.execute is typed with the general Result.
    return cast("CursorResult[Any]", result).rowcount == 1


def _in_use() -> Conflict:
    return Conflict(
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed",
        retry_after_s=1,
    )


def complete(user_id: str, key: str, status: int, body: dict[str, Any]) -> None:
    db.session.execute(
        _COMPLETE,
        {"slot_user_id": user_id, "slot_key": key, "slot_status": status, "slot_body": body},
    )


def release(user_id: str, key: str) -> None:
    """Forget a claim whose request failed without effect, so a retry may try again."""
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.state == "in_progress",
        )
    )


def release_bound(user_id: str, key: str, transaction_id: uuid.UUID) -> None:
    """Forget the key's record for ``transaction_id`` only, running or done: a withdrawn
    request's (``app.billing.purchase.withdraw``). Its reply, if the last step committed
    although its answer was lost, offers a payment voided since; a retry starts anew.
    A claim a later retry made is bound to no row or another one, and stays."""
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.transaction_id == transaction_id,
        )
    )


def purge_expired(now: datetime) -> int:
    result = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    return cast("CursorResult[Any]", result).rowcount
