"""GET /api/billing/transactions: the caller's purchases, newest first, in cursor pages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from app.billing.core.cursor import encode_cursor
from app.billing.core.models import Credit
from app.clubs.models import SubscriptionGrant
from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import make_club, make_transaction, make_user, now

pytestmark = pytest.mark.db

URL = "/api/billing/transactions"


def history(client, user="buyer", **params):
    return client.get(URL, query_string=params, headers=auth(user))


def dated(db_session, user, minutes_ago: int, **kwargs):
    """A transaction created ``minutes_ago`` (rows in one test share now(): set it apart)."""
    tx = make_transaction(user, **kwargs)
    tx.created_at = now() - timedelta(minutes=minutes_ago)
    db_session.commit()
    return tx


@pytest.fixture
def buyer(db_session):
    return make_user("buyer")


def test_newest_first_with_payment_and_nothing_of_other_users(client, db_session, buyer):
    old = dated(db_session, buyer, 30, status="failed")
    new = dated(db_session, buyer, 5)
    dated(db_session, make_user("mallory"), 1)
    response = history(client)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [i["transaction_id"] for i in body["items"]] == [str(new.id), str(old.id)]
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert first["status"] == "pending" and first["amount"] == "1000.00"
    assert first["currency"] == "KZT" and first["product_code"] == "EVENT_UPGRADE_500"
    assert first["payment"] == {
        "provider": "kaspi",
        "payment_id": new.provider_payment_id,
        "payment_url": None,
        "expires_at": None,
    }
    assert first["granted"] is None


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, db_session, buyer):
    made = [dated(db_session, buyer, minutes) for minutes in range(7, 0, -1)]
    # Two rows with the very same created_at: the id breaks the tie.
    twin = make_transaction(buyer)
    twin.created_at = made[3].created_at
    db_session.commit()
    expected = sorted([*made, twin], key=lambda tx: (tx.created_at, str(tx.id)), reverse=True)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        body = history(client, **params).get_json()
        assert len(body["items"]) <= 3
        seen += [i["transaction_id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [str(tx.id) for tx in expected]


def test_status_filter(client, db_session, buyer):
    dated(db_session, buyer, 3, status="failed")
    done = dated(db_session, buyer, 2, status="completed")
    dated(db_session, buyer, 1)
    body = history(client, status="completed").get_json()
    assert [i["transaction_id"] for i in body["items"]] == [str(done.id)]
    # A status of the specification that no row has is an empty page, not an error.
    assert history(client, status="needs_review").get_json()["items"] == []


def test_settled_items_say_what_they_granted(client, db_session, buyer):
    credit_tx = dated(db_session, buyer, 2, status="completed", quantity=2, amount=Decimal(2000))
    credits = [
        Credit(
            user_id=buyer.id,
            credit_code="EVENT_UPGRADE_500",
            source_transaction_id=credit_tx.id,
            sequence=n,
            status="available",
        )
        for n in (1, 2)
    ]
    db_session.add_all(credits)
    club = make_club(buyer)
    plan_tx = dated(
        db_session,
        buyer,
        1,
        status="completed",
        product_code="CLUB_50",
        amount=Decimal(5000),
        club_id=club.id,
    )
    start = now()
    db_session.add(
        SubscriptionGrant(
            source_transaction_id=plan_tx.id,
            club_id=club.id,
            plan_id="club_50",
            period_start=start,
            period_end=start + timedelta(days=30),
        )
    )
    db_session.commit()
    items = {i["transaction_id"]: i for i in history(client).get_json()["items"]}
    granted = items[str(credit_tx.id)]["granted"]
    assert granted["plan"] is None
    assert granted["credits"] == {"count": 2, "ids": [str(c.id) for c in credits]}
    plan = items[str(plan_tx.id)]["granted"]["plan"]
    assert plan["club_id"] == str(club.id) and plan["plan_id"] == "club_50"
    assert items[str(plan_tx.id)]["club_id"] == str(club.id)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"status": "paid"},
        {"cursor": "not-a-cursor"},
        {"cursor": encode_cursor(now(), uuid.uuid4())[:-4] + "!!!!"},
        {"cursor": "x" * 300},
        {"unknown": "1"},
    ],
)
def test_bad_parameters_answer_400_validation_error(client, db_session, buyer, params):
    error = error_of(history(client, **params), 400, "VALIDATION_ERROR")
    assert error["details"] and all("field" in d for d in error["details"])


def test_limit_100_is_allowed_and_a_foreign_cursor_reveals_nothing(client, db_session, buyer):
    mine = dated(db_session, buyer, 1)
    theirs = dated(db_session, make_user("mallory"), 2)
    assert history(client, limit="100").status_code == 200
    # A cursor built from another user's row only positions the caller's own list.
    body = history(client, cursor=encode_cursor(theirs.created_at, theirs.id)).get_json()
    assert body["items"] == []
    body = history(client, cursor=encode_cursor(mine.created_at + timedelta(1), uuid.uuid4()))
    assert [i["transaction_id"] for i in body.get_json()["items"]] == [str(mine.id)]


def test_needs_a_token(client, db_session):
    error_of(client.get(URL), 401)


def test_is_in_the_openapi_document(client, db_session):
    doc = client.get("/openapi.json").get_json()
    operation = doc["paths"]["/api/billing/transactions"]["get"]
    names = {p["name"] for p in operation.get("parameters", [])}
    assert {"limit", "cursor", "status"} <= names
    assert "400" in operation["responses"]


def audit(db_session, tx, moves):
    """Audit rows as the status path writes them: (from, to, source) each a second apart."""
    from app.billing.core.models import TransactionEvent

    for i, (before, after, source) in enumerate(moves):
        db_session.add(
            TransactionEvent(
                transaction_id=tx.id,
                from_status=before,
                to_status=after,
                source=source,
                created_at=now() + timedelta(seconds=i),
            )
        )
    db_session.commit()


def test_a_late_payment_is_an_entry_of_its_own(client, db_session, buyer):
    granted = dated(db_session, buyer, 3, status="completed")
    audit(
        db_session,
        granted,
        [
            (None, "pending", "api"),
            ("pending", "canceled", "api"),
            ("canceled", "completed", "sweep"),
        ],
    )
    returned = dated(db_session, buyer, 2, status="refunded")
    audit(
        db_session,
        returned,
        [
            (None, "pending", "api"),
            ("pending", "expired", "worker"),
            ("expired", "needs_review", "sweep"),
            ("needs_review", "refunded", "cli"),
        ],
    )
    on_time = dated(db_session, buyer, 1, status="completed")
    audit(db_session, on_time, [(None, "pending", "api"), ("pending", "completed", "worker")])
    items = {i["transaction_id"]: i for i in history(client).get_json()["items"]}
    late = items[str(granted.id)]["late"]
    assert (late["after"], late["outcome"]) == ("canceled", "completed") and late["at"]
    late = items[str(returned.id)]["late"]
    assert (late["after"], late["outcome"]) == ("expired", "needs_review")
    assert items[str(on_time.id)]["late"] is None
