"""Every status machine, table-driven: each pair of states is checked against its table."""

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.billing.core import status as bt
from app.clubs import transitions as ct
from app.state_machine import IllegalTransition
from app.webhooks import outbox
from app.webhooks import states as ws

pytestmark = pytest.mark.unit

TX_ALLOWED = {
    ("pending", "completed"),
    ("pending", "failed"),
    ("pending", "expired"),
    ("pending", "canceled"),
    ("pending", "needs_review"),
    ("completed", "refunded"),
    # A refund whose answer Kaspi never gave is held for review (refund_unknown).
    ("completed", "needs_review"),
    # A payment confirmed after the transaction closed without one (late money).
    *(
        (closed, late)
        for closed in ("expired", "failed", "canceled")
        for late in ("completed", "refunded", "needs_review")
    ),
    # An operator's resolution of the review queue.
    ("needs_review", "completed"),
    ("needs_review", "refunded"),
    ("needs_review", "failed"),
}
CREDIT_ALLOWED = {
    ("available", "consumed"),
    ("available", "revoked"),
    ("revoked", "available"),
}
SUB_ALLOWED = {
    ("pending", "active"),
    ("pending", "expired"),
    ("active", "active"),
    ("active", "grace"),
    ("active", "expired"),
    ("grace", "active"),
    ("grace", "expired"),
    ("expired", "active"),
}
TABLES = [
    (bt.TRANSACTION_MOVES, TX_ALLOWED),
    (bt.CREDIT_MOVES, CREDIT_ALLOWED),
    (ct.SUBSCRIPTION_MOVES, SUB_ALLOWED),
]


def _pairs():
    for table, allowed in TABLES:
        for current, target in itertools.product(sorted(table.statuses), repeat=2):
            yield pytest.param(
                table,
                current,
                target,
                (current, target) in allowed,
                id=f"{table.entity}:{current}->{target}",
            )


@pytest.mark.parametrize(("table", "current", "target", "allowed"), list(_pairs()))
def test_transition_tables(table, current, target, allowed):
    assert table.allows(current, target) is allowed
    if allowed:
        table.check(current, target)
    else:
        with pytest.raises(IllegalTransition) as caught:
            table.check(current, target)
        assert caught.value.current == current and caught.value.code == "ILLEGAL_TRANSITION"


def test_statuses_are_the_enums():
    assert bt.TRANSACTION_MOVES.statuses == set(bt.TxStatus)
    assert bt.CREDIT_MOVES.statuses == set(bt.CreditStatus)
    assert ct.SUBSCRIPTION_MOVES.statuses == set(ct.SubStatus)


def test_terminal_states():
    # Closed-unpaid statuses may still take a late payment: only refunded is final.
    assert {"refunded"} == bt.TRANSACTION_MOVES.terminal
    assert {"consumed"} == bt.CREDIT_MOVES.terminal
    assert frozenset() == ct.SUBSCRIPTION_MOVES.terminal


def test_a_table_must_name_every_target():
    with pytest.raises(ValueError, match="without a row"):
        bt.TransitionTable("thing", {bt.TxStatus.PENDING: frozenset({bt.TxStatus.FAILED})})


class FakeTx:
    def __init__(self, status):
        self.id = uuid.uuid4()
        self.user_id = "u1"
        self.club_id = None
        self.product_code = "event_upgrade"
        self.quantity = 1
        self.amount = Decimal("1500.00")
        self.currency = "KZT"
        self.refunded_amount = Decimal("0")
        self.status = status
        self.settled_at = None
        self.next_poll_at = "soon"
        self.updated_at = None


STATES = [s.value for s in bt.TxStatus]


