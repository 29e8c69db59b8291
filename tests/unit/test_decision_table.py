"""The publish and edit decision tables (DESIGN §2), row by row, with no database.

Limits here are test inputs, not the catalog's numbers: FREE and CEILING are
deliberately not 15 and 500, so nothing passes by matching a hard-coded value.
"""

import pytest

from app.events import decision as d
from app.events.decision import (
    ClubTerms,
    CreditTerms,
    Decision,
    EventFacts,
    Outcome,
    PersonalTerms,
    decide_publish,
    decide_update,
)

pytestmark = pytest.mark.unit

FREE = 12
CEILING = 300
CREDIT = CreditTerms(code="UPGRADE_X", ceiling=CEILING, on_sale=True)


def personal(credits=0, *, free=FREE, credit=CREDIT):
    return PersonalTerms(free_limit=free, credit=credit, available_credits=credits)


def club(limit=40, *, paid=True, status="active", allowed=True, plan="club_x"):
    return ClubTerms(
        plan_id=plan,
        max_event_participants=limit,
        paid_events=paid,
        subscription_status=status,
        action_allowed=allowed,
    )


def event(size, *, paid=False, published=False, upgraded=False):
    return EventFacts(size, paid, published, upgraded)


PUBLISH = Decision(Outcome.PUBLISH)
PUBLISH_WITH_CREDIT = Decision(Outcome.PUBLISH, consume_credit=True)
CONFIRM = Decision(Outcome.CONFIRM_CREDIT)
ALREADY = Decision(Outcome.ALREADY_PUBLISHED)


def paywall(reason, *, credit=False):
    return Decision(Outcome.PAYWALL, reason=reason, offer_credit=credit, offer_club=True)


