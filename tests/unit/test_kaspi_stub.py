"""The Kaspi stub through Flask's test client, each test on its own SQLite file."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal

import pytest

from app.kaspi_stub import create_app

pytestmark = pytest.mark.unit

KEY = "unit-kaspi-key"
HEADERS = {"Api-Key": KEY}
CREATE = "/r3/v01/qr/create-link"
RETURN = "/r3/v01/payment/return"


@pytest.fixture
def stub_config(tmp_path) -> dict:
    return {"KASPI_STUB_DB": str(tmp_path / "nested" / "stub.sqlite3"), "KASPI_STUB_API_KEY": KEY}


@pytest.fixture
def stub(stub_config):
    return create_app(dict(stub_config)).test_client()


def body_of(response) -> dict:
    return json.loads(response.data, parse_float=Decimal)


def create(stub, external_id: str = "tx-1", amount: str = "1000.00", headers=HEADERS):
    raw = f'{{"Amount": {amount}, "ExternalId": {json.dumps(external_id)}}}'
    return stub.post(CREATE, data=raw, headers=headers)


def created_id(stub, external_id: str = "tx-1", amount: str = "1000.00") -> int:
    response = create(stub, external_id, amount)
    assert response.status_code == 200, response.data
    return body_of(response)["Data"]["PaymentId"]


def status(stub, payment_id) -> dict:
    response = stub.get(f"/r3/v01/payment/status/{payment_id}", headers=HEADERS)
    assert response.status_code == 200, response.data
    return body_of(response)["Data"]


def payment_count(stub_config) -> int:
    """How many payments the stub's state file holds (ids are random, so count rows)."""
    conn = sqlite3.connect(stub_config["KASPI_STUB_DB"])
    try:
        return conn.execute("SELECT count(*) FROM payments").fetchone()[0]
    finally:
        conn.close()


def refund(stub, payment_id, amount: str):
    return stub.post(
        RETURN, data=f'{{"QrPaymentId": {payment_id}, "Amount": {amount}}}', headers=HEADERS
    )


def test_create_link_answers_kaspi_shape_and_is_idempotent_by_external_id(stub):
    first = body_of(create(stub))
    again = body_of(create(stub))

    assert first["StatusCode"] == 0 and first["Message"] == "OK"
    data = first["Data"]
    assert data["PaymentLink"].endswith(f"/pay/{data['PaymentId']}")
    assert data["PaymentBehaviorOptions"]["StatusPollingInterval"] == 5
    assert data["ExpireDate"].endswith("+00:00")
    assert again["Data"] == data
    other = body_of(create(stub, "tx-2"))["Data"]
    assert other["PaymentId"] != data["PaymentId"]


def test_amount_stays_exact_as_a_json_number(stub):
    payment_id = created_id(stub, amount="12345678901.05")
    raw = stub.get(f"/r3/v01/payment/status/{payment_id}", headers=HEADERS).data.decode()
    assert '"Amount": 12345678901.05' in raw
    assert status(stub, payment_id)["Amount"] == Decimal("12345678901.05")


def test_same_external_id_with_another_amount_is_rejected(stub):
    payment_id = created_id(stub, amount="1000.00")
    response = create(stub, amount="1000.01")

    assert response.status_code == 409
    assert body_of(response)["StatusCode"] == -1502
    assert status(stub, payment_id)["Amount"] == Decimal("1000.00")


@pytest.mark.parametrize("headers", [{}, {"Api-Key": "wrong"}, {"Api-Key": ""}])
def test_provider_api_needs_the_api_key(stub, headers):
    response = create(stub, headers=headers)
    assert response.status_code == 401
    assert body_of(response)["StatusCode"] == -14000
    assert stub.get("/r3/v01/payment/status/1", headers=headers).status_code == 401
    # Nothing was created by the refused call.
    assert stub.get("/r3/v01/payment/status/1", headers=HEADERS).status_code == 404


