"""The opaque cursor of a transaction list (the buyer's history, the operator's
search): keyset pagination on ``(created_at, id)``, newest first.

The cursor is base64url of the last row's ``created_at`` and ``id``; a page is
one indexed range read, stable while new transactions arrive.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from sqlalchemy import Select, tuple_

from app.billing.core.models import Transaction
from app.extensions import db

MAX_CURSOR_LENGTH = 200


def encode_cursor(created_at: datetime, tx_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{tx_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises ValueError for anything this module did not produce."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        stamp, _, tx_id = text.partition("|")
        created_at = datetime.fromisoformat(stamp)
        parsed_id = uuid.UUID(tx_id)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise ValueError("is not a cursor this API gave out") from exc
    if created_at.tzinfo is None:
        raise ValueError("is not a cursor this API gave out")
    return created_at, parsed_id


def transaction_page(
    stmt: Select[tuple[Transaction]], cursor: str | None, limit: int
) -> tuple[list[Transaction], str | None]:
    """One page of ``stmt`` (filtered transactions) after ``cursor``, newest first, and
    the cursor of the next page (None: this is the last)."""
    if cursor is not None:
        created_at, tx_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(Transaction.created_at, Transaction.id) < (created_at, tx_id))
    # One row more than asked tells whether another page exists.
    ordered = stmt.order_by(Transaction.created_at.desc(), Transaction.id.desc())
    rows = list(db.session.scalars(ordered.limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None
