"""Binding one upgrade credit to one personal event, for a publish or an enlarging edit.

The caller holds the event's row lock. The credit is picked oldest first with
``FOR UPDATE SKIP LOCKED`` and consumed by a conditional UPDATE; the unique index
on ``consumed_event_id`` backs it up, so an event never binds two credits however
many publishes and edits race.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.billing.core import locks
from app.billing.core.status import consume_credit
from app.events import decision as d
from app.events.models import Event


def credit_code(terms: d.PersonalTerms) -> str:
    # The decision tables only consume, or ask to confirm, a credit the terms offer.
    if terms.credit is None:
        raise ValueError("the decision uses a credit the terms do not offer")
    return terms.credit.code


def consume_oldest_credit(event: Event, code: str) -> bool:
    """Consume the owner's oldest available credit for ``event``; False when none is free."""
    credit = locks.lock_oldest_available_credit(event.owner_id, code)
    if credit is None:
        return False
    # We hold the row lock, so this changes it; the condition is the belt to the lock's braces.
    return consume_credit(credit.id, event.id, now=datetime.now(UTC))
