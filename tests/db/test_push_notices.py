"""Status notices: one at a time outside a batch, in pipelines inside one."""

from __future__ import annotations

import time
import uuid

import pytest

from app.billing.core import notify
from app.billing.settle import batch_check
from tests.support import purchases
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db


@pytest.fixture
def notices(app):
    """Subscribed to the push channel; call it with the ids a test publishes to read
    which of them arrived within a timeout. Channels are global to the Redis server,
    so another test run's notices may arrive too: they are not this test's and are
    passed over."""
    pubsub = app.extensions["redis"].pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(app.config["PUSH_CHANNEL"])
    pubsub.get_message(timeout=1)  # the subscription's own confirmation

    def received(ids: list[uuid.UUID], expected: int, timeout_s: float = 5.0) -> list[str]:
        ours = {str(tx_id) for tx_id in ids}
        got: list[str] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message is not None and message["data"].decode() in ours:
                got.append(message["data"].decode())
        return got

    yield received
    pubsub.close()


def test_outside_a_batch_each_notice_leaves_at_once(app, notices):
    tx_id = uuid.uuid4()
    with app.app_context():
        notify.publish(tx_id)
    assert notices([tx_id], 1) == [str(tx_id)]


def test_inside_a_batch_notices_leave_in_pipelines_and_the_rest_at_the_end(
    app, notices, monkeypatch
):
    monkeypatch.setattr(notify, "BATCH_NOTICES", 2)
    ids = [uuid.uuid4() for _ in range(3)]
    with app.app_context(), notify.batched_notices():
        notify.publish(ids[0])
        assert notices(ids, 1, timeout_s=0.3) == []  # held
        notify.publish(ids[1])
        assert notices(ids, 2) == [str(ids[0]), str(ids[1])]  # a full pipeline left
        notify.publish(ids[2])
        assert notices(ids, 1, timeout_s=0.3) == []
    assert notices(ids, 1) == [str(ids[2])]  # the rest, when the block ends


def test_a_settle_batch_announces_every_transaction_it_settled(client, kaspi_stub, notices):
    paid = [purchases.intent(client, "notice-buyer", quantity=1) for _ in range(3)]
    for _, payment_id in paid:
        confirm_payment(kaspi_stub, payment_id)
    ids = [tx_id for tx_id, _ in paid]
    assert batch_check.check_batch(ids) == {"completed": 3}
    assert sorted(notices(ids, 3)) == sorted(str(tx_id) for tx_id in ids)
