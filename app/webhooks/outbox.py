"""Writing facts to the outbox, in the database transaction of their cause.

Two shapes of the same write:

- :func:`emit` (the ORM paths): the fact is kept on the session and written just
  before its COMMIT by one statement, after the session's own flush. Sequences
  are therefore the last locks a transaction takes, always in the order of their
  keys, so two transactions that share an ordering key never deadlock on it.
- :func:`fanout_sql` (the one-statement completion): the same write as CTEs of a
  caller's statement, over a ``wanted`` CTE of the caller's.

Either way one statement gives each fact the next sequence of its ordering key
(``outbox_sequences``, whose row lock is held to COMMIT: sequence order is commit
order, without gaps), inserts the event, and inserts a delivery for every endpoint
subscribed to its type; one that is disabled keeps its deliveries, in order, until
it is enabled again. Nothing is sent from here: the relay is woken
after COMMIT (:func:`app.webhooks.wake.wake_relay`) and a periodic sweep finds
whatever a lost wake-up left behind.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from app.db import after_commit
from app.extensions import db
from app.webhooks.catalogue import EventType
from app.webhooks.wake import wake_relay

_PENDING = "outbox_pending"


def new_event_id() -> str:
    """A ``webhook-id``: unique, opaque, the same on every attempt of one event."""
    return f"msg_{uuid.uuid4().hex}"


def money_text(amount: Decimal) -> str:
    """Amounts travel as strings with two decimals, never as floats."""
    return f"{amount:.2f}"


@dataclass(frozen=True)
class Fact:
    id: str
    type: EventType
    ordering_key: str
    data: dict[str, Any]
    at: datetime


def emit(
    type_: EventType, ordering_key: str, data: dict[str, Any], *, now: datetime | None = None
) -> str:
    """Write a fact with the current database transaction (just before its COMMIT);
    answers its id (the ``webhook-id`` of its deliveries)."""
    fact = Fact(new_event_id(), EventType(type_), ordering_key, data, now or datetime.now(UTC))
    db.session.info.setdefault(_PENDING, []).append(fact)
    return fact.id


def pending_facts(session: Session) -> list[Fact]:
    """What the session will write at its COMMIT (for tests and the status path's checks)."""
    return list(session.info.get(_PENDING, []))


def fanout_sql(wanted: str) -> str:
    """CTEs (to follow a ``WITH``) writing the facts of the CTE ``wanted``
    (``id, type, ordering_key, data, at, ord``); ``delivered`` counts the deliveries.
    Built at import from constant text; every value is a bound parameter."""
    return _FANOUT.format(wanted=wanted)


_FANOUT = """
    wanted AS ({wanted}),
    counts AS (SELECT ordering_key, count(*) AS n FROM wanted GROUP BY ordering_key),
    seq AS (
        INSERT INTO outbox_sequences (ordering_key, last_sequence)
        SELECT ordering_key, n FROM counts ORDER BY ordering_key
        ON CONFLICT (ordering_key)
        DO UPDATE SET last_sequence = outbox_sequences.last_sequence + EXCLUDED.last_sequence
        RETURNING ordering_key, last_sequence
    ),
    numbered AS (
        SELECT wanted.*, seq.last_sequence
               - count(*) OVER (PARTITION BY wanted.ordering_key)
               + row_number() OVER (PARTITION BY wanted.ordering_key ORDER BY wanted.ord)
               AS sequence
        FROM wanted JOIN seq USING (ordering_key)
    ),
    outboxed AS (
        INSERT INTO outbox_events (id, type, ordering_key, sequence, data, created_at)
        SELECT id, type, ordering_key, sequence, data, at FROM numbered
        RETURNING id, type, ordering_key, sequence, created_at
    ),
    delivered AS (
        INSERT INTO webhook_deliveries
            (endpoint_id, event_id, ordering_key, sequence, state, attempts,
             next_attempt_at, created_at)
        SELECT endpoint.id, outboxed.id, outboxed.ordering_key, outboxed.sequence,
               'pending', 0, outboxed.created_at, outboxed.created_at
        FROM outboxed JOIN webhook_endpoints AS endpoint
          ON endpoint.event_types IS NULL OR outboxed.type = ANY(endpoint.event_types)
        RETURNING 1
    )"""


_WRITE_SQL = "WITH {fanout} SELECT count(*) AS deliveries FROM delivered"
_WRITE = text(
    _WRITE_SQL.format(
        fanout=fanout_sql(
            """
            SELECT * FROM unnest(
                CAST(:ids AS text[]), CAST(:types AS text[]), CAST(:keys AS text[]),
                CAST(:datas AS jsonb[]), CAST(:ats AS timestamptz[])
            ) WITH ORDINALITY AS fact(id, type, ordering_key, data, at, ord)
            """
        )
    )
)


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    facts: list[Fact] | None = session.info.pop(_PENDING, None)
    if not facts:
        return
    session.flush()  # the session's own row locks come before the sequences'
    deliveries = session.execute(
        _WRITE,
        {
            "ids": [f.id for f in facts],
            "types": [f.type.value for f in facts],
            "keys": [f.ordering_key for f in facts],
            "datas": [dumps(f.data) for f in facts],
            "ats": [f.at for f in facts],
        },
    ).scalar_one()
    if deliveries:
        after_commit(wake_relay)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
