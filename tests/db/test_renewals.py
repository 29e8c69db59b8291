"""POST /api/clubs/<id>/renew end to end on the db tier: real PostgreSQL, real HTTP to
the Kaspi stub; payments confirmed at the stub and settled by reconciliation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.billing.core.models import Transaction
from app.billing.core.status import TxStatus
from app.billing.operator import refunds
from app.billing.settle import late, reconcile
from app.billing.settle.settlement import settle
from app.clubs.models import ClubSubscription, SubscriptionGrant
from app.renewals.models import ClubRenewal
from app.renewals.proration import days_left, prorated_difference
from tests.conftest import auth
from tests.support.factories import add_member, make_club, make_subscription, make_user
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db

DAY = timedelta(days=1)


def renew(client, club, user="owner", key=None, **body):
    headers = auth(user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/clubs/{club.id}/renew", json=body, headers=headers)


def subscription(db_session, club) -> ClubSubscription:
    db_session.expire_all()
    return db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))


def pay(db_session, kaspi_stub, body) -> None:
    """The buyer pays at Kaspi and the poller's reconciliation settles it."""
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])
    db_session.commit()  # the reconciliation opens its own steps
    reconcile.reconcile(uuid.UUID(body["transaction_id"]))
    db_session.commit()


@pytest.fixture
def club(db_session):
    return make_club(make_user("owner"))


@pytest.mark.parametrize(
    ("case", "days", "status"),
    [("early", 5, "active"), ("in grace", -3, "grace")],
)
def test_paid_renewal_extends_from_the_current_end(
    client, db_session, kaspi_stub, club, case, days, status
):
    make_subscription(club, "club_50", status, days_left=days)
    end = subscription(db_session, club).current_period_end
    response = renew(client, club)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["product_code"], body["amount"], body["status"]) == (
        "CLUB_50",
        "5000.00",
        "pending",
    )
    assert body["club_id"] == str(club.id) and body["payment"]["payment_url"]
    pay(db_session, kaspi_stub, body)
    sub = subscription(db_session, club)
    assert (sub.status, sub.plan_id) == ("active", "club_50"), case
    # Never from the payment: early loses no day, grace gives none free.
    assert sub.current_period_end == end + 30 * DAY, case
    assert sub.grace_until == sub.current_period_end + 7 * DAY


def test_renewal_after_expiry_starts_at_payment(client, db_session, kaspi_stub, club):
    make_subscription(club, "club_50", "expired", days_left=-20)
    body = renew(client, club).get_json()
    before = datetime.now(UTC)
    pay(db_session, kaspi_stub, body)
    sub = subscription(db_session, club)
    assert sub.status == "active"
    assert before <= sub.current_period_start <= datetime.now(UTC)
    assert sub.current_period_end - sub.current_period_start == 30 * DAY


def test_one_pending_renewal_a_second_call_answers_it(client, db_session, club):
    make_subscription(club, "club_50", days_left=5)
    first = renew(client, club)
    second = renew(client, club)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json() == first.get_json()
    count = db_session.scalar(
        select(func.count()).select_from(Transaction).where(Transaction.club_id == club.id)
    )
    assert count == 1


def test_a_closed_renewal_makes_room_for_a_new_one(client, db_session, club):
    make_subscription(club, "club_50", days_left=5)
    first = renew(client, club).get_json()
    settle(uuid.UUID(first["transaction_id"]), TxStatus.EXPIRED, source="worker")
    db_session.commit()
    again = renew(client, club)
    assert again.status_code == 201
    assert again.get_json()["transaction_id"] != first["transaction_id"]


def test_the_partial_unique_index_allows_one_open_renewal(db_session, club):
    """The guarantee under the club lock: PostgreSQL refuses a second open row."""
    from tests.support.factories import make_transaction

    make_subscription(club, "club_50", days_left=5)
    end = subscription(db_session, club).current_period_end
    for _ in range(2):
        tx = make_transaction(make_user("owner"), product_code="CLUB_50", club_id=club.id)
        db_session.add(
            ClubRenewal(
                transaction_id=tx.id,
                club_id=club.id,
                kind="renewal",
                plan_id="club_50",
                from_plan_id="club_50",
                period_end=end,
                open=True,
            )
        )
    with pytest.raises(IntegrityError, match="uq_club_renewals_one_open"):
        db_session.flush()
    db_session.rollback()