def test_buyer_confirm_makes_the_payment_processed_with_a_transaction_id(stub):
    payment_id = created_id(stub)
    assert status(stub, payment_id)["Status"] == "Wait"
    assert status(stub, payment_id)["TransactionId"] is None

    response = stub.post(f"/test/payment/{payment_id}/confirm")

    assert response.status_code == 200
    after = status(stub, payment_id)
    assert after["Status"] == "Processed"
    assert after["TransactionId"]
    assert body_of(response)["Data"]["TransactionId"] == after["TransactionId"]


def test_buyer_error_makes_the_payment_error_and_final(stub):
    payment_id = created_id(stub)
    assert stub.post(f"/test/payment/{payment_id}/error").status_code == 200
    assert status(stub, payment_id)["Status"] == "Error"

    response = stub.post(f"/test/payment/{payment_id}/confirm")
    assert response.status_code == 409
    assert body_of(response)["StatusCode"] == -1603
    assert status(stub, payment_id)["Status"] == "Error"


def test_confirm_after_expiry_is_refused_and_the_payment_stays_wait(stub):
    payment_id = created_id(stub)
    expired = body_of(stub.post(f"/test/payment/{payment_id}/expire"))["Data"]

    response = stub.post(f"/test/payment/{payment_id}/confirm")

    assert response.status_code == 409
    assert body_of(response)["StatusCode"] == -1602
    now = status(stub, payment_id)
    assert now["Status"] == "Wait" and now["TransactionId"] is None
    assert now["ExpireDate"] == expired["ExpireDate"]
    page = stub.get(f"/pay/{payment_id}").data.decode()
    assert "Expired" in page and 'class="pay"' not in page


def test_a_second_confirm_is_refused_and_changes_nothing(stub):
    payment_id = created_id(stub)
    stub.post(f"/test/payment/{payment_id}/confirm")
    first = status(stub, payment_id)

    response = stub.post(f"/test/payment/{payment_id}/confirm")

    assert response.status_code == 409
    assert body_of(response)["StatusCode"] == -1603
    assert status(stub, payment_id) == first


def test_refund_rules(stub):
    payment_id = created_id(stub, amount="1000.00")
    not_paid = refund(stub, payment_id, "10.00")
    assert not_paid.status_code == 409 and body_of(not_paid)["StatusCode"] == -1701

    stub.post(f"/test/payment/{payment_id}/confirm")
    too_much = refund(stub, payment_id, "1000.01")
    assert too_much.status_code == 409 and body_of(too_much)["StatusCode"] == -1702

    first = body_of(refund(stub, payment_id, "400.00"))
    second = body_of(refund(stub, payment_id, "600.00"))
    assert first["StatusCode"] == 0 and second["StatusCode"] == 0
    assert first["Data"]["ReturnOperationId"] != second["Data"]["ReturnOperationId"]
    assert status(stub, payment_id)["RefundedAmount"] == Decimal("1000.00")
    assert body_of(refund(stub, payment_id, "0.01"))["StatusCode"] == -1702


def test_refund_of_an_unknown_payment_is_not_found(stub):
    response = refund(stub, 424242, "1.00")
    assert response.status_code == 404 and body_of(response)["StatusCode"] == -1601


def test_fail_next_fails_exactly_that_many_calls_then_recovers(stub, stub_config):
    assert body_of(stub.post("/test/faults", json={"fail_next": 2}))["Data"]["fail_next"] == 2

    failures = [create(stub, "tx-f") for _ in range(2)]
    recovered = create(stub, "tx-f")

    for response in failures:
        assert response.status_code == 500
        assert body_of(response)["StatusCode"] == -999
    assert recovered.status_code == 200
    # The failed calls did nothing: only the successful one created a payment.
    assert payment_count(stub_config) == 1
    assert body_of(stub.get("/test/faults"))["Data"]["fail_next"] == 0


def create_calls(stub, external_id: str) -> int:
    response = stub.get("/test/create-calls", query_string={"external_id": external_id})
    assert response.status_code == 200, response.data
    return body_of(response)["Data"]["Calls"]


