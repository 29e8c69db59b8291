"""Renewal invoices to the owner's phone (Kaspi's remote/create), against the Kaspi stub
over real HTTP: stored with consent, sent at the period's first reminder when the policy
says so, and each of the remote statuses handled."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import func, select, update

from app.billing.core.models import Transaction
from app.billing.settle import reconcile
from app.catalog.models import BillingPolicy
from app.clubs.models import ClubSubscription
from app.renewals import tasks
from app.renewals.models import ClubRenewal, RenewalPhone
from tests.conftest import KASPI_KEY, auth
from tests.support.factories import add_member, make_club, make_subscription, make_user
from tests.support.stub_server import confirm_payment, fail_payment, set_payment_status

pytestmark = pytest.mark.db

PHONE = "+7 701 234-56-78"


@pytest.fixture
def club(db_session):
    club = make_club(make_user("phone-owner"))
    make_subscription(club, "club_50", days_left=6)  # the 7-day reminder is due
    # Its id only: the task's steps end the session, and the ORM row with it.
    return SimpleNamespace(id=club.id, row=club)


def put_phone(client, club, user="phone-owner", **body):
    return client.put(
        f"/api/clubs/{club.id}/renewal-phone",
        json={"phone": PHONE, "consent": True, **body},
        headers=auth(user),
    )


def invoices_on(db_session) -> None:
    db_session.execute(update(BillingPolicy).values(renewal_invoice_to_phone=True))
    db_session.commit()


def sweep(db_session) -> int:
    db_session.commit()  # the task opens its own steps
    sent = tasks.send_reminders()
    db_session.commit()
    return sent


def renewal_tx(db_session, club) -> Transaction | None:
    db_session.expire_all()
    return db_session.scalar(
        select(Transaction)
        .join(ClubRenewal, ClubRenewal.transaction_id == Transaction.id)
        .where(ClubRenewal.club_id == club.id)
        .order_by(Transaction.created_at.desc())
    )


def kaspi_status(kaspi_stub, payment_id) -> str:
    return requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{payment_id}",
        headers={"Api-Key": KASPI_KEY},
        timeout=10,
    ).json()["Data"]["Status"]


def test_the_owner_stores_a_phone_with_consent(client, db_session, club):
    response = put_phone(client, club)
    assert response.status_code == 200
    assert response.get_json()["phone"] == "+7••••••5678"
    row = db_session.get(RenewalPhone, club.id)
    assert (row.phone, row.consented_by) == ("77012345678", "phone-owner")
    gone = client.delete(f"/api/clubs/{club.id}/renewal-phone", headers=auth("phone-owner"))
    assert gone.status_code == 200 and gone.get_json() == {"phone": None, "consented_at": None}
    db_session.expire_all()
    assert db_session.get(RenewalPhone, club.id) is None


@pytest.mark.parametrize(
    ("body", "user", "status", "code"),
    [
        ({"consent": False}, "phone-owner", 400, "VALIDATION_ERROR"),
        ({"phone": "12345"}, "phone-owner", 400, "VALIDATION_ERROR"),
        ({"phone": "+1 415 555 0100"}, "phone-owner", 400, "VALIDATION_ERROR"),
        ({}, "phone-admin", 403, "FORBIDDEN"),
        ({}, "stranger", 404, "CLUB_NOT_FOUND"),
    ],
)
def test_bad_phone_requests_store_nothing(client, db_session, club, body, user, status, code):
    add_member(club.row, make_user("phone-admin"), "admin")
    response = put_phone(client, club, user=user, **body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert db_session.scalar(select(func.count()).select_from(RenewalPhone)) == 0


def test_first_reminder_sends_the_invoice_and_accepting_it_renews(
    client, db_session, kaspi_stub, club
):
    end = db_session.scalar(
        select(ClubSubscription.current_period_end).where(ClubSubscription.club_id == club.id)
    )
    put_phone(client, club)
    invoices_on(db_session)
    assert sweep(db_session) == 1
    tx = renewal_tx(db_session, club)
    assert (tx.status, tx.amount, tx.user_id) == ("pending", 5000, "phone-owner")
    tx = SimpleNamespace(id=tx.id, provider_payment_id=tx.provider_payment_id)
    assert kaspi_status(kaspi_stub, tx.provider_payment_id) == "RemotePaymentCreated"
    # A second sweep: no new reminder, no second invoice.
    assert sweep(db_session) == 0
    assert db_session.scalar(select(func.count()).select_from(ClubRenewal)) == 1
    # RemotePaymentCreated is still pending on our side.
    db_session.commit()
    reconcile.reconcile(tx.id)
    db_session.commit()
    assert renewal_tx(db_session, club).status == "pending"
    # Tapping Renew answers the invoice already pending.
    again = client.post(f"/api/clubs/{club.id}/renew", headers=auth("phone-owner"))
    assert again.status_code == 200 and again.get_json()["transaction_id"] == str(tx.id)
    # The owner accepts it in the app (the stub's buyer page stands in for the phone).
    confirm_payment(kaspi_stub, tx.provider_payment_id)
    db_session.commit()
    reconcile.reconcile(tx.id)
    db_session.commit()
    assert renewal_tx(db_session, club).status == "completed"
    db_session.expire_all()
    sub = db_session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club.id))
    assert sub.current_period_end - end == timedelta(days=30)  # from the end, not the payment


@pytest.mark.parametrize(
    ("answer", "ours"),
    [
        ("RemotePaymentRejected", "failed"),
        ("RemotePaymentCanceled", "failed"),
        ("Expired", "pending"),  # not ours to decide: our own expiry closes it
        ("SomethingNew", "pending"),  # unknown statuses stay pending, as everywhere
    ],
)
def test_remote_statuses(client, db_session, kaspi_stub, club, answer, ours):
    put_phone(client, club)
    invoices_on(db_session)
    sweep(db_session)
    found = renewal_tx(db_session, club)
    tx = SimpleNamespace(id=found.id, provider_payment_id=found.provider_payment_id)
    if answer == "RemotePaymentRejected":
        fail_payment(kaspi_stub, tx.provider_payment_id)  # the buyer declines in the app
    else:
        set_payment_status(kaspi_stub, tx.provider_payment_id, answer)
    assert kaspi_status(kaspi_stub, tx.provider_payment_id) == answer
    db_session.commit()
    reconcile.reconcile(tx.id)
    db_session.commit()
    assert renewal_tx(db_session, club).status == ours
    if ours == "failed":
        # The declined invoice no longer blocks: Renew makes a new one.
        renewed = client.post(f"/api/clubs/{club.id}/renew", headers=auth("phone-owner"))
        assert renewed.status_code == 201
        assert renewed.get_json()["transaction_id"] != str(tx.id)


def test_no_invoice_without_the_policy_or_a_phone(client, db_session, kaspi_stub, club):
    put_phone(client, club)
    assert sweep(db_session) == 1  # the reminder, but the policy sends no invoice
    assert renewal_tx(db_session, club) is None
    other = make_club(make_user("no-phone-owner"), "No phone club")
    make_subscription(other, "club_50", days_left=6)
    invoices_on(db_session)
    assert sweep(db_session) == 1  # the other club's reminder: it has no phone
    assert db_session.scalar(select(func.count()).select_from(ClubRenewal)) == 0
