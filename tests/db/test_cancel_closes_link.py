"""The buyer's cancel closes the payment at Kaspi (the stub, over HTTP), so a Kaspi
page left open can no longer take the money; where Kaspi cannot close it, the answer
says so and a payment made anyway is still found by the late-payment sweep."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from app.billing.core.models import Transaction, TransactionEvent
from app.billing.kaspi.client import KaspiClient, ProviderRejected
from app.billing.settle import late
from tests.conftest import KASPI_KEY, auth
from tests.support.purchases import credits_of, intent
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db


def cancel(client, tx_id):
    return client.post(f"/api/billing/transactions/{tx_id}/cancel", headers=auth("buyer"))


def stub_status(kaspi_stub, payment_id) -> dict:
    response = requests.get(
        f"{kaspi_stub}/r3/v01/payment/status/{payment_id}",
        headers={"Api-Key": KASPI_KEY},
        timeout=10,
    )
    return response.json(parse_float=Decimal)["Data"]


def buyer_pays(kaspi_stub, payment_id, **body) -> requests.Response:
    return requests.post(f"{kaspi_stub}/test/payment/{payment_id}/confirm", json=body, timeout=10)


def test_cancel_closes_the_link_so_the_open_kaspi_page_can_no_longer_pay(
    client, db_session, kaspi_stub
):
    tx_id, payment_id = intent(client)

    response = cancel(client, tx_id)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["link_closed"]) == ("canceled", True)
    assert stub_status(kaspi_stub, payment_id)["Status"] == "Canceled"
    paid = buyer_pays(kaspi_stub, payment_id)
    assert paid.status_code == 409 and paid.json()["StatusCode"] == -1603
    # The page of the payment says so instead of offering Pay.
    page = requests.get(f"{kaspi_stub}/pay/{payment_id}", timeout=10)
    assert "Canceled by the merchant" in page.text and 'class="pay"' not in page.text
    note = db_session.scalars(
        select(TransactionEvent.note).where(TransactionEvent.transaction_id == tx_id)
    ).all()[-1]
    assert "link closed at Kaspi" in note
    # Cancelling again closes again (Kaspi answers the same) and answers the same.
    assert cancel(client, tx_id).get_json() == body


def test_a_payment_made_before_the_close_is_settled_not_cancelled(client, db_session, kaspi_stub):
    tx_id, payment_id = intent(client)
    confirm_payment(kaspi_stub, payment_id)

    response = cancel(client, tx_id)

    assert response.get_json()["status"] == "completed"
    assert response.get_json()["link_closed"] is False
    assert len(credits_of(db_session, tx_id)) == 1


def test_where_kaspi_cannot_close_the_link_the_answer_says_so_and_late_money_is_found(
    client, db_session, kaspi_stub, monkeypatch
):
    def refuse(self, payment_id):
        raise ProviderRejected(-10404, "Route not found", 404)

    monkeypatch.setattr(KaspiClient, "cancel_payment", refuse)
    tx_id, payment_id = intent(client)

    body = cancel(client, tx_id).get_json()

    assert (body["status"], body["link_closed"]) == ("canceled", False)
    assert stub_status(kaspi_stub, payment_id)["Status"] == "Wait"
    # The buyer pays on the page left open: the sweep grants it (the default policy).
    assert buyer_pays(kaspi_stub, payment_id).status_code == 200
    db_session.commit()
    assert late.check_late(tx_id) == "completed"
    db_session.commit()
    assert db_session.get(Transaction, tx_id).status == "completed"
    assert len(credits_of(db_session, tx_id)) == 1


def test_close_and_pay_racing_at_the_stub_never_both_win(kaspi_stub, client):
    """The close and the buyer's Pay are one conditional UPDATE each: whichever lands
    first wins, and the other is refused, in every round."""
    kaspi = KaspiClient.from_config({"KASPI_BASE_URL": kaspi_stub, "KASPI_API_KEY": KASPI_KEY})
    outcomes = set()
    for _ in range(12):
        _, payment_id = intent(client)
        results: dict[str, object] = {}
        start = threading.Barrier(2)

        def close(payment_id=payment_id, results=results, start=start):
            start.wait()
            try:
                results["close"] = kaspi.cancel_payment(payment_id).provider_status
            except ProviderRejected as exc:
                results["close"] = exc.status_code

        def pay(payment_id=payment_id, results=results, start=start):
            start.wait()
            results["pay"] = buyer_pays(kaspi_stub, payment_id).status_code

        threads = [threading.Thread(target=close), threading.Thread(target=pay)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        final = stub_status(kaspi_stub, payment_id)["Status"]
        assert (results["close"], results["pay"], final) in {
            ("Canceled", 409, "Canceled"),
            (-1603, 200, "Processed"),
        }, results
        outcomes.add(final)
    kaspi.close()
    assert outcomes  # at least one round ran; either order is a correct outcome