def test_create_calls_count_the_calls_that_reached_the_work_per_external_id(stub):
    assert create_calls(stub, "tx-c") == 0
    created_id(stub, "tx-c")
    created_id(stub, "tx-c")
    stub.post("/test/faults", json={"fail_next": 1})
    assert create(stub, "tx-c").status_code == 500  # failed before the work: not counted
    created_id(stub, "tx-other")

    assert create_calls(stub, "tx-c") == 2
    assert create_calls(stub, "tx-other") == 1
    assert stub.get("/test/create-calls").status_code == 400


def test_error_rate_one_fails_every_call_and_reset_clears_faults_not_payments(stub):
    payment_id = created_id(stub)
    stub.post("/test/faults", json={"error_rate": 1.0, "latency_ms": 0})
    assert stub.get(f"/r3/v01/payment/status/{payment_id}", headers=HEADERS).status_code == 500

    cleared = body_of(stub.post("/test/reset"))["Data"]

    assert cleared == {"latency_ms": 0, "error_rate": 0.0, "timeout_ms": 0, "fail_next": 0}
    assert status(stub, payment_id)["Status"] == "Wait"


def test_latency_delays_the_answer_but_the_work_is_done(stub):
    stub.post("/test/faults", json={"latency_ms": 150})
    started = time.monotonic()
    response = create(stub, "slow")
    assert time.monotonic() - started >= 0.15
    assert response.status_code == 200


def test_timeout_fault_answers_504_and_does_nothing(stub, stub_config):
    stub.post("/test/faults", json={"timeout_ms": 1})
    response = create(stub, "hung")
    assert response.status_code == 504 and body_of(response)["StatusCode"] == -999
    assert payment_count(stub_config) == 0
    stub.post("/test/reset")
    assert create(stub, "hung").status_code == 200
    assert payment_count(stub_config) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b'{"Amount": "1000.00", "ExternalId": "x"}',
        b'{"Amount": true, "ExternalId": "x"}',
        b'{"Amount": 10.001, "ExternalId": "x"}',
        b'{"Amount": -5, "ExternalId": "x"}',
        b'{"Amount": 0, "ExternalId": "x"}',
        b'{"Amount": NaN, "ExternalId": "x"}',
        b'{"Amount": 1e400, "ExternalId": "x"}',
        b'{"Amount": 10, "ExternalId": ""}',
        b'{"Amount": 10, "ExternalId": 7}',
        b'{"Amount": 10}',
    ],
)
def test_malformed_create_bodies_get_a_validation_envelope(stub, body):
    response = stub.post(CREATE, data=body, headers=HEADERS)
    assert response.status_code == 400
    assert body_of(response)["StatusCode"] == -1501


@pytest.mark.parametrize(
    "body", [b"{}", b'{"QrPaymentId": "abc", "Amount": 1}', b'{"QrPaymentId": 1, "Amount": "1"}']
)
def test_malformed_refund_bodies_get_a_validation_envelope(stub, body):
    response = stub.post(RETURN, data=body, headers=HEADERS)
    assert response.status_code == 400 and body_of(response)["StatusCode"] == -1501


@pytest.mark.parametrize(
    "body", [{"nope": 1}, {"fail_next": -1}, {"error_rate": 2}, {"latency_ms": "5"}]
)
def test_bad_fault_settings_are_refused(stub, body):
    response = stub.post("/test/faults", json=body)
    assert response.status_code == 400 and body_of(response)["StatusCode"] == -1501
    assert body_of(stub.get("/test/faults"))["Data"]["fail_next"] == 0


@pytest.mark.parametrize("payment_id", ["999999", "abc", "1.5", "-1"])
def test_unknown_payment_is_purchase_not_found(stub, payment_id):
    response = stub.get(f"/r3/v01/payment/status/{payment_id}", headers=HEADERS)
    assert response.status_code == 404
    assert body_of(response)["StatusCode"] == -1601
    assert stub.post(f"/test/payment/{payment_id}/confirm").status_code == 404


