"""One open purchase per event: a second intent for the same event, from any browser
of the buyer, is refused with the open one (409 PURCHASE_IN_PROGRESS)."""

from __future__ import annotations

import uuid

import pytest

from app.billing.core.models import Transaction
from tests.conftest import auth
from tests.support.envelope import error_of as assert_envelope
from tests.support.purchases import intent

pytestmark = pytest.mark.db


def draft(client, user="buyer", **body) -> str:
    response = client.post(
        "/api/events",
        json={"title": "Big night", "max_participants": 200, **body},
        headers=auth(user),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def buy(client, event_id, user="buyer", key=None, **body):
    headers = auth(user)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", "event_id": event_id, **body},
        headers=headers,
    )


def test_a_second_purchase_for_the_same_event_is_refused_with_the_open_one(client, db_session):
    event_id = draft(client)
    first = buy(client, event_id, key="browser-a")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["event_id"] == event_id

    second = buy(client, event_id, key="browser-b")

    err = assert_envelope(second, 409, "PURCHASE_IN_PROGRESS")
    assert err["transaction"]["transaction_id"] == first.get_json()["transaction_id"]
    assert err["transaction"]["event_id"] == event_id
    assert (
        err["transaction"]["payment"]["payment_url"] == first.get_json()["payment"]["payment_url"]
    )
    assert db_session.query(Transaction).filter_by(event_id=uuid.UUID(event_id)).count() == 1
    # The pending list names the event, so any browser finds the purchase by it.
    listed = client.get("/api/billing/transactions?status=pending", headers=auth("buyer"))
    assert [i["event_id"] for i in listed.get_json()["items"]] == [event_id]


def test_once_the_open_one_is_canceled_a_new_purchase_may_start(client, db_session, kaspi_stub):
    event_id = draft(client)
    first = buy(client, event_id).get_json()
    cancel = client.post(
        f"/api/billing/transactions/{first['transaction_id']}/cancel", headers=auth("buyer")
    )
    assert cancel.get_json()["status"] == "canceled"

    again = buy(client, event_id)

    assert again.status_code == 201, again.get_json()
    assert again.get_json()["transaction_id"] != first["transaction_id"]


def test_other_events_and_unnamed_purchases_are_never_blocked(client, db_session):
    one, two = draft(client), draft(client)
    assert buy(client, one).status_code == 201
    assert buy(client, two).status_code == 201
    intent(client)
    intent(client)


def test_an_event_that_is_not_the_callers_personal_event_is_refused(client, db_session):
    theirs = draft(client, user="mallory")
    assert_envelope(buy(client, theirs), 404, "EVENT_NOT_FOUND")
    assert_envelope(buy(client, str(uuid.uuid4())), 404, "EVENT_NOT_FOUND")
    club = client.post("/api/clubs", json={"name": "Chess"}, headers=auth("buyer")).get_json()
    club_event = draft(client, club_id=club["id"])
    assert_envelope(buy(client, club_event), 400, "VALIDATION_ERROR")
    plan = client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "CLUB_50", "club_id": club["id"], "event_id": club_event},
        headers=auth("buyer"),
    )
    assert_envelope(plan, 400, "VALIDATION_ERROR")
    assert db_session.query(Transaction).filter(Transaction.event_id.isnot(None)).count() == 0


def test_a_draft_with_a_payment_in_progress_is_not_deleted_until_it_is_canceled(
    client, db_session, kaspi_stub
):
    event_id = draft(client)
    tx_id = buy(client, event_id).get_json()["transaction_id"]

    refused = client.delete(f"/api/events/{event_id}", headers=auth("buyer"))

    assert_envelope(refused, 409, "PURCHASE_IN_PROGRESS")
    assert client.get(f"/api/events/{event_id}", headers=auth("buyer")).status_code == 200
    client.post(f"/api/billing/transactions/{tx_id}/cancel", headers=auth("buyer"))
    assert client.delete(f"/api/events/{event_id}", headers=auth("buyer")).status_code == 204
    db_session.expire_all()
    # The purchase (a money fact) stays; it no longer names the deleted event.
    kept = db_session.get(Transaction, uuid.UUID(tx_id))
    assert (kept.status, kept.event_id) == ("canceled", None)


@pytest.mark.parametrize(("size", "status"), [(1_000_000, 201), (1_000_001, 400)])
def test_an_event_size_has_an_upper_bound(client, db_session, size, status):
    response = client.post(
        "/api/events", json={"title": "Huge", "max_participants": size}, headers=auth("buyer")
    )
    assert response.status_code == status, response.get_json()
