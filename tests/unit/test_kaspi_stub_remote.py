"""The Kaspi stub's remote payments (an invoice to a phone, remote/create)."""

from __future__ import annotations

import json

import pytest

from app.kaspi_stub import create_app
from tests.unit.test_kaspi_stub import HEADERS, body_of, status

pytestmark = pytest.mark.unit

REMOTE = "/r3/v01/remote/create"


@pytest.fixture
def stub(tmp_path):
    config = {
        "KASPI_STUB_DB": str(tmp_path / "stub.sqlite3"),
        "KASPI_STUB_API_KEY": "unit-kaspi-key",
    }
    return create_app(config).test_client()


def remote(stub, external_id="tx-r", phone="77012345678", amount="5000.00", headers=HEADERS):
    raw = (
        f'{{"Amount": {amount}, "ExternalId": {json.dumps(external_id)},'
        f' "PhoneNumber": {json.dumps(phone)}}}'
    )
    return stub.post(REMOTE, data=raw, headers=headers)


def test_remote_create_starts_remote_payment_created_and_is_idempotent(stub):
    first = body_of(remote(stub))["Data"]
    assert first["Status"] == "RemotePaymentCreated"
    again = body_of(remote(stub))["Data"]
    assert again["PaymentId"] == first["PaymentId"]
    assert status(stub, first["PaymentId"])["Status"] == "RemotePaymentCreated"


def test_accepting_pays_and_declining_rejects(stub):
    paid = body_of(remote(stub, "tx-a"))["Data"]["PaymentId"]
    assert stub.post(f"/pay/{paid}/confirm").status_code == 303
    assert status(stub, paid)["Status"] == "Processed"
    declined = body_of(remote(stub, "tx-d"))["Data"]["PaymentId"]
    page = stub.get(f"/pay/{declined}")
    assert b"Invoice sent to your phone" in page.data
    assert stub.post(f"/pay/{declined}/decline").status_code == 303
    assert status(stub, declined)["Status"] == "RemotePaymentRejected"
    # Final: it can no longer be paid.
    assert stub.post(f"/test/payment/{declined}/confirm").status_code == 409


@pytest.mark.parametrize("phone", ["", "7701234567", "87012345678x", "+77012345678", None, 7])
def test_a_bad_phone_is_a_validation_envelope(stub, phone):
    response = remote(stub, phone=phone)
    assert response.status_code == 400
    assert body_of(response)["StatusCode"] == -1501


def test_remote_create_needs_the_api_key(stub):
    assert remote(stub, headers={}).status_code == 401
