"""The publish and edit decision tables (DESIGN §2), as pure functions.

No database, no Flask: the service gathers the facts (under row locks) and the
catalog's terms, asks :func:`decide_publish` or :func:`decide_update`, and
applies the answer. Every row of the tables is a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Paywall reasons (the `reason` of a 402 PAYWALL answer).
PUBLISH_REQUIRES_PAYMENT = "PUBLISH_REQUIRES_PAYMENT"
CLUB_REQUIRED_FOR_LARGE_EVENT = "CLUB_REQUIRED_FOR_LARGE_EVENT"
SUBSCRIPTION_NOT_ACTIVE = "SUBSCRIPTION_NOT_ACTIVE"
MAX_EVENT_PARTICIPANTS_EXCEEDED = "MAX_EVENT_PARTICIPANTS_EXCEEDED"
PAID_EVENTS_NOT_ALLOWED = "PAID_EVENTS_NOT_ALLOWED"

# Club actions named in the catalog's policy table.
CREATE_EVENT = "create_event"
UPDATE_EVENT = "update_event"
PUBLISH_EVENT = "publish_event"


def fits(limit: int | None, wanted: int | None) -> bool:
    """NULL means unlimited, both for limits and for requested sizes."""
    if limit is None:
        return True
    return wanted is not None and wanted <= limit


class Outcome(Enum):
    ALREADY_PUBLISHED = "already_published"
    PUBLISH = "publish"  # publish (publish_event) or apply the edit (decide_update)
    CONFIRM_CREDIT = "confirm_credit"  # 409: a credit would be consumed; ask first
    PAYWALL = "paywall"  # 402


@dataclass(frozen=True)
class EventFacts:
    max_participants: int | None  # None: unlimited
    is_paid: bool
    published: bool
    upgraded_by_credit: bool = False


@dataclass(frozen=True)
class CreditTerms:
    """The personal upgrade product: its code, its participant ceiling, whether it is on sale."""

    code: str
    ceiling: int | None
    on_sale: bool


@dataclass(frozen=True)
class PersonalTerms:
    free_limit: int | None  # the default plan's max_event_participants
    credit: CreditTerms | None  # None: the catalog has no personal upgrade product
    available_credits: int


@dataclass(frozen=True)
class ClubTerms:
    plan_id: str  # the effective plan (free when no or an expired subscription)
    max_event_participants: int | None
    paid_events: bool
    subscription_status: str | None  # None: no subscription
    action_allowed: bool  # the policy's answer for this status and action


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    consume_credit: bool = False
    reason: str | None = None
    offer_credit: bool = False  # a ONE_OFF_CREDIT option
    offer_club: bool = False  # a CLUB_ACCESS option (the cheapest plan that fits)


ALREADY = Decision(Outcome.ALREADY_PUBLISHED)
PUBLISH = Decision(Outcome.PUBLISH)


def _paywall(reason: str, *, credit: bool = False) -> Decision:
    return Decision(Outcome.PAYWALL, reason=reason, offer_credit=credit, offer_club=True)


def decide_publish(
    event: EventFacts, terms: PersonalTerms | ClubTerms, *, confirm: bool
) -> Decision:
    if event.published:
        return ALREADY
    if isinstance(terms, ClubTerms):
        return _club_decision(event, terms)
    return _personal_publish(event, terms, confirm)


def _personal_publish(event: EventFacts, terms: PersonalTerms, confirm: bool) -> Decision:
    wanted = event.max_participants
    if fits(terms.free_limit, wanted):
        return PUBLISH  # free, even when the user holds credits
    credit = terms.credit
    if credit is None or not fits(credit.ceiling, wanted):
        return _paywall(CLUB_REQUIRED_FOR_LARGE_EVENT)
    if terms.available_credits > 0:
        if confirm:
            return Decision(Outcome.PUBLISH, consume_credit=True)
        return Decision(Outcome.CONFIRM_CREDIT)
    return _paywall(PUBLISH_REQUIRES_PAYMENT, credit=credit.on_sale)


def _club_decision(event: EventFacts, terms: ClubTerms) -> Decision:
    if not terms.action_allowed:
        return _paywall(SUBSCRIPTION_NOT_ACTIVE)
    if not fits(terms.max_event_participants, event.max_participants):
        return _paywall(MAX_EVENT_PARTICIPANTS_EXCEEDED)
    if event.is_paid and not terms.paid_events:
        return _paywall(PAID_EVENTS_NOT_ALLOWED)
    return PUBLISH


def more_participants(before: EventFacts, after: EventFacts) -> bool:
    return not fits(before.max_participants, after.max_participants)


def raises_requirements(before: EventFacts, after: EventFacts) -> bool:
    """Does the edit need more than the event had: more participants, or becoming paid?"""
    return more_participants(before, after) or (after.is_paid and not before.is_paid)


def decide_update(
    before: EventFacts,
    after: EventFacts,
    terms: PersonalTerms | ClubTerms,
    *,
    confirm: bool = False,
) -> Decision:
    """An edit of an event. Drafts are free to edit; a published event keeps its entitlement.

    Nothing is consumed implicitly (DESIGN rule 5): enlarging a personal event
    published free above the free limit is answered like its publish would be
    (409 confirm the credit, or 402 with the one-off option), and only an
    explicit ``confirm`` consumes one credit with the edit. Any edit of a club
    event, draft or published, needs the policy's ``update_event`` (DESIGN §2: pending and expired
    subscriptions deny updating events); an edit is never refused for a value it
    does not raise (lowering the participant limit of an event over a downgraded
    plan is fine).
    """
    if isinstance(terms, ClubTerms) and not terms.action_allowed:
        return _paywall(SUBSCRIPTION_NOT_ACTIVE)
    if not before.published:
        return PUBLISH
    if isinstance(terms, ClubTerms):
        if not raises_requirements(before, after):
            return PUBLISH
        return _club_decision(after, terms)
    if not more_participants(before, after):
        return PUBLISH  # personal events are not limited in being paid
    wanted = after.max_participants
    if fits(terms.free_limit, wanted):
        return PUBLISH
    ceiling_ok = terms.credit is not None and fits(terms.credit.ceiling, wanted)
    if before.upgraded_by_credit and ceiling_ok:
        return PUBLISH  # the credit bound at publish keeps the product's ceiling
    if not ceiling_ok:
        return _paywall(CLUB_REQUIRED_FOR_LARGE_EVENT)
    # Published on the free plan and now enlarged: the same answers as publishing it.
    return _personal_publish(after, terms, confirm)