def test_unknown_routes_and_methods_answer_an_envelope_not_a_stack_trace(stub):
    missing = stub.get("/r3/v01/nothing-here", headers=HEADERS)
    wrong_method = stub.get(CREATE, headers=HEADERS)
    too_big = stub.post(CREATE, data=b"x" * (65 * 1024), headers=HEADERS)

    assert (missing.status_code, body_of(missing)["StatusCode"]) == (404, -10404)
    assert (wrong_method.status_code, body_of(wrong_method)["StatusCode"]) == (405, -10405)
    assert (too_big.status_code, body_of(too_big)["StatusCode"]) == (413, -10413)


def test_pay_page_shows_amount_merchant_and_pay_decline_buttons(stub):
    payment_id = created_id(stub, amount="1000.00")

    page = stub.get(f"/pay/{payment_id}")

    html = page.data.decode()
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "1\u00a0000,00" in html and "KZT" in html and "Events Platform" in html
    assert f'action="/pay/{payment_id}/confirm"' in html
    assert f'action="/pay/{payment_id}/decline"' in html
    assert 'name="viewport"' in html and "<script" not in html
    assert 'src="http' not in html and 'href="http' not in html  # no CDN


def test_pay_button_pays_and_redirects_back_to_the_page(stub):
    payment_id = created_id(stub)

    response = stub.post(f"/pay/{payment_id}/confirm")

    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/pay/{payment_id}")
    assert status(stub, payment_id)["Status"] == "Processed"
    page = stub.get(response.headers["Location"]).data.decode()
    assert "Payment confirmed" in page and 'class="pay"' not in page


def test_decline_button_declines(stub):
    payment_id = created_id(stub)
    response = stub.post(f"/pay/{payment_id}/decline", follow_redirects=True)
    assert "Declined" in response.data.decode()
    assert status(stub, payment_id)["Status"] == "Error"


def test_pay_page_of_an_unknown_payment_is_a_404_page(stub):
    assert stub.get("/pay/777").status_code == 404
    assert stub.post("/pay/777/confirm").status_code == 404


def test_public_url_setting_is_used_for_payment_links(stub_config):
    stub = create_app(
        {**stub_config, "KASPI_STUB_PUBLIC_URL": "https://pay.example/"}
    ).test_client()
    link = body_of(create(stub))["Data"]["PaymentLink"]
    assert link.startswith("https://pay.example/pay/")


def test_state_survives_a_new_app_on_the_same_file(stub_config, stub):
    payment_id = created_id(stub)
    stub.post(f"/test/payment/{payment_id}/confirm")
    stub.post("/test/faults", json={"latency_ms": 5})

    restarted = create_app(dict(stub_config)).test_client()

    assert status(restarted, payment_id)["Status"] == "Processed"
    assert body_of(restarted.get("/test/faults"))["Data"]["latency_ms"] == 5
    assert body_of(create(restarted))["Data"]["PaymentId"] == payment_id


def test_healthz(stub):
    response = stub.get("/healthz")
    assert response.status_code == 200 and body_of(response)["StatusCode"] == 0


def test_status_answers_carry_our_external_id(stub):
    payment_id = created_id(stub, "tx-ext-7")
    assert status(stub, payment_id)["ExternalId"] == "tx-ext-7"
    stub.post(f"/test/payment/{payment_id}/confirm")
    assert status(stub, payment_id)["ExternalId"] == "tx-ext-7"


def test_confirm_with_another_amount_reports_what_the_buyer_paid(stub):
    payment_id = created_id(stub, amount="1000.00")

    response = stub.post(f"/test/payment/{payment_id}/confirm", json={"amount": "1.00"})

    assert response.status_code == 200, response.data
    after = status(stub, payment_id)
    assert after["Status"] == "Processed" and after["Amount"] == Decimal("1.00")
    # Only what was paid can be returned.
    too_much = refund(stub, payment_id, "1.01")
    assert body_of(too_much)["StatusCode"] == -1702
    assert body_of(refund(stub, payment_id, "1.00"))["StatusCode"] == 0
    # The link itself still names the asked price: create-link stays idempotent.
    assert body_of(create(stub, amount="1000.00"))["Data"]["PaymentId"] == payment_id