PERSONAL_ROWS = [
    # (id, event, terms, confirm, expected)
    ("already published", event(200, published=True), personal(3), True, ALREADY),
    ("already published, unlimited", event(None, published=True), personal(), False, ALREADY),
    ("one participant", event(1), personal(), False, PUBLISH),
    ("at the free limit", event(FREE), personal(), False, PUBLISH),
    ("free limit, credits kept", event(FREE), personal(5), True, PUBLISH),
    ("just over free, credit, no confirm", event(FREE + 1), personal(1), False, CONFIRM),
    ("just over free, credit, confirm", event(FREE + 1), personal(1), True, PUBLISH_WITH_CREDIT),
    ("at the ceiling, credit, confirm", event(CEILING), personal(2), True, PUBLISH_WITH_CREDIT),
    ("at the ceiling, credit, no confirm", event(CEILING), personal(2), False, CONFIRM),
    (
        "over free, no credit",
        event(FREE + 1),
        personal(0),
        True,
        paywall(d.PUBLISH_REQUIRES_PAYMENT, credit=True),
    ),
    (
        "at the ceiling, no credit",
        event(CEILING),
        personal(0),
        False,
        paywall(d.PUBLISH_REQUIRES_PAYMENT, credit=True),
    ),
    (
        "no credit, product withdrawn from sale",
        event(FREE + 1),
        personal(0, credit=CreditTerms("UPGRADE_X", CEILING, on_sale=False)),
        False,
        paywall(d.PUBLISH_REQUIRES_PAYMENT, credit=False),
    ),
    (
        "held credit still usable when withdrawn",
        event(FREE + 1),
        personal(1, credit=CreditTerms("UPGRADE_X", CEILING, on_sale=False)),
        True,
        PUBLISH_WITH_CREDIT,
    ),
    (
        "over the ceiling, credits held",
        event(CEILING + 1),
        personal(4),
        True,
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "unlimited, credits held",
        event(None),
        personal(4),
        True,
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "unlimited, no credit",
        event(None),
        personal(0),
        False,
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "no upgrade product in the catalog",
        event(FREE + 1),
        personal(2, credit=None),
        True,
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    ("free plan unlimited", event(None), personal(0, free=None), False, PUBLISH),
    ("paid personal event", event(FREE, paid=True), personal(), False, PUBLISH),
]


@pytest.mark.parametrize(
    ("facts", "terms", "confirm", "expected"),
    [row[1:] for row in PERSONAL_ROWS],
    ids=[row[0] for row in PERSONAL_ROWS],
)
def test_personal_publish(facts, terms, confirm, expected):
    assert decide_publish(facts, terms, confirm=confirm) == expected


CLUB_ROWS = [
    ("already published", event(999, published=True), club(allowed=False), ALREADY),
    ("within the plan", event(40), club(40), PUBLISH),
    ("one participant", event(1), club(40), PUBLISH),
    ("over the plan", event(41), club(40), paywall(d.MAX_EVENT_PARTICIPANTS_EXCEEDED)),
    (
        "unlimited on a limited plan",
        event(None),
        club(40),
        paywall(d.MAX_EVENT_PARTICIPANTS_EXCEEDED),
    ),
    ("unlimited plan", event(None), club(None), PUBLISH),
    ("paid on a plan with paid events", event(10, paid=True), club(40), PUBLISH),
    (
        "paid on a plan without paid events",
        event(10, paid=True),
        club(40, paid=False),
        paywall(d.PAID_EVENTS_NOT_ALLOWED),
    ),
    (
        "status denies publishing",
        event(10),
        club(40, status="expired", allowed=False),
        paywall(d.SUBSCRIPTION_NOT_ACTIVE),
    ),
    (
        "status denial comes before the size check",
        event(1000, paid=True),
        club(40, paid=False, status="pending", allowed=False),
        paywall(d.SUBSCRIPTION_NOT_ACTIVE),
    ),
    ("grace allowed by the policy", event(40), club(40, status="grace"), PUBLISH),
    ("no subscription (free plan)", event(5), club(5, paid=False, status=None), PUBLISH),
]


@pytest.mark.parametrize(
    ("facts", "terms", "expected"),
    [row[1:] for row in CLUB_ROWS],
    ids=[row[0] for row in CLUB_ROWS],
)
@pytest.mark.parametrize("confirm", [False, True], ids=["plain", "confirm_credit"])
def test_club_publish_never_uses_credits(facts, terms, expected, confirm):
    decision = decide_publish(facts, terms, confirm=confirm)
    assert decision == expected
    assert decision.consume_credit is False
    assert decision.offer_credit is False


UPDATE_ROWS = [
    # (id, before, after, terms, expected)
    ("draft to anything", event(5), event(None, paid=True), personal(0), PUBLISH),
    (
        "club draft, subscription expired",
        event(5),
        event(10_000),
        club(allowed=False),
        paywall(d.SUBSCRIPTION_NOT_ACTIVE),
    ),
    ("club draft, subscription active", event(5), event(10_000), club(), PUBLISH),
    (
        "free event, title only",
        event(FREE, published=True),
        event(FREE, published=True),
        personal(),
        PUBLISH,
    ),
    (
        "free event, raised within free",
        event(5, published=True),
        event(FREE, published=True),
        personal(),
        PUBLISH,
    ),
    (
        "free event, raised over free, credit held: confirm first",
        event(FREE, published=True),
        event(FREE + 1, published=True),
        personal(3),
        CONFIRM,
    ),
    (
        "free event, raised over free, no credit",
        event(FREE, published=True),
        event(FREE + 1, published=True),
        personal(0),
        paywall(d.PUBLISH_REQUIRES_PAYMENT, credit=True),
    ),
    (
        "free event, raised over free, upgrade not on sale",
        event(FREE, published=True),
        event(FREE + 1, published=True),
        personal(0, credit=CreditTerms(code="UPGRADE_X", ceiling=CEILING, on_sale=False)),
        paywall(d.PUBLISH_REQUIRES_PAYMENT),
    ),
    (
        "free event, raised over the ceiling",
        event(FREE, published=True),
        event(CEILING + 1, published=True),
        personal(),
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "free event, lowered",
        event(FREE, published=True),
        event(2, published=True),
        personal(),
        PUBLISH,
    ),
    (
        "upgraded event, raised to the ceiling",
        event(FREE + 1, published=True, upgraded=True),
        event(CEILING, published=True, upgraded=True),
        personal(0),
        PUBLISH,
    ),
    (
        "upgraded event, over the ceiling",
        event(CEILING, published=True, upgraded=True),
        event(CEILING + 1, published=True, upgraded=True),
        personal(5),
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "upgraded event, unlimited",
        event(CEILING, published=True, upgraded=True),
        event(None, published=True, upgraded=True),
        personal(5),
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "upgraded event, product gone",
        event(FREE + 1, published=True, upgraded=True),
        event(FREE + 2, published=True, upgraded=True),
        personal(credit=None),
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "personal event becomes paid",
        event(FREE, published=True),
        event(FREE, paid=True, published=True),
        personal(),
        PUBLISH,
    ),
    (
        "club event raised within the plan",
        event(10, published=True),
        event(40, published=True),
        club(40),
        PUBLISH,
    ),
    (
        "club event raised over the plan",
        event(10, published=True),
        event(41, published=True),
        club(40),
        paywall(d.MAX_EVENT_PARTICIPANTS_EXCEEDED),
    ),
    (
        "club event becomes paid without paid events",
        event(10, published=True),
        event(10, paid=True, published=True),
        club(40, paid=False),
        paywall(d.PAID_EVENTS_NOT_ALLOWED),
    ),
    (
        "club event already over a downgraded plan, lowered",
        event(300, published=True),
        event(200, published=True),
        club(40),
        PUBLISH,
    ),
    (
        "club event over a downgraded plan, title only",
        event(300, paid=True, published=True),
        event(300, paid=True, published=True),
        club(40, paid=False),
        PUBLISH,
    ),
    (
        "club event, subscription expired, title only",
        event(10, published=True),
        event(10, published=True),
        club(40, status="expired", allowed=False),
        paywall(d.SUBSCRIPTION_NOT_ACTIVE),
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "terms", "expected"),
    [row[1:] for row in UPDATE_ROWS],
    ids=[row[0] for row in UPDATE_ROWS],
)
def test_update(before, after, terms, expected):
    decision = decide_update(before, after, terms)
    assert decision == expected
    assert decision.consume_credit is False  # an edit never consumes unconfirmed


CONFIRMED_UPDATE_ROWS = [
    # (id, before, after, terms, expected) with confirm=True
    (
        "free event enlarged, credit held",
        event(FREE, published=True),
        event(CEILING, published=True),
        personal(1),
        PUBLISH_WITH_CREDIT,
    ),
    (
        "free event enlarged, no credit",
        event(FREE, published=True),
        event(FREE + 1, published=True),
        personal(0),
        paywall(d.PUBLISH_REQUIRES_PAYMENT, credit=True),
    ),
    (
        "free event enlarged past the ceiling",
        event(FREE, published=True),
        event(CEILING + 1, published=True),
        personal(2),
        paywall(d.CLUB_REQUIRED_FOR_LARGE_EVENT),
    ),
    (
        "upgraded event enlarged within the ceiling: nothing more",
        event(FREE + 1, published=True, upgraded=True),
        event(CEILING, published=True, upgraded=True),
        personal(2),
        PUBLISH,
    ),
    (
        "free event within free: nothing consumed",
        event(2, published=True),
        event(FREE, published=True),
        personal(2),
        PUBLISH,
    ),
    ("draft enlarged: drafts consume nothing", event(2), event(CEILING), personal(2), PUBLISH),
]


@pytest.mark.parametrize(
    ("before", "after", "terms", "expected"),
    [row[1:] for row in CONFIRMED_UPDATE_ROWS],
    ids=[row[0] for row in CONFIRMED_UPDATE_ROWS],
)
def test_confirmed_update(before, after, terms, expected):
    assert decide_update(before, after, terms, confirm=True) == expected


@pytest.mark.parametrize(
    ("limit", "wanted", "fits"),
    [(None, None, True), (None, 10**9, True), (10, None, False), (10, 10, True), (10, 11, False)],
)
def test_fits_treats_null_as_unlimited(limit, wanted, fits):
    assert d.fits(limit, wanted) is fits
