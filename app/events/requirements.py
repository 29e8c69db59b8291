"""What publishing an event, or resizing a published one, would need, without doing it.

The page asks this before it POSTs, so it never sends a request whose expected answer
is a 402 or 409 (browsers log every such answer as an error). The answer is the
decision table's, read from committed rows without the publish's locks; the publish
and the edit decide again under their locks, so this is advice, never the guarantee.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from app.domain_errors import DomainError
from app.errors import from_domain
from app.events import decision as d
from app.events import enforcement, services

Kind = Literal["allowed", "already_published", "confirm_credit", "payment_required"]
ALLOWED: Kind = "allowed"
ALREADY_PUBLISHED: Kind = "already_published"
CONFIRM_CREDIT: Kind = "confirm_credit"
PAYMENT_REQUIRED: Kind = "payment_required"


@dataclass(frozen=True)
class Requirement:
    outcome: Kind
    # The error body the POST (or PATCH) would answer now: the paywall with its options,
    # or the confirmation with its href.
    error: dict[str, Any] | None = None


def _answer(outcome: Kind, err: DomainError) -> Requirement:
    return Requirement(outcome, from_domain(err).body()["error"])


def requirement(
    user_id: str, event_id: uuid.UUID, *, resize: bool, size: int | None
) -> Requirement:
    """A draft: what publishing it (at ``size`` when ``resize``) needs. A published
    event: what resizing it to ``size`` needs (nothing, without ``resize``)."""
    event = services.visible_event(event_id, user_id, manage=True)
    before = enforcement.facts(event)
    after = replace(before, max_participants=size) if resize else before
    if before.published and not resize:
        return Requirement(ALREADY_PUBLISHED)
    if event.club_id is not None:
        action = d.UPDATE_EVENT if before.published else d.PUBLISH_EVENT
        club_terms, eff = enforcement.club_terms(event.club_id, action)
        if before.published:
            decision = d.decide_update(before, after, club_terms)
        else:
            decision = d.decide_publish(after, club_terms, confirm=False)
        if decision.outcome is d.Outcome.PAYWALL:
            err = enforcement.club_paywall(
                decision, event.id, event.club_id, after, club_terms, eff, action
            )
            return _answer(PAYMENT_REQUIRED, err)
        return Requirement(ALLOWED)
    terms = enforcement.personal_terms(event.owner_id)
    if before.published:
        decision = d.decide_update(before, after, terms)
    else:
        decision = d.decide_publish(after, terms, confirm=False)
    if decision.outcome is d.Outcome.PUBLISH:
        return Requirement(ALLOWED)
    refusal = enforcement.personal_refusal(
        decision, event.id, after, terms, published=before.published
    )
    kind = CONFIRM_CREDIT if decision.outcome is d.Outcome.CONFIRM_CREDIT else PAYMENT_REQUIRED
    return _answer(kind, refusal)