@pytest.mark.parametrize(
    "body", [{"amount": "abc"}, {"amount": "0"}, {"amount": "1.001"}, {"force": "yes"}, {"x": 1}]
)
def test_bad_confirm_bodies_are_refused_and_change_nothing(stub, body):
    payment_id = created_id(stub)
    response = stub.post(f"/test/payment/{payment_id}/confirm", json=body)
    assert response.status_code == 400 and body_of(response)["StatusCode"] == -1501
    assert status(stub, payment_id)["Status"] == "Wait"


def test_force_confirms_after_expiry_and_after_a_decline_but_never_twice(stub):
    expired = created_id(stub, "tx-late")
    stub.post(f"/test/payment/{expired}/expire")
    assert stub.post(f"/test/payment/{expired}/confirm").status_code == 409

    late = stub.post(f"/test/payment/{expired}/confirm", json={"force": True})

    assert late.status_code == 200, late.data
    assert status(stub, expired)["Status"] == "Processed"
    again = stub.post(f"/test/payment/{expired}/confirm", json={"force": True})
    assert again.status_code == 409 and body_of(again)["StatusCode"] == -1603

    declined = created_id(stub, "tx-declined")
    stub.post(f"/test/payment/{declined}/error")
    assert stub.post(f"/test/payment/{declined}/confirm", json={"force": True}).status_code == 200
    assert status(stub, declined)["Status"] == "Processed"


def test_any_status_string_can_be_set_and_an_open_one_can_still_be_paid(stub):
    payment_id = created_id(stub)

    response = stub.post(f"/test/payment/{payment_id}/status", json={"status": "QrTokenCreated"})

    assert response.status_code == 200
    assert status(stub, payment_id)["Status"] == "QrTokenCreated"
    assert 'class="pay"' in stub.get(f"/pay/{payment_id}").data.decode()
    assert stub.post(f"/test/payment/{payment_id}/confirm").status_code == 200
    assert status(stub, payment_id)["Status"] == "Processed"
    for bad in ({}, {"status": ""}, {"status": 5}, {"status": "x" * 65}):
        refused = stub.post(f"/test/payment/{payment_id}/status", json=bad)
        assert refused.status_code == 400


def test_payment_ids_are_random_12_digit_and_not_reused_after_the_state_is_deleted(
    stub_config, tmp_path
):
    first = create_app(dict(stub_config)).test_client()
    before = {created_id(first, f"tx-{n}") for n in range(5)}
    other_file = {**stub_config, "KASPI_STUB_DB": str(tmp_path / "fresh.sqlite3")}

    fresh = create_app(other_file).test_client()
    after = {created_id(fresh, f"tx-{n}") for n in range(5)}

    assert all(len(str(payment_id)) == 12 for payment_id in before | after)
    assert not before & after


def test_a_state_file_from_the_older_stub_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE payments (
            payment_id INTEGER PRIMARY KEY AUTOINCREMENT,
            external_id TEXT NOT NULL UNIQUE, amount TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'Wait' CHECK (status IN ('Wait', 'Processed', 'Error')),
            transaction_id TEXT, created_at TEXT NOT NULL, expire_at TEXT NOT NULL,
            refunded_amount TEXT NOT NULL DEFAULT '0.00');
        INSERT INTO payments (external_id, amount, created_at, expire_at) VALUES
            ('tx-old', '5.00', '2030-01-01T00:00:00.000000+00:00',
             '2030-01-01T01:00:00.000000+00:00');
        """
    )
    conn.commit()
    conn.close()

    stub = create_app({"KASPI_STUB_DB": str(path), "KASPI_STUB_API_KEY": KEY}).test_client()

    assert status(stub, 1)["ExternalId"] == "tx-old"
    assert stub.post("/test/payment/1/status", json={"status": "Brand-New"}).status_code == 200
    assert status(stub, 1)["Status"] == "Brand-New"
