"""GET /api/events/<id>/requirements: what publishing or resizing would need, answered
200 with the outcome (never the 402/409 itself), and nothing changed by asking."""

import pytest
from sqlalchemy import select

from app.billing.core.models import Credit
from app.events.models import Event
from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import (
    catalog_credit_product,
    catalog_free_limit,
    grant_credits,
    make_club,
    make_event,
    make_user,
)

pytestmark = pytest.mark.db


@pytest.fixture
def alice(db_session):
    return make_user("alice")


def ask(client, event, size=None, user="alice"):
    query = "" if size is None else f"?max_participants={size}"
    return client.get(f"/api/events/{event.id}/requirements{query}", headers=auth(user))


def ceiling():
    return catalog_credit_product().constraints["max_participants"]


# (id, credits, published, event size, size asked, outcome, error code, reason)
ROWS = [
    ("free draft", 0, False, "free", None, "allowed", None, None),
    (
        "large draft, no credit",
        0,
        False,
        "ceiling",
        None,
        "payment_required",
        "PAYWALL",
        "PUBLISH_REQUIRES_PAYMENT",
    ),
    (
        "large draft, credit held",
        1,
        False,
        "ceiling",
        None,
        "confirm_credit",
        "CREDIT_CONFIRMATION_REQUIRED",
        None,
    ),
    (
        "draft too large for a credit",
        1,
        False,
        "ceiling+1",
        None,
        "payment_required",
        "PAYWALL",
        "CLUB_REQUIRED_FOR_LARGE_EVENT",
    ),
    ("published, nothing asked", 1, True, "free", None, "already_published", None, None),
    (
        "published free, enlarged, credit held",
        1,
        True,
        "free",
        "ceiling",
        "confirm_credit",
        "CREDIT_CONFIRMATION_REQUIRED",
        None,
    ),
    (
        "published free, enlarged, no credit",
        0,
        True,
        "free",
        "ceiling",
        "payment_required",
        "PAYWALL",
        "PUBLISH_REQUIRES_PAYMENT",
    ),
    (
        "published free, unlimited",
        1,
        True,
        "free",
        "unlimited",
        "payment_required",
        "PAYWALL",
        "CLUB_REQUIRED_FOR_LARGE_EVENT",
    ),
    ("published free, lowered", 0, True, "free", "1", "allowed", None, None),
]


def size_of(name):
    if name in (None, "unlimited", "1"):
        return name
    free = catalog_free_limit()
    return {"free": free, "ceiling": ceiling(), "ceiling+1": ceiling() + 1}[name]


@pytest.mark.parametrize(
    ("held", "published", "size", "asked", "outcome", "code", "reason"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_requirements(
    client, db_session, alice, held, published, size, asked, outcome, code, reason
):
    if held:
        grant_credits(alice, held)
    event = make_event(alice, max_participants=size_of(size), published=published)
    response = ask(client, event, size_of(asked))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["outcome"] == outcome
    if code is None:
        assert body["error"] is None
    else:
        assert body["error"]["code"] == code
        assert body["error"].get("reason") == (reason or body["error"].get("reason"))
    if outcome == "confirm_credit":
        href = body["error"]["cta"]["href"]
        assert "confirm_credit=1" in href
        assert href.endswith("/publish?confirm_credit=1") is (not published)
    # Asking changes nothing.
    db_session.expire_all()
    row = db_session.get(Event, event.id)
    assert (row.max_participants, row.upgraded_by_credit) == (size_of(size), False)
    assert (row.published_at is not None) is published
    assert all(s == "available" for s in db_session.scalars(select(Credit.status)))


def test_the_answer_matches_what_publish_says(client, db_session, alice):
    event = make_event(alice, max_participants=ceiling())
    advice = ask(client, event).get_json()["error"]
    refused = client.post(f"/api/events/{event.id}/publish", headers=auth("alice"))
    error = error_of(refused, 402, "PAYWALL")
    error.pop("request_id")
    assert error == advice


@pytest.mark.parametrize("size", ["0", "-5", "1.5", "abc", "99999999", "١٢"])
def test_bad_sizes_are_400(client, alice, size):
    event = make_event(alice, max_participants=5)
    error_of(ask(client, event, size), 400, "VALIDATION_ERROR")


def test_only_managers_ask(client, db_session, alice):
    make_user("bob")
    draft = make_event(alice, max_participants=5)
    published = make_event(alice, max_participants=5, published=True)
    error_of(ask(client, draft, user="bob"), 404, "EVENT_NOT_FOUND")
    error_of(ask(client, published, user="bob"), 403, "FORBIDDEN")
    club = make_club(alice)
    club_draft = make_event(alice, club=club, max_participants=5)
    assert ask(client, club_draft).get_json() == {"outcome": "allowed", "error": None}
