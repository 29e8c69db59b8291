"""Purchase intents over the test client; the provider is the Kaspi stub over real HTTP."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.billing.core.models import IdempotencyRecord, Transaction, TransactionEvent
from app.billing.kaspi.provider import get_provider
from app.billing.schemas import PurchaseIntentOut
from app.catalog.models import Product
from tests.conftest import auth
from tests.support.factories import make_club, make_user
from tests.support.stub_server import reset_faults, set_faults

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _clean_faults(kaspi_stub):
    reset_faults(kaspi_stub)
    yield
    reset_faults(kaspi_stub)


def buy(client, user="buyer", key=None, **body):
    headers = auth(user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", **body},
        headers=headers,
    )


def count(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


def test_intent_creates_a_pending_transaction_priced_from_the_catalog(
    client, db_session, kaspi_stub
):
    response = buy(client, quantity=3)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["quantity"] == 3
    assert body["amount"] == "3000.00" and body["currency"] == "KZT"
    assert body["payment"]["provider"] == "kaspi"
    assert body["payment"]["payment_url"].endswith(f"/pay/{body['payment']['payment_id']}")
    assert body["payment"]["poll_interval_s"] >= 1
    tx = db_session.get(Transaction, uuid.UUID(body["transaction_id"]))
    assert tx.amount == Decimal("3000.00") and tx.provider_payment_id
    assert get_provider().get_status(tx.provider_payment_id).state == "wait"
    events = db_session.scalars(
        select(TransactionEvent).where(TransactionEvent.transaction_id == tx.id)
    ).all()
    assert [(e.from_status, e.to_status, e.source) for e in events] == [(None, "pending", "api")]


def test_price_change_applies_to_the_next_intent(client, db_session):
    db_session.get(Product, "EVENT_UPGRADE_500").price = Decimal("777.00")
    db_session.commit()
    assert buy(client, quantity=2).get_json()["amount"] == "1554.00"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"product_code": "NOPE"}, 404, "PRODUCT_NOT_FOUND"),
        ({"quantity": 0}, 400, "VALIDATION_ERROR"),
        ({"quantity": 101}, 400, "VALIDATION_ERROR"),
        ({"quantity": 1.5}, 400, "VALIDATION_ERROR"),
        ({"quantity": "2"}, 400, "VALIDATION_ERROR"),
        ({"quantity": True}, 400, "VALIDATION_ERROR"),
        ({"product_code": ""}, 400, "VALIDATION_ERROR"),
        ({"product_code": None}, 400, "VALIDATION_ERROR"),
        ({"club_id": "not-a-uuid"}, 400, "VALIDATION_ERROR"),
        ({"club_id": str(uuid.uuid4())}, 400, "VALIDATION_ERROR"),
        ({"product_code": "CLUB_50"}, 400, "VALIDATION_ERROR"),
        ({"product_code": "CLUB_50", "club_id": str(uuid.uuid4())}, 404, "CLUB_NOT_FOUND"),
    ],
)
def test_bad_intents_are_refused_and_create_nothing(client, db_session, body, status, code):
    response = buy(client, **body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert count(db_session, Transaction) == 0


def test_inactive_product_is_refused(client, db_session):
    db_session.get(Product, "EVENT_UPGRADE_500").active = False
    db_session.commit()
    response = buy(client)
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "PRODUCT_INACTIVE")


def test_club_plans_are_bought_by_the_owner_only(client, db_session):
    owner, admin = make_user("owner"), make_user("admin")
    club = make_club(owner)
    from app.clubs.models import ClubMember

    db_session.add(ClubMember(club_id=club.id, user_id=admin.id, role="admin"))
    db_session.commit()
    denied = buy(client, user="admin", product_code="CLUB_50", club_id=str(club.id))
    assert denied.status_code == 403
    stranger = buy(client, user="stranger", product_code="CLUB_50", club_id=str(club.id))
    assert (stranger.status_code, stranger.get_json()["error"]["code"]) == (404, "CLUB_NOT_FOUND")
    ok = buy(client, user="owner", product_code="CLUB_50", club_id=str(club.id))
    assert ok.status_code == 201 and ok.get_json()["amount"] == "5000.00"
    assert ok.get_json()["club_id"] == str(club.id)
    plural = buy(client, user="owner", product_code="CLUB_50", club_id=str(club.id), quantity=2)
    assert plural.status_code == 400


def test_idempotency_key_replays_the_first_response(client, db_session):
    first = buy(client, key="k-1", quantity=2)
    again = buy(client, key="k-1", quantity=2)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(db_session, Transaction) == 1


def test_idempotency_key_with_another_body_is_422(client, db_session):
    assert buy(client, key="k-2", quantity=1).status_code == 201
    other = buy(client, key="k-2", quantity=2)
    assert (other.status_code, other.get_json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert count(db_session, Transaction) == 1


def test_idempotency_keys_are_scoped_per_user(client, db_session):
    assert buy(client, user="a", key="same").status_code == 201
    other_user = buy(client, user="b", key="same")
    assert other_user.status_code == 201 and "Idempotent-Replayed" not in other_user.headers
    assert count(db_session, Transaction) == 2


def test_idempotency_key_in_progress_is_409(client, db_session):
    from datetime import UTC, datetime, timedelta

    from app.billing.purchase.idempotency import request_fingerprint

    make_user("buyer")
    fingerprint = request_fingerprint(
        {"product_code": "EVENT_UPGRADE_500", "quantity": 1, "club_id": None}
    )
    now = datetime.now(UTC)
    db_session.add(
        IdempotencyRecord(
            user_id="buyer",
            key="busy",
            request_hash=fingerprint,
            state="in_progress",
            created_at=now,
            expires_at=now + timedelta(hours=1),
        )
    )
    db_session.commit()
    response = buy(client, key="busy")
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        409,
        "IDEMPOTENCY_KEY_IN_USE",
    )
    assert count(db_session, Transaction) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_invalid_idempotency_keys_are_400(client, db_session, key):
    assert buy(client, key=key).status_code == 400
    assert count(db_session, Transaction) == 0


def test_provider_down_answers_503_and_a_retry_with_the_same_key_succeeds(
    client, db_session, kaspi_stub
):
    set_faults(kaspi_stub, fail_next=10)
    down = buy(client, key="retry-me")
    assert (down.status_code, down.get_json()["error"]["code"]) == (503, "PROVIDER_UNAVAILABLE")
    failed = db_session.scalars(select(Transaction)).all()
    assert [t.status for t in failed] == ["failed"]  # closed: no link was ever handed out
    reset_faults(kaspi_stub)
    up = buy(client, key="retry-me")
    assert up.status_code == 201 and "Idempotent-Replayed" not in up.headers
    assert (
        db_session.get(Transaction, uuid.UUID(up.get_json()["transaction_id"])).status == "pending"
    )


def test_provider_blip_is_absorbed_by_client_retries(client, db_session, kaspi_stub):
    set_faults(kaspi_stub, fail_next=1)
    assert buy(client).status_code == 201


def test_a_crashed_requests_claim_is_taken_over_and_its_transaction_resumed(client, db_session):
    from datetime import UTC, datetime, timedelta

    first = buy(client, key="crash-key", quantity=2)
    assert first.status_code == 201
    tx_id = first.get_json()["transaction_id"]
    # Make it look as if the first request died after creating its transaction.
    record = db_session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.key == "crash-key")
    )
    assert str(record.transaction_id) == tx_id
    record.state, record.response_status, record.response_body = "in_progress", None, None
    record.created_at = datetime.now(UTC) - timedelta(minutes=5)
    db_session.commit()
    retry = buy(client, key="crash-key", quantity=2)
    assert retry.status_code == 201 and retry.get_json()["transaction_id"] == tx_id
    assert count(db_session, Transaction) == 1
    replay = buy(client, key="crash-key", quantity=2)
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_request_that_dies_after_its_first_step_leaves_a_row_the_poller_completes(
    client, db_session, monkeypatch
):
    from datetime import UTC, datetime, timedelta

    from app.auth.models import User
    from app.billing.kaspi.client import KaspiClient
    from app.billing.kaspi.links import CREATE_GRACE
    from app.billing.settle import reconcile

    class ProcessDied(BaseException):
        """Stands for kill -9 between the first step and the provider call."""

    def die(*_args, **_kwargs):
        raise ProcessDied

    monkeypatch.setattr(KaspiClient, "create_payment", die)
    started = datetime.now(UTC)
    with pytest.raises(ProcessDied):
        buy(client, user="new-buyer", quantity=2)
    monkeypatch.undo()
    tx = db_session.scalars(select(Transaction)).one()
    # Committed with its audit entry and its new buyer, but without a payment link;
    # the poller leaves it alone while the request could still be storing one.
    assert (tx.status, tx.quantity, tx.amount) == ("pending", 2, Decimal("2000.00"))
    assert tx.provider_payment_id is None and tx.payment_url is None
    assert tx.next_poll_at >= started + CREATE_GRACE
    assert db_session.get(User, "new-buyer") is not None
    assert count(db_session, TransactionEvent) == 1
    tx_id = tx.id
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "creating"

    tx.created_at = started - CREATE_GRACE - timedelta(seconds=1)
    db_session.commit()
    assert reconcile.reconcile(tx_id) == "payment_recovered"
    db_session.refresh(tx)
    assert tx.status == "pending" and tx.provider_payment_id and tx.payment_url
    assert get_provider().get_status(tx.provider_payment_id).state == "wait"


def _read_back(client, user, tx_id):
    status = client.get(f"/api/billing/transactions/{tx_id}", headers=auth(user)).get_json()
    return {key: status[key] for key in status.keys() & _REPLY_KEYS}


# The reply's fields: what a read of the row must show alike.
_REPLY_KEYS = set(PurchaseIntentOut.model_fields)


@pytest.mark.parametrize("key", [None, "reply-key"])
def test_the_reply_shows_what_a_read_of_the_row_shows(client, db_session, key):
    """The 201 body is built from what the steps wrote, not read back: it must still
    say exactly what the stored row says (times in the database's rendering too)."""
    reply = buy(client, key=key, quantity=2)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert set(body) == _REPLY_KEYS
    assert body == _read_back(client, "buyer", body["transaction_id"])


def test_a_club_plans_reply_shows_what_a_read_of_the_row_shows(client, db_session):
    club = make_club(make_user("reply-owner"))
    reply = buy(client, user="reply-owner", product_code="CLUB_50", club_id=str(club.id))
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["club_id"] == str(club.id)
    assert body == _read_back(client, "reply-owner", body["transaction_id"])


def test_a_row_closed_while_the_provider_answered_replies_its_stored_status(
    client, db_session, monkeypatch
):
    """The competing write lands between the provider's answer and the link's UPDATE:
    the reply shows the status the link was stored under, not the one it started with."""
    from app.billing.core import locks
    from app.billing.core.status import Source, TxStatus, transition
    from app.billing.kaspi.client import KaspiClient
    from app.db import step

    real_create = KaspiClient.create_payment

    def create_then_expire(self, external_id, amount):
        payment = real_create(self, external_id, amount)
        with step():
            tx = locks.lock_transaction(uuid.UUID(external_id))
            transition(tx, TxStatus.EXPIRED, source=Source.SWEEP, note="competing expiry")
        return payment

    monkeypatch.setattr(KaspiClient, "create_payment", create_then_expire)
    reply = buy(client)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["status"] == "expired"
    assert body == _read_back(client, "buyer", body["transaction_id"])