def test_idempotency_key_replays_the_first_answer(client, db_session, club):
    make_subscription(club, "club_50", days_left=5)
    first = renew(client, club, key="renew-1")
    replay = renew(client, club, key="renew-1")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    other = renew(client, club, key="renew-1", plan_id="club_500")
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("who", "role", "status", "code"),
    [
        ("admin", "admin", 403, "FORBIDDEN"),
        ("member", "member", 403, "FORBIDDEN"),
        ("stranger", None, 404, "CLUB_NOT_FOUND"),
    ],
)
def test_only_the_owner_renews_and_nothing_changes(
    client, db_session, club, who, role, status, code
):
    make_subscription(club, "club_50", days_left=5)
    if role is not None:
        add_member(club, make_user(who), role)
    response = renew(client, club, user=who)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert db_session.scalar(select(func.count()).select_from(ClubRenewal)) == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan_id": "free"}, 400, "VALIDATION_ERROR"),
        ({"plan_id": "nope"}, 400, "VALIDATION_ERROR"),
        ({"plan_id": 5}, 400, "VALIDATION_ERROR"),
        ({"extra": 1}, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_bodies_change_nothing(client, db_session, club, body, status, code):
    make_subscription(club, "club_50", days_left=5)
    response = client.post(f"/api/clubs/{club.id}/renew", json=body, headers=auth("owner"))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert db_session.scalar(select(func.count()).select_from(Transaction)) == 0


def test_nothing_to_renew_without_a_subscription(client, db_session, club):
    response = renew(client, club)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "NO_SUBSCRIPTION"
    missing = client.post(f"/api/clubs/{uuid.uuid4()}/renew", headers=auth("owner"))
    assert missing.status_code == 404


def test_get_club_shows_the_renewal(client, db_session, kaspi_stub, club):
    make_subscription(club, "club_50", days_left=2)
    from app.renewals import reminders

    reminders.send_due(datetime.now(UTC))
    db_session.commit()
    body = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    sub = body["subscription"]
    assert sub["renewal"]["transaction_id"] is None
    assert [r["reminder_day"] for r in sub["renewal"]["reminders_sent"]] == [3]
    assert sub["renewal"]["reminders_sent"][0]["days_left"] == 2
    assert sub["renewal"]["due_at"] == sub["current_period_end"]
    assert sub["scheduled_change"] is None and sub["grace_until"]
    pending = renew(client, club).get_json()
    body = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    assert body["subscription"]["renewal"]["transaction_id"] == pending["transaction_id"]
    pay(db_session, kaspi_stub, pending)
    body = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    renewal = body["subscription"]["renewal"]
    # The new period: nothing pending, no reminders of it yet.
    assert renewal["transaction_id"] is None and renewal["reminders_sent"] == []


def test_a_renewal_paid_twice_is_held_never_two_periods(client, db_session, kaspi_stub, club):
    make_subscription(club, "club_50", days_left=5)
    end = subscription(db_session, club).current_period_end
    first = renew(client, club).get_json()
    first_id = uuid.UUID(first["transaction_id"])
    settle(first_id, TxStatus.EXPIRED, source="worker")  # closed on our side
    db_session.commit()
    second = renew(client, club).get_json()
    pay(db_session, kaspi_stub, second)
    assert subscription(db_session, club).current_period_end == end + 30 * DAY
    # The first link is paid too, late: held for review, nothing granted.
    confirm_payment(kaspi_stub, first["payment"]["payment_id"], force=True)
    db_session.commit()
    late.check_late(first_id)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Transaction, first_id).status == "needs_review"
    assert subscription(db_session, club).current_period_end == end + 30 * DAY
    grants = db_session.scalar(
        select(func.count())
        .select_from(SubscriptionGrant)
        .where(SubscriptionGrant.club_id == club.id)
    )
    assert grants == 1


def test_upgrade_charges_the_prorated_difference_and_keeps_the_end(
    client, db_session, kaspi_stub, club
):
    make_subscription(club, "club_50", days_left=10)
    end = subscription(db_session, club).current_period_end
    response = renew(client, club, plan_id="club_500")
    assert response.status_code == 201
    body = response.get_json()
    left = days_left(end, datetime.now(UTC))
    expected = prorated_difference(Decimal("5000.00"), Decimal("15000.00"), 30, left)
    assert Decimal(body["amount"]) == expected == Decimal("3333.33")
    pay(db_session, kaspi_stub, body)
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.current_period_end) == ("club_500", end)
    assert sub.current_period_start == end - 30 * DAY  # the same period, upgraded
    page = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    assert page["plan_id"] == "club_500"

    # A refund takes back exactly what the upgrade bought: the plan, not the days.
    db_session.commit()
    refunds.refund(uuid.UUID(body["transaction_id"]))
    db_session.commit()
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.current_period_end) == ("club_50", end)
    tx = db_session.get(Transaction, uuid.UUID(body["transaction_id"]))
    assert (tx.status, tx.refunded_amount) == ("refunded", expected)


