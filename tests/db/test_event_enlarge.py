"""Enlarging a published free event (DESIGN rule 5): the answers publish gives, and one
credit consumed with the edit only on an explicit ``?confirm_credit=1``."""

import pytest
from sqlalchemy import select

from app.billing.core.models import Credit
from app.events.models import Event
from app.events.publish_lock import lock_key
from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import (
    catalog_credit_product,
    catalog_free_limit,
    grant_credits,
    make_event,
    make_user,
)

pytestmark = pytest.mark.db


@pytest.fixture
def alice(db_session):
    return make_user("alice")


def enlarge(client, event, size, *, confirm=False):
    path = f"/api/events/{event.id}" + ("?confirm_credit=1" if confirm else "")
    return client.patch(path, json={"max_participants": size}, headers=auth("alice"))


def stored(db_session, event):
    db_session.expire_all()
    row = db_session.get(Event, event.id)
    return row.max_participants, row.upgraded_by_credit


def credits(db_session):
    db_session.expire_all()
    rows = db_session.execute(
        select(Credit.status, Credit.consumed_event_id).where(Credit.user_id == "alice")
    ).all()
    return sorted((status, event_id) for status, event_id in rows)


def ceiling():
    return catalog_credit_product().constraints["max_participants"]


# (id, credits held, size: "free+1" | "ceiling" | "ceiling+1" | "free", confirm,
#  status, error code or reason, consumed)
ROWS = [
    ("no credit", 0, "free+1", False, 402, "PUBLISH_REQUIRES_PAYMENT", False),
    ("no credit, confirmed", 0, "free+1", True, 402, "PUBLISH_REQUIRES_PAYMENT", False),
    ("credit held, unconfirmed", 1, "ceiling", False, 409, "CREDIT_CONFIRMATION_REQUIRED", False),
    ("credit held, confirmed", 1, "ceiling", True, 200, None, True),
    (
        "past the ceiling, confirmed",
        2,
        "ceiling+1",
        True,
        402,
        "CLUB_REQUIRED_FOR_LARGE_EVENT",
        False,
    ),
    ("within free, confirmed", 1, "free", True, 200, None, False),
]


def size_of(name):
    free = catalog_free_limit()
    return {"free": free, "free+1": free + 1, "ceiling": ceiling(), "ceiling+1": ceiling() + 1}[
        name
    ]


@pytest.mark.parametrize(
    ("held", "size", "confirm", "status", "code", "consumed"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_enlarging_a_published_free_event(
    client, db_session, alice, held, size, confirm, status, code, consumed
):
    if held:
        grant_credits(alice, held)
    event = make_event(alice, max_participants=catalog_free_limit() - 1, published=True)
    before = stored(db_session, event)
    response = enlarge(client, event, size_of(size), confirm=confirm)
    assert response.status_code == status, response.get_json()
    if status == 200:
        assert response.get_json()["upgraded_by_credit"] is consumed
        assert stored(db_session, event) == (size_of(size), consumed)
    else:
        assert stored(db_session, event) == before  # a refused edit changes nothing
    used = [event_id for state, event_id in credits(db_session) if state == "consumed"]
    assert used == ([event.id] if consumed else [])
    if status == 402:
        error = error_of(response, 402, "PAYWALL")
        assert error["reason"] == code
        offers_credit = any(o["type"] == "ONE_OFF_CREDIT" for o in error["options"])
        assert offers_credit is (code == "PUBLISH_REQUIRES_PAYMENT")
    if status == 409:
        error = error_of(response, 409, code)
        assert "confirm_credit=1" in error["cta"]["href"]
        assert f"/api/events/{event.id}" in error["cta"]["href"]
        assert error["meta"]["requested_participants"] == size_of(size)


def test_an_enlarged_event_binds_one_credit_however_often_it_is_confirmed(
    client, db_session, alice
):
    grant_credits(alice, 3)
    event = make_event(alice, max_participants=catalog_free_limit(), published=True)
    assert enlarge(client, event, catalog_free_limit() + 1, confirm=True).status_code == 200
    assert enlarge(client, event, ceiling(), confirm=True).status_code == 200
    assert enlarge(client, event, 2, confirm=True).status_code == 200  # lowered: kept upgraded
    assert enlarge(client, event, ceiling(), confirm=True).status_code == 200
    assert [s for s, _ in credits(db_session)].count("consumed") == 1
    assert stored(db_session, event) == (ceiling(), True)


def test_a_title_edit_with_confirm_consumes_nothing(client, db_session, alice):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit(), published=True)
    response = client.patch(
        f"/api/events/{event.id}?confirm_credit=1", json={"title": "New"}, headers=auth("alice")
    )
    assert response.status_code == 200
    assert credits(db_session) == [("available", None)]


def test_a_bad_confirm_value_is_400_and_changes_nothing(client, db_session, alice):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit(), published=True)
    response = client.patch(
        f"/api/events/{event.id}?confirm_credit=yes",
        json={"max_participants": ceiling()},
        headers=auth("alice"),
    )
    error_of(response, 400, "VALIDATION_ERROR")
    assert stored(db_session, event) == (catalog_free_limit(), False)
    assert credits(db_session) == [("available", None)]


def test_a_confirmed_enlarging_edit_queues_on_the_owners_publish_lock(
    client, app, db_session, alice, monkeypatch
):
    """Like a publish: while another publish or confirmed edit of alice's holds her lock,
    a confirmed edit waits for it (409 PUBLISH_IN_PROGRESS past the wait) and changes
    nothing; an unconfirmed edit, which consumes nothing, does not wait."""
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit(), published=True)
    monkeypatch.setitem(app.config, "PUBLISH_LOCK_WAIT_S", 0.05)
    held = app.extensions["redis"].lock(lock_key(alice.id), timeout=5)
    assert held.acquire(blocking=False)
    try:
        response = enlarge(client, event, ceiling(), confirm=True)
        error_of(response, 409, "PUBLISH_IN_PROGRESS")
        assert stored(db_session, event) == (catalog_free_limit(), False)
        assert [s for s, _ in credits(db_session)] == ["available"]
        lowered = client.patch(
            f"/api/events/{event.id}", json={"max_participants": 2}, headers=auth("alice")
        )
        assert lowered.status_code == 200, lowered.get_json()
    finally:
        held.release()
    assert enlarge(client, event, ceiling(), confirm=True).status_code == 200
    assert stored(db_session, event) == (ceiling(), True)
