"""The transaction status machine, table-driven: every pair of states is checked."""

import itertools
import uuid

import pytest

from app.billing import status as sm

pytestmark = pytest.mark.unit

ALLOWED = {
    ("pending", "completed"),
    ("pending", "failed"),
    ("pending", "expired"),
    ("completed", "refunded"),
}
STATES = ("pending", "completed", "failed", "expired", "refunded")


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_transition_table(current, target):
    assert sm.can_transition(current, target) is ((current, target) in ALLOWED)


def test_terminal_states():
    assert {"failed", "expired", "refunded"} == sm.TERMINAL


class FakeTx:
    def __init__(self, status):
        self.id = uuid.uuid4()
        self.status = status
        self.settled_at = None
        self.next_poll_at = "soon"
        self.updated_at = None


@pytest.mark.parametrize(
    ("current", "target"), [p for p in itertools.product(STATES, STATES) if p not in ALLOWED]
)
def test_illegal_transition_is_refused_and_changes_nothing(current, target, monkeypatch):
    added = []
    monkeypatch.setattr(sm.db, "session", type("S", (), {"add": lambda self, o: added.append(o)})())
    tx = FakeTx(current)
    with pytest.raises(sm.IllegalTransition):
        sm.transition(tx, target, source="worker")
    assert tx.status == current and added == []


def test_unknown_source_is_refused():
    with pytest.raises(ValueError):
        sm.transition(FakeTx("pending"), "completed", source="somebody")