@pytest.mark.parametrize(
    ("current", "target"), [p for p in itertools.product(STATES, STATES) if p not in TX_ALLOWED]
)
def test_illegal_transaction_transition_is_refused_and_changes_nothing(
    current, target, monkeypatch
):
    added = []
    monkeypatch.setattr(
        bt.db, "session", type("S", (), {"add": lambda self, o: added.append(o), "info": {}})()
    )
    tx = FakeTx(current)
    with pytest.raises(IllegalTransition):
        bt.transition(tx, target, source="worker")
    assert tx.status == current and added == []


def test_completion_stamps_settled_at_and_stops_polling(monkeypatch):
    added = []
    monkeypatch.setattr(
        bt.db, "session", type("S", (), {"add": lambda self, o: added.append(o), "info": {}})()
    )
    tx = FakeTx("pending")
    bt.transition(tx, bt.TxStatus.COMPLETED, source="worker")
    assert tx.status == "completed" and tx.settled_at is not None and tx.next_poll_at is None
    assert [(e.from_status, e.to_status, e.source) for e in added] == [
        ("pending", "completed", "worker")
    ]
    # Watching streams are told once the change commits (app/billing/core/notify.py).
    assert len(bt.db.session.info["after_commit_hooks"]) == 1
    # The platform is told in the same transaction: one outbox fact, keyed by the transaction.
    [fact] = outbox.pending_facts(bt.db.session)
    assert (fact.type, fact.ordering_key) == ("transaction.completed", f"transaction:{tx.id}")
    assert fact.data["amount"] == "1500.00" and fact.data["status"] == "completed"


@pytest.mark.parametrize(
    ("current", "target", "event"),
    [
        ("pending", "completed", "transaction.completed"),
        ("pending", "failed", "transaction.failed"),
        ("pending", "expired", "transaction.expired"),
        ("pending", "canceled", "transaction.canceled"),
        ("pending", "needs_review", "transaction.needs_review"),
        ("expired", "completed", "transaction.completed"),
        ("completed", "needs_review", "transaction.needs_review"),
        # Refunded is told by refund_done, with the amount that went back.
        ("completed", "refunded", None),
    ],
)
def test_each_transaction_move_writes_its_webhook_event(current, target, event, fake_session):
    tx = FakeTx(current)
    bt.transition(tx, target, source="worker", note="why")
    facts = outbox.pending_facts(bt.db.session)
    assert [f.type for f in facts] == ([event] if event else [])


def test_a_refund_tells_the_amount_returned_and_whether_it_closed(fake_session):
    tx = FakeTx("completed")
    tx.refunded_amount = Decimal("500.00")
    bt.refund_done(tx, Decimal("500.00"), now=datetime.now(UTC))
    [fact] = outbox.pending_facts(bt.db.session)
    assert fact.type == "transaction.refunded"
    assert (fact.data["refund_amount"], fact.data["refunded_total"], fact.data["full"]) == (
        "500.00",
        "500.00",
        False,
    )


@pytest.fixture
def fake_session(monkeypatch):
    added = []
    session = type("S", (), {"add": lambda self, o: added.append(o), "info": {}})()
    monkeypatch.setattr(bt.db, "session", session)
    return added


@pytest.mark.parametrize("source", ["api", "worker", "dev", "sweep"])
def test_only_an_operator_command_leaves_needs_review(source, monkeypatch):
    added = []
    monkeypatch.setattr(
        bt.db, "session", type("S", (), {"add": lambda self, o: added.append(o), "info": {}})()
    )
    tx = FakeTx("needs_review")
    with pytest.raises(IllegalTransition):
        bt.transition(tx, bt.TxStatus.COMPLETED, source=source)
    assert tx.status == "needs_review" and added == []
    bt.transition(tx, bt.TxStatus.COMPLETED, source="cli", note="operator: paid in full")
    assert tx.status == "completed" and tx.settled_at is not None


