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
    create_calls,
    expire_payment,
    reset_faults,
    set_faults,
    set_payment_status,
    start_stub,
)

pytestmark = pytest.mark.integration

KEY = "integration-kaspi-key"
# A loaded 2-core machine may be late by this much on top of a budget.
MARGIN_S = 1.5


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
    kaspi = KaspiClient(
        stub_url, KEY, create_budget_s=10.0, status_budget_s=5.0, backoff_factor=0.05
    )
    yield kaspi
    kaspi.close()


def external_id() -> str:
    return f"tx-{uuid.uuid4()}"


def fail_next_left(stub_url: str) -> int:
    return requests.get(f"{stub_url}/test/faults", timeout=5).json()["Data"]["fail_next"]


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
    assert fail_next_left(stub_url) == 0


def test_failures_beyond_a_retry_cap_raise_provider_unavailable(stub_url):
    set_faults(stub_url, fail_next=3)  # 1 try + 2 retries, all fail
    capped = KaspiClient(stub_url, KEY, retries=2, backoff_factor=0.05)

    with pytest.raises(ProviderUnavailable):
        capped.create_payment(external_id(), Decimal("1000.00"))

    assert fail_next_left(stub_url) == 0


# -- one time budget per call ------------------------------------------------


def test_a_create_answered_in_6_s_succeeds_once_within_a_10_s_budget(client, stub_url):
    ours = external_id()
    set_faults(stub_url, latency_ms=6000)

    started = time.monotonic()
    created = client.create_payment(ours, Decimal("1000.00"))
    elapsed = time.monotonic() - started

    # The first attempt waited for its answer: no retry abandoned it to start again.
    assert 5.9 <= elapsed < client.create_budget_s
    assert create_calls(stub_url, ours) == 1
    reset_faults(stub_url)
    assert client.get_status(created.payment_id).external_id == ours


def test_a_create_slower_than_its_budget_is_unavailable_within_the_budget(stub_url):
    ours = external_id()
    budget = 3.0
    kaspi = KaspiClient(stub_url, KEY, create_budget_s=budget, backoff_factor=0.05)
    set_faults(stub_url, latency_ms=6000)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        kaspi.create_payment(ours, Decimal("1000.00"))
    elapsed = time.monotonic() - started

    assert budget - 0.1 <= elapsed <= budget + MARGIN_S  # the budget, not 3 timeouts
    assert create_calls(stub_url, ours) == 1  # a timed-out attempt is not repeated


def test_fast_failures_are_retried_until_the_stub_recovers(client, stub_url):
    ours = external_id()
    set_faults(stub_url, fail_next=1000)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(client.create_payment, ours, Decimal("1000.00"))
        # More failures than the former fixed two retries, then Kaspi is back.
        wait_until(lambda: fail_next_left(stub_url) <= 997, timeout=5, message="3 failures")
        reset_faults(stub_url)
        created = pending.result(timeout=client.create_budget_s + MARGIN_S)
    elapsed = time.monotonic() - started

    assert elapsed < client.create_budget_s
    assert create_calls(stub_url, ours) == 1
    assert client.get_status(created.payment_id).state == "wait"


def test_fast_failures_past_the_budget_are_unavailable_within_it(stub_url):
    budget = 2.0
    kaspi = KaspiClient(stub_url, KEY, create_budget_s=budget, backoff_factor=0.05)
    set_faults(stub_url, fail_next=1000)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        kaspi.create_payment(external_id(), Decimal("1000.00"))
    elapsed = time.monotonic() - started

    assert elapsed <= budget + MARGIN_S
    assert 1000 - fail_next_left(stub_url) >= 4  # retried through the budget, with backoff


def test_a_status_answered_slowly_within_its_budget_wins(client, stub_url):
    created = client.create_payment(external_id(), Decimal("10.00"))
    set_faults(stub_url, latency_ms=1500)
    kaspi = KaspiClient(stub_url, KEY, status_budget_s=4.0)

    started = time.monotonic()
    status = kaspi.get_status(created.payment_id)

    assert status.state == "wait" and time.monotonic() - started < 4.0


def test_a_refund_answered_slowly_within_its_budget_is_done_once(client, stub_url):
    created = client.create_payment(external_id(), Decimal("40.00"))
    confirm_payment(stub_url, created.payment_id)
    set_faults(stub_url, latency_ms=1500)
    kaspi = KaspiClient(stub_url, KEY, refund_budget_s=4.0)

    assert kaspi.refund(created.payment_id, Decimal("40.00"))

    reset_faults(stub_url)
    assert client.get_status(created.payment_id).refunded_amount == Decimal("40.00")


def test_budgets_come_from_the_settings_and_the_poller_keeps_its_own():
    settings = {
        "KASPI_BASE_URL": "http://kaspi",
        "KASPI_API_KEY": KEY,
        "KASPI_CALL_BUDGET_S": 7.0,
        "KASPI_TIMEOUT_S": 4.0,
    }
    kaspi = KaspiClient.from_config(settings)
    assert (kaspi.create_budget_s, kaspi.status_budget_s, kaspi.refund_budget_s) == (7, 4, 4)
    # The poller builds its client with KASPI_TIMEOUT_S replaced by KASPI_POLL_TIMEOUT_S.
    poller = KaspiClient.from_config({**settings, "KASPI_TIMEOUT_S": 2.0})
    assert poller.status_budget_s == 2.0 and kaspi.retries is None
    with pytest.raises(ValueError, match="create_budget_s"):
        KaspiClient("http://kaspi", KEY, create_budget_s=0)


def test_status_latency_above_its_budget_fails_fast(stub_url):
    created = KaspiClient(stub_url, KEY).create_payment(external_id(), Decimal("1.00"))
    set_faults(stub_url, latency_ms=2500)
    impatient = KaspiClient(stub_url, KEY, status_budget_s=0.3, backoff_factor=0)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        impatient.get_status(created.payment_id)

    assert time.monotonic() - started < 2.0  # its 0.3 s budget, not a 2.5 s wait


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
    impatient = KaspiClient(stub_url, KEY, refund_budget_s=0.3)

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