def test_downgrade_starts_at_the_period_end_and_is_shown(client, db_session, kaspi_stub, club):
    make_subscription(club, "club_500", days_left=10)
    end = subscription(db_session, club).current_period_end
    body = renew(client, club, plan_id="club_50").get_json()
    assert body["amount"] == "5000.00"  # the next period's price; nothing for this one
    pay(db_session, kaspi_stub, body)
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.current_period_end) == ("club_500", end + 30 * DAY)
    page = client.get(f"/api/clubs/{club.id}", headers=auth("owner")).get_json()
    assert page["plan_id"] == "club_500"  # the paid period keeps its plan
    change = page["subscription"]["scheduled_change"]
    assert change["plan_id"] == "club_50"
    assert datetime.fromisoformat(change["effective_at"]) == end


def test_a_refund_of_another_purchase_never_blocks_a_paid_renewal(
    client, db_session, kaspi_stub, club
):
    """Two periods bought, a renewal opened, the second period refunded: the renewal,
    paid, still buys its period (from the end as it now is), and is not held."""
    bought = []
    for _ in range(2):
        response = client.post(
            "/api/billing/purchase-intent",
            json={"product_code": "CLUB_50", "club_id": str(club.id)},
            headers=auth("owner"),
        )
        bought.append(response.get_json())
        pay(db_session, kaspi_stub, response.get_json())
    two_periods = subscription(db_session, club).current_period_end
    renewal = renew(client, club).get_json()
    db_session.commit()
    refunds.refund(uuid.UUID(bought[1]["transaction_id"]))
    db_session.commit()
    assert subscription(db_session, club).current_period_end == two_periods - 30 * DAY
    pay(db_session, kaspi_stub, renewal)
    db_session.expire_all()
    assert db_session.get(Transaction, uuid.UUID(renewal["transaction_id"])).status == "completed"
    assert subscription(db_session, club).current_period_end == two_periods


def test_refunding_a_downgrade_paid_ahead_cancels_the_change(client, db_session, kaspi_stub, club):
    make_subscription(club, "club_500", days_left=10)
    end = subscription(db_session, club).current_period_end
    body = renew(client, club, plan_id="club_50").get_json()
    pay(db_session, kaspi_stub, body)
    refunds.refund(uuid.UUID(body["transaction_id"]))
    db_session.commit()
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.current_period_end, sub.scheduled_plan_id) == ("club_500", end, None)
    assert sub.grace_until == end + 7 * DAY


@pytest.mark.parametrize(
    ("current", "target", "left", "charged", "plan_after", "scheduled", "end_moves"),
    [
        # upgrades: the prorated difference now, the same end
        ("club_50", "club_500", 10, "3333.33", "club_500", None, 0),
        ("club_50", "club_unlimited", 20, "16666.67", "club_unlimited", None, 0),
        ("club_500", "club_unlimited", 1, "500.00", "club_unlimited", None, 0),
        # a renewal: the next period's price, the end one period later
        ("club_50", "club_50", 10, "5000.00", "club_50", None, 30),
        # a downgrade: nothing for this period; the cheaper next period, scheduled
        ("club_500", "club_50", 10, "5000.00", "club_500", "club_50", 30),
    ],
)
def test_switch_amounts_and_their_refunds(
    client,
    db_session,
    kaspi_stub,
    club,
    current,
    target,
    left,
    charged,
    plan_after,
    scheduled,
    end_moves,
):
    """What each switch charges, what it gives, and that a refund returns exactly what
    was charged and takes back exactly what it gave."""
    make_subscription(club, current, days_left=left)
    end = subscription(db_session, club).current_period_end
    body = renew(client, club, plan_id=target).get_json()
    assert body["amount"] == charged
    pay(db_session, kaspi_stub, body)
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.scheduled_plan_id) == (plan_after, scheduled)
    assert sub.current_period_end == end + end_moves * DAY
    db_session.commit()
    refunds.refund(uuid.UUID(body["transaction_id"]))
    db_session.commit()
    tx = db_session.get(Transaction, uuid.UUID(body["transaction_id"]))
    assert (tx.status, str(tx.refunded_amount)) == ("refunded", charged)
    sub = subscription(db_session, club)
    assert (sub.plan_id, sub.scheduled_plan_id, sub.current_period_end) == (current, None, end)
