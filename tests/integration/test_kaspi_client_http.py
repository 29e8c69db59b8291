"""KaspiClient over real HTTP against the stub under gunicorn with 2 worker processes."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from app.billing.kaspi.client import (
    KaspiClient,
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
    RefundOutcomeUnknown,
)
from tests.support.processes import wait_until
from tests.support.stub_server import (
    confirm_payment,
    expire_payment,
    reset_faults,
    set_faults,
    set_payment_status,
    start_stub,
)

pytestmark = pytest.mark.integration

KEY = "integration-kaspi-key"


@pytest.fixture(scope="module")
def stub_url(tmp_path_factory):
    base_url, stop = start_stub(tmp_path_factory.mktemp("kaspi-client"), KEY)
    try:
        yield base_url
    finally:
        stop()


@pytest.fixture(autouse=True)
def no_faults(stub_url):
    reset_faults(stub_url)
    yield
    reset_faults(stub_url)


@pytest.fixture
def client(stub_url):
    kaspi = KaspiClient(stub_url, KEY, read_timeout_s=5.0, retries=2, backoff_factor=0.05)
    yield kaspi
    kaspi.close()


def external_id() -> str:
    return f"tx-{uuid.uuid4()}"


def test_create_wait_confirm_processed(client, stub_url):
    assert isinstance(client, PaymentProvider)
    created = client.create_payment(external_id(), Decimal("1000.00"))

    assert created.payment_url == f"{stub_url}/pay/{created.payment_id}"
    assert created.expires_at.tzinfo is not None and created.poll_interval_s == 5
    waiting = client.get_status(created.payment_id)
    assert (waiting.state, waiting.provider_status) == ("wait", "Wait")
    assert waiting.amount == Decimal("1000.00") and waiting.provider_transaction_id is None
    assert waiting.expires_at == created.expires_at
    assert requests.get(created.payment_url, timeout=5).status_code == 200

    confirm_payment(stub_url, created.payment_id)

    paid = client.get_status(created.payment_id)
    assert (paid.state, paid.provider_status) == ("processed", "Processed")
    assert paid.provider_transaction_id


def test_status_carries_our_external_id_and_the_amount_actually_paid(client, stub_url):
    ours = external_id()
    created = client.create_payment(ours, Decimal("1000.00"))
    assert client.get_status(created.payment_id).external_id == ours

    confirm_payment(stub_url, created.payment_id, amount="1.00")

    paid = client.get_status(created.payment_id)
    assert paid.state == "processed" and paid.amount == Decimal("1.00")
    assert paid.external_id == ours


@pytest.mark.parametrize("raw", ["QrTokenCreated", "RemotePaymentCreated", "SomethingNew"])
def test_statuses_other_than_processed_and_error_mean_still_pending(client, stub_url, raw):
    created = client.create_payment(external_id(), Decimal("10.00"))
    set_payment_status(stub_url, created.payment_id, raw)

    status = client.get_status(created.payment_id)

    assert (status.state, status.provider_status) == ("wait", raw)


def test_amounts_travel_exactly(client):
    created = client.create_payment(external_id(), Decimal("12345678901.07"))
    assert client.get_status(created.payment_id).amount == Decimal("12345678901.07")
    with pytest.raises(ValueError, match="more than 2 decimals"):
        client.create_payment(external_id(), Decimal("1.005"))
    with pytest.raises(ValueError, match="must be a positive Decimal"):
        client.create_payment(external_id(), 10.5)  # type: ignore[arg-type]


def test_unknown_payment_is_not_found(client):
    status = client.get_status("987654321")
    assert (status.state, status.provider_status) == ("not_found", "-1601")


def test_expired_unpaid_payment_reads_wait_past_its_expiry(client, stub_url):
    created = client.create_payment(external_id(), Decimal("5.00"))
    expire_payment(stub_url, created.payment_id)

    status = client.get_status(created.payment_id)

    assert status.state == "wait"
    assert status.expires_at is not None and status.expires_at <= created.expires_at
    with pytest.raises(AssertionError, match="-1602"):
        confirm_payment(stub_url, created.payment_id)


def test_concurrent_create_with_one_external_id_gives_one_payment(client):
    shared_id = external_id()
    barrier = threading.Barrier(10)

    def create():
        barrier.wait(timeout=10)
        return client.create_payment(shared_id, Decimal("15000.00")).payment_id

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(lambda _: create(), range(10)))

    assert len(ids) == 10 and len(set(ids)) == 1


def test_same_external_id_other_amount_is_rejected(client):
    shared_id = external_id()
    client.create_payment(shared_id, Decimal("100.00"))
    with pytest.raises(ProviderRejected) as caught:
        client.create_payment(shared_id, Decimal("100.01"))
    assert caught.value.status_code == -1502 and caught.value.http_status == 409


def test_wrong_api_key_is_rejected(stub_url):
    kaspi = KaspiClient(stub_url, "not-the-key", retries=0)
    with pytest.raises(ProviderRejected) as caught:
        kaspi.get_status("1")
    assert caught.value.status_code == -14000


def test_create_survives_failures_within_its_retries(client, stub_url):
    set_faults(stub_url, fail_next=2)

    created = client.create_payment(external_id(), Decimal("1000.00"))

    assert client.get_status(created.payment_id).state == "wait"
    assert requests.get(f"{stub_url}/test/faults", timeout=5).json()["Data"]["fail_next"] == 0


def test_failures_beyond_the_retries_raise_provider_unavailable(client, stub_url):
    set_faults(stub_url, fail_next=3)  # 1 try + 2 retries, all fail

    with pytest.raises(ProviderUnavailable):
        client.create_payment(external_id(), Decimal("1000.00"))

    assert requests.get(f"{stub_url}/test/faults", timeout=5).json()["Data"]["fail_next"] == 0


def test_latency_above_the_read_timeout_fails_fast(stub_url):
    created = KaspiClient(stub_url, KEY).create_payment(external_id(), Decimal("1.00"))
    set_faults(stub_url, latency_ms=2500)
    impatient = KaspiClient(stub_url, KEY, read_timeout_s=0.3, retries=1, backoff_factor=0)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        impatient.get_status(created.payment_id)

    assert time.monotonic() - started < 2.0  # two 0.3 s attempts, not two 2.5 s waits


def test_unreachable_provider_is_unavailable():
    from tests.support.processes import free_port

    kaspi = KaspiClient(f"http://127.0.0.1:{free_port()}", KEY, retries=1, backoff_factor=0)
    with pytest.raises(ProviderUnavailable):
        kaspi.get_status("1")
    with pytest.raises(ProviderUnavailable) as caught:
        kaspi.refund("1", Decimal("1.00"))
    # Nothing was sent, so the refund is known not to have happened.
    assert not isinstance(caught.value, RefundOutcomeUnknown)


def test_refund_and_over_refund(client, stub_url):
    created = client.create_payment(external_id(), Decimal("1000.00"))
    with pytest.raises(ProviderRejected) as not_paid:
        client.refund(created.payment_id, Decimal("1000.00"))
    assert not_paid.value.status_code == -1701
    confirm_payment(stub_url, created.payment_id)

    operation_id = client.refund(created.payment_id, Decimal("1000.00"))

    assert operation_id
    assert client.get_status(created.payment_id).refunded_amount == Decimal("1000.00")
    with pytest.raises(ProviderRejected) as over:
        client.refund(created.payment_id, Decimal("0.01"))
    assert over.value.status_code == -1702


def test_refund_is_not_retried_after_a_server_failure(client, stub_url):
    created = client.create_payment(external_id(), Decimal("300.00"))
    confirm_payment(stub_url, created.payment_id)
    set_faults(stub_url, fail_next=1)

    with pytest.raises(ProviderUnavailable):
        client.refund(created.payment_id, Decimal("300.00"))

    # A retry would have consumed no more faults and refunded; neither happened.
    assert client.get_status(created.payment_id).refunded_amount == Decimal("0.00")


def test_refund_timeout_reports_an_unknown_outcome(stub_url):
    setup = KaspiClient(stub_url, KEY)
    created = setup.create_payment(external_id(), Decimal("70.00"))
    confirm_payment(stub_url, created.payment_id)
    set_faults(stub_url, latency_ms=1500)
    impatient = KaspiClient(stub_url, KEY, read_timeout_s=0.3, retries=2)

    with pytest.raises(RefundOutcomeUnknown):
        impatient.refund(created.payment_id, Decimal("70.00"))

    # The stub did the refund before its slow answer: exactly why it is not retried.
    reset_faults(stub_url)
    refunded = wait_until(
        lambda: setup.get_status(created.payment_id).refunded_amount == Decimal("70.00"),
        timeout=10,
        message="the refund to show",
    )
    assert refunded


def test_faults_set_through_one_worker_are_obeyed_by_the_other(stub_url):
    set_faults(stub_url, error_rate=1.0, latency_ms=600)
    url = f"{stub_url}/r3/v01/payment/status/1"

    def call(_):
        # A fresh connection each time, so gunicorn may hand it to either worker.
        return requests.get(url, headers={"Api-Key": KEY, "Connection": "close"}, timeout=10)

    seen: set[str] = set()

    def two_workers_seen() -> bool:
        # Two concurrent calls: a sync worker busy with the first (600 ms) cannot take
        # the second, so once both workers are up the pair lands on both.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for response in pool.map(call, range(2)):
                assert response.status_code == 500
                assert response.json()["StatusCode"] == -999
                seen.add(response.headers["X-Stub-Pid"])
        return len(seen) >= 2

    wait_until(two_workers_seen, timeout=20, interval=0, message="answers from both workers")
