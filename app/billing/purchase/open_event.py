"""One open purchase per event, shared by all the buyer's browsers.

An upgrade bought for a named event (``event_id`` in the purchase intent) is
refused while another purchase for that event is pending: 409
``PURCHASE_IN_PROGRESS`` carrying the open one, so a second browser shows the
first browser's payment instead of starting another. The guarantee is
PostgreSQL's partial unique index ``uq_transactions_open_event`` (one pending
row per event), not a read before the insert: two racing intents cannot both
insert, and the loser's error names the index.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.billing.schemas import PurchaseIntentIn, status_out
from app.catalog.services import ProductView
from app.db import step
from app.domain_errors import Conflict, NotFound, invalid_field
from app.extensions import db
from app.observability import metrics

log = logging.getLogger(__name__)

OPEN_EVENT_INDEX = "uq_transactions_open_event"
EVENT_FOREIGN_KEY = "fk_transactions_event_id_events"

# Billing sits below events (events uses billing's credits), so it reads the one
# fact it needs, the event's owner and club, by SQL rather than by events' model.
_EVENT_OWNER = text("SELECT owner_id, club_id FROM events WHERE id = :event_id")


class PurchaseInProgress(Conflict):
    def __init__(self, transaction: dict[str, object] | None) -> None:
        super().__init__(
            "PURCHASE_IN_PROGRESS",
            "A purchase for this event is already in progress; pay or cancel it first",
            transaction=transaction,
        )


def check_event(
    conn: Connection, user_id: str, product: ProductView, body: PurchaseIntentIn
) -> None:
    """An ``event_id`` names one of the caller's own personal events, for an upgrade."""
    if body.event_id is None:
        return
    if product.type != "credit":
        raise invalid_field("event_id", "only event upgrades are bought for an event")
    row = conn.execute(_EVENT_OWNER, {"event_id": body.event_id}).first()
    if row is None or row.owner_id != user_id:
        # Someone else's event answers exactly like a missing one.
        raise NotFound("EVENT_NOT_FOUND", "Event not found")
    if row.club_id is not None:
        raise invalid_field("event_id", "a club event is covered by the club's plan")


@contextmanager
def refused_when_open(user_id: str, event_id: uuid.UUID | None) -> Iterator[None]:
    """Turn the open-event index's refusal into 409 with the open purchase."""
    try:
        yield
    except IntegrityError as exc:
        if event_id is not None and _constraint(exc) == EVENT_FOREIGN_KEY:
            # The draft was deleted while the intent was being written.
            raise NotFound("EVENT_NOT_FOUND", "Event not found") from None
        if event_id is None or _constraint(exc) != OPEN_EVENT_INDEX:
            raise
        metrics.OPEN_PURCHASE_REFUSED.inc()
        log.info("purchase intent refused: event %s already has an open purchase", event_id)
        raise PurchaseInProgress(_open_purchase(user_id, event_id)) from None


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _open_purchase(user_id: str, event_id: uuid.UUID) -> dict[str, object] | None:
    """The open purchase's status body (the one a browser shows), read after the
    refused statement was rolled back. None if it closed in between."""
    with step():
        tx = db.session.scalar(
            select(Transaction).where(
                Transaction.event_id == event_id,
                Transaction.user_id == user_id,
                Transaction.status == TxStatus.PENDING,
            )
        )
        return None if tx is None else status_out(tx).model_dump(mode="json")