def test_a_late_refund_stamps_settled_at_and_audits_both_amounts(monkeypatch):
    from decimal import Decimal

    added = []
    monkeypatch.setattr(
        bt.db, "session", type("S", (), {"add": lambda self, o: added.append(o), "info": {}})()
    )
    tx = FakeTx("expired")
    bt.transition(
        tx,
        bt.TxStatus.REFUNDED,
        source="sweep",
        amount=Decimal("1000.00"),
        provider_amount=Decimal("1000.00"),
    )
    assert tx.settled_at is not None
    assert (added[0].amount, added[0].provider_amount) == (Decimal("1000.00"),) * 2


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="is not a valid Source"):
        bt.transition(FakeTx("pending"), "completed", source="somebody")


class FakeCredit:
    def __init__(self, status):
        self.id = uuid.uuid4()
        self.user_id = "u1"
        self.credit_code = "event_upgrade"
        self.status = status
        self.revoked_at = None


def test_credit_moves_carry_their_timestamps(fake_session):
    now = datetime.now(UTC)
    credit = FakeCredit("available")
    bt.move_credit(credit, bt.CreditStatus.REVOKED, now=now)
    assert (credit.status, credit.revoked_at) == ("revoked", now)
    bt.move_credit(credit, bt.CreditStatus.AVAILABLE, now=now)
    assert (credit.status, credit.revoked_at) == ("available", None)
    bt.move_credit(credit, bt.CreditStatus.CONSUMED, now=now)
    with pytest.raises(IllegalTransition):
        bt.move_credit(credit, bt.CreditStatus.AVAILABLE, now=now)
    facts = outbox.pending_facts(bt.db.session)
    assert [f.type for f in facts] == ["credit.revoked", "credit.restored", "credit.consumed"]
    assert {f.ordering_key for f in facts} == {"user:u1"}


def test_credit_status_update_is_conditional_on_the_current_status():
    stmt = bt.credit_status_update(bt.CreditStatus.AVAILABLE, bt.CreditStatus.CONSUMED)
    assert "WHERE billing_credits.status = " in str(stmt)
    with pytest.raises(IllegalTransition):
        bt.credit_status_update(bt.CreditStatus.CONSUMED, bt.CreditStatus.AVAILABLE)


class FakeSub:
    def __init__(self, status):
        self.club_id = uuid.uuid4()
        self.plan_id = "club_pro"
        self.status = status
        self.current_period_start = self.current_period_end = self.grace_until = None


def test_a_new_subscription_starts_active_and_moves_by_the_table(fake_session):
    sub = FakeSub(None)
    ct.move_subscription(sub, ct.SubStatus.ACTIVE)
    ct.move_subscription(sub, ct.SubStatus.ACTIVE)
    ct.move_subscription(sub, ct.SubStatus.GRACE)
    ct.move_subscription(sub, ct.SubStatus.EXPIRED)
    with pytest.raises(IllegalTransition):
        ct.move_subscription(sub, ct.SubStatus.GRACE)
    assert sub.status == "expired"
    ct.move_subscription(sub, ct.SubStatus.ACTIVE)
    assert [f.type for f in outbox.pending_facts(bt.db.session)] == [
        "subscription.activated",
        "subscription.renewed",
        "subscription.grace_started",
        "subscription.expired",
        "subscription.activated",
    ]


DELIVERY_ALLOWED = {("pending", "delivered"), ("pending", "dead"), ("dead", "delivered")}


@pytest.mark.parametrize(
    ("current", "target"),
    list(itertools.product([s.value for s in ws.DeliveryState], repeat=2)),
)
def test_webhook_delivery_moves_by_its_table(current, target):
    delivery = type("D", (), {"state": current, "finished_at": None})()
    now = datetime.now(UTC)
    if (current, target) in DELIVERY_ALLOWED:
        ws.move_delivery(delivery, ws.DeliveryState(target), now=now)
        assert (delivery.state, delivery.finished_at) == (target, now)
    else:
        with pytest.raises(IllegalTransition):
            ws.move_delivery(delivery, ws.DeliveryState(target), now=now)
        assert (delivery.state, delivery.finished_at) == (current, None)
