"""Idempotency-Key handling for purchase intents, scoped to the user.

The key is claimed with an INSERT guarded by a unique (user_id, key) index, so
ten concurrent requests with one key produce one claim; the others see the
claim and answer 409 (still running), 422 (another body) or the stored reply.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from app.billing.models import IdempotencyRecord
from app.errors import ApiError
from app.extensions import db

MAX_KEY_LENGTH = 255
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


def request_fingerprint(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str) -> str:
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
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


def claim(user_id: str, key: str, fingerprint: str) -> Replay | Resume | None:
    """Claim ``key`` for this request, or return the stored reply to replay.

    ``Resume`` means a crashed request's claim was taken over: the caller carries
    on with the transaction that request made instead of making a second one.

    Raises 422 for a different body and 409 while the first request still runs.
    The caller commits the claim before doing the work.
    """
    now = datetime.now(UTC)
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    claimed = db.session.execute(
        insert(IdempotencyRecord)
        .values(
            user_id=user_id,
            key=key,
            request_hash=fingerprint,
            state="in_progress",
            created_at=now,
            expires_at=now + ttl,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyRecord.id)
    ).scalar()
    if claimed is not None:
        return None
    record = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None:  # expired and purged between the two statements
        raise _in_use()
    if record.request_hash != fingerprint:
        raise ApiError(
            422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request"
        )
    if record.state == "done":
        return Replay(record.response_status, record.response_body)
    if record.created_at < now - STALE_CLAIM and _take_over(record.id, record.created_at, now):
        return Resume(record.transaction_id)
    raise _in_use()


def bind_transaction(user_id: str, key: str, transaction_id: uuid.UUID) -> None:
    """Remember the claim's transaction, in the same commit that creates it."""
    db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
        .values(transaction_id=transaction_id)
    )


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
    return result.rowcount == 1


def _in_use() -> ApiError:
    return ApiError(
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed",
        headers={"Retry-After": "1"},
    )


def complete(user_id: str, key: str, status: int, body: dict[str, Any]) -> None:
    db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
        .values(state="done", response_status=status, response_body=body)
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


def purge_expired(now: datetime) -> int:
    result = db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
    return result.rowcount
