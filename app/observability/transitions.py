"""Transaction transitions seen from the audit log, counted once they are committed.

The status path (``app.billing.core.status``) hands every transition it writes
to :func:`count_at_commit`; after COMMIT it is counted, timed and logged, and on
a rollback it is forgotten — a refused or rolled-back change is never counted.
A transition written by one statement sent alone (the intent's creation, a paid
settle) is counted by the status path once the statement has returned: committed.

Each committed transition is logged once, with the fields ``transaction_id``,
``from_status``, ``to_status`` and ``source``: the first one a request makes on
that request's line (``billing.http``, so a purchase writes one line), any other
on its own ``billing.transitions`` line.

Which request created a transaction is a column of its row
(``transactions.origin_request_id``), written by the INSERT itself, so the
worker's later log lines about it carry the purchase request's id
(``app.observability.context.transaction_log_context``).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.observability import metrics
from app.request_locals import request_globals

log = logging.getLogger("billing.transitions")
_PENDING = "observability_transitions"


@dataclass(frozen=True)
class Seen:
    transaction_id: str
    from_status: str | None
    to_status: str
    source: str
    since_created_s: float | None


def install() -> None:
    if event.contains(Session, "after_commit", _count_committed):
        return
    event.listen(Session, "after_commit", _count_committed)
    event.listen(Session, "after_soft_rollback", _forget)


def count_at_commit(session_info: MutableMapping[str, Any], seen: Seen) -> None:
    """Count ``seen`` once the session (whose ``info`` this is) commits; forget it on
    rollback."""
    session_info.setdefault(_PENDING, []).append(seen)


def _count_committed(session: Session) -> None:
    count_committed(session.info.pop(_PENDING, []))


def count_committed(seen: list[Seen]) -> None:
    """Count and log transitions that are committed: the session's, at its COMMIT, or
    one a statement sent alone in autocommit wrote (``app.db.write_alone``)."""
    for item in seen:
        try:
            origin = item.from_status or "none"
            metrics.TRANSITIONS.labels(origin, item.to_status, item.source).inc()
            if item.from_status == "pending" and item.since_created_s is not None:
                metrics.TIME_TO_SETTLE.labels(item.to_status).observe(
                    max(item.since_created_s, 0.0)
                )
            fields = {
                "transaction_id": item.transaction_id,
                "from_status": item.from_status,
                "to_status": item.to_status,
                "source": item.source,
            }
            if not _carried_by_request(fields):
                log_transition(fields)
        except Exception:  # observability must never fail a committed change
            log.exception("could not record a transaction transition")


def log_transition(fields: dict[str, str | None]) -> None:
    """The transition's own line (``billing.transitions``)."""
    log.info(
        "transaction %s: %s -> %s (%s)",
        fields["transaction_id"],
        fields["from_status"] or "none",
        fields["to_status"],
        fields["source"],
        extra=fields,
    )


# A request's first committed transition goes on the request's own line (the
# canonical line, app.observability.http): a purchase writes one line, not two.
_CARRIED = "carried_transition"
# Set once the request's line is written; later transitions get lines of their own.
_REQUEST_LOGGED = "request_logged"


def _carried_by_request(fields: dict[str, str | None]) -> bool:
    if not has_request_context():
        return False
    state = request_globals()
    if state.get("request_id") is None or _REQUEST_LOGGED in state or _CARRIED in state:
        return False
    setattr(state, _CARRIED, fields)
    return True


def take_carried() -> dict[str, str | None] | None:
    """The transition this request's line carries, if any; the line is being written."""
    state = request_globals()
    setattr(state, _REQUEST_LOGGED, True)
    carried: dict[str, str | None] | None = state.pop(_CARRIED, None)
    return carried


def log_uncarried() -> None:
    """At the request's teardown: a carried transition whose request line was never
    written (the request died past its error handler) gets its own line."""
    carried = request_globals().pop(_CARRIED, None)
    if carried is not None:
        log_transition(carried)


def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
