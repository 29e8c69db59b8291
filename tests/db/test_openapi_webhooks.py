"""The document's ``webhooks`` and docs/WEBHOOKS.md against the bodies the code really writes.

Every event type is produced by the code that writes it (the status paths, the
one-statement completion of a purchase paid at the Kaspi stub, subscriptions,
publishing), read back from the outbox as the relay sends it
(``payload.body``), and then:

- validated against the document's schema for its type, whose ``data``
  properties must be exactly the real keys (no field undocumented, none invented);
- compared with the example of its type in docs/WEBHOOKS.md (same keys).

``WEBHOOK_EXAMPLES_TO=path`` writes the real bodies there (how the examples in
docs/WEBHOOKS.md were made).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from sqlalchemy import select, update
from standardwebhooks import Webhook, WebhookVerificationError

from app.billing.core.models import Credit, Transaction
from app.billing.core.status import (
    CreditStatus,
    Source,
    TxStatus,
    credits_granted,
    move_credit,
    refund_done,
    restore_credits,
    transition,
)
from app.billing.fiscal import issue
from app.billing.settle import batch_check, schedule
from app.clubs.models import ClubSubscription
from app.clubs.transitions import SubStatus, move_subscription
from app.db import step
from app.events.publish import publish_event
from app.renewals import reminders
from app.webhooks import payload, signing
from app.webhooks.catalogue import EVENT_TYPES, EventType
from app.webhooks.models import OutboxEvent
from tests.support import factories, purchases
from tests.support.stub_server import confirm_payment

pytestmark = pytest.mark.db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"
HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}


@pytest.fixture(scope="module")
def document(app):
    with app.test_client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_event_type_is_a_webhook_of_the_document(document):
    validate(document, cls=OpenAPIV31SpecValidator)
    assert set(document["webhooks"]) == {t.value for t in EventType}
    for name, item in document["webhooks"].items():
        op = item["post"]
        assert op["operationId"] == f"webhook.{name}"
        headers = {p["name"]: p for p in op["parameters"] if p["in"] == "header"}
        assert set(headers) == HEADERS, name
        assert all(p["required"] for p in headers.values()), name
        envelope = schema_of(document, name)
        assert envelope["required"] == ["type", "timestamp", "data"], name
        assert envelope["properties"]["type"]["const"] == name
        assert {"2XX", "410", "429", "503", "default"} <= set(op["responses"]), name


def test_the_documented_headers_match_what_is_signed(document):
    """The header patterns accept what signing.headers sends, also during a rotation."""
    op = document["webhooks"]["transaction.completed"]["post"]
    patterns = {p["name"]: re.compile(p["schema"]["pattern"]) for p in op["parameters"]}
    secrets = [signing.new_secret(), signing.new_secret()]
    sent = signing.headers("msg_" + uuid.uuid4().hex, 1796594400, b"{}", secrets)
    for name in HEADERS:
        assert patterns[name].fullmatch(sent[name]), (name, sent[name])
    assert patterns["webhook-signature"].fullmatch("v1,abc= v2,abc=") is None


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    ref = document["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
    return resolve(document, ref["schema"])


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


# -- the real bodies ---------------------------------------------------------------------


def _pending(user, **kwargs) -> Transaction:
    return factories.make_transaction(user, **kwargs)


def _subscription_events(session, club) -> None:
    """activated, grace_started, renewed, expired: the subscription path's own moves."""
    end = datetime.now(UTC) + timedelta(days=30)
    sub = ClubSubscription(
        club_id=club.id,
        plan_id="club_50",
        current_period_start=end - timedelta(days=30),
        current_period_end=end,
        grace_until=end + timedelta(days=7),
    )
    move_subscription(sub, SubStatus.ACTIVE)
    session.add(sub)
    session.commit()
    move_subscription(sub, SubStatus.GRACE)
    sub.current_period_start = end
    sub.current_period_end = end + timedelta(days=30)
    sub.grace_until = sub.current_period_end + timedelta(days=7)
    move_subscription(sub, SubStatus.ACTIVE)
    session.commit()
    move_subscription(sub, SubStatus.EXPIRED)
    session.commit()


def _paid_at_the_stub(client, db_session, kaspi_stub) -> None:
    """A credit purchase paid at the stub, settled by the one-statement completion."""
    tx_id, payment_id = purchases.intent(client, "webhook-buyer", quantity=2)
    confirm_payment(kaspi_stub, payment_id)
    db_session.execute(
        update(Transaction)
        .where(Transaction.id == tx_id)
        .values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    db_session.commit()
    with step():
        (batch,) = schedule.claim_batches(datetime.now(UTC))
    assert batch_check.check_batch(batch) == {"completed": 1}


@pytest.fixture
def bodies(client, db_session, kaspi_stub) -> dict[str, list[dict[str, Any]]]:
    """Every event type, as written by its code and read back as the relay sends it."""
    session = db_session
    started = datetime.now(UTC)
    _paid_at_the_stub(client, db_session, kaspi_stub)
    # Its fiscal receipt, issued through the register stub: receipt.issued.
    db_session.commit()
    assert issue.sweep().outcomes == ["issued"]

    buyer = factories.make_user("user-1042")
    now = datetime.now(UTC)
    for target, note in (
        (TxStatus.COMPLETED, None),
        (TxStatus.FAILED, None),
        (TxStatus.EXPIRED, None),
        (TxStatus.CANCELED, None),
        (TxStatus.NEEDS_REVIEW, "Kaspi reports 900.00, we asked 1000.00"),
    ):
        transition(_pending(buyer), target, source=Source.WORKER, note=note, now=now)
    session.commit()

    refunded = _pending(buyer, status="completed")
    refunded.refunded_amount = Decimal("400.00")
    refund_done(refunded, Decimal("400.00"), now=now)
    full = _pending(buyer, status="completed")
    full.refunded_amount = full.amount
    transition(full, TxStatus.REFUNDED, source=Source.CLI, now=now)
    refund_done(full, full.amount, now=now)
    session.commit()

    first, second = factories.grant_credits(buyer, 2)
    credits_granted(
        first.source_transaction_id, buyer.id, first.credit_code, [first.id, second.id], now=now
    )
    move_credit(session.get(Credit, first.id), CreditStatus.REVOKED, now=now)
    session.commit()
    restore_credits([first.id], now=now)
    session.commit()
    # Publishing beyond the free limit spends a credit: credit.consumed, event.published.
    event_id = factories.make_event(buyer, max_participants=300).id
    session.commit()  # publish_event opens its own steps
    assert publish_event("user-1042", event_id, confirm=True).credit_consumed

    owner = factories.make_user("user-2077")
    _subscription_events(session, factories.make_club(owner))
    # A period ending in under three days: the sweep's subscription.renewal_due.
    factories.make_subscription(factories.make_club(owner, "Go club"), days_left=2)
    assert reminders.send_due(datetime.now(UTC))
    session.commit()

    events = session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.created_at >= started - timedelta(seconds=1))
        .order_by(OutboxEvent.created_at, OutboxEvent.ordering_key, OutboxEvent.sequence)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for item in events:
        found.setdefault(item.type, []).append(json.loads(payload.body(item)))
    target = os.environ.get("WEBHOOK_EXAMPLES_TO")
    if target:
        Path(target).write_text(json.dumps(found, indent=2, sort_keys=True))
    return found


def test_every_event_type_is_written_and_fits_its_schema(document, bodies):
    assert set(bodies) == EVENT_TYPES
    for name, sent in bodies.items():
        envelope = schema_of(document, name)
        data_schema = resolve(document, envelope["properties"]["data"])
        validator = Draft202012Validator(
            {**envelope, "components": document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for body in sent:
            errors = [e.message for e in validator.iter_errors(body)]
            assert not errors, (name, errors, body)
            # Exactly the documented fields: none undocumented, none promised but absent.
            assert set(body["data"]) == set(data_schema["properties"]), name
            assert set(body["data"]) == set(data_schema["required"]), name


def test_one_statement_and_orm_completions_tell_the_same_fields(bodies):
    """transaction.completed and credit.granted from the one-statement completion (the
    stub purchase) and from the ORM path carry the same keys."""
    for name in ("transaction.completed", "credit.granted"):
        shapes = {frozenset(body["data"]) for body in bodies[name]}
        assert len(bodies[name]) >= 2 and len(shapes) == 1, name


def test_a_paid_purchase_tells_completed_then_granted(bodies):
    (granted,) = [b for b in bodies["credit.granted"] if b["data"]["user_id"] == "webhook-buyer"]
    (completed,) = [
        b for b in bodies["transaction.completed"] if b["data"]["user_id"] == "webhook-buyer"
    ]
    assert granted["data"]["transaction_id"] == completed["data"]["transaction_id"]
    assert granted["data"]["quantity"] == len(granted["data"]["credit_ids"]) == 2
    assert completed["data"]["ordering_key"] == f"transaction:{completed['data']['transaction_id']}"
    assert granted["data"]["ordering_key"] == "user:webhook-buyer"


def test_sequences_grow_by_one_per_ordering_key(bodies):
    by_key: dict[str, list[int]] = {}
    for sent in bodies.values():
        for body in sent:
            by_key.setdefault(body["data"]["ordering_key"], []).append(body["data"]["sequence"])
    assert any(len(seqs) > 1 for seqs in by_key.values())
    for key, seqs in by_key.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), key


# -- docs/WEBHOOKS.md ---------------------------------------------------------------------


def documented_examples() -> dict[str, dict[str, Any]]:
    """The JSON examples of docs/WEBHOOKS.md, by their ``type``."""
    examples: dict[str, dict[str, Any]] = {}
    for block in re.findall(r"```json\n(.*?)```", DOCS.read_text(), flags=re.S):
        body = json.loads(block)
        if isinstance(body, dict) and "type" in body and "data" in body:
            examples.setdefault(body["type"], body)
    return examples


def test_the_docs_show_each_type_with_its_real_fields(bodies):
    examples = documented_examples()
    assert set(examples) == EVENT_TYPES
    for name, example in examples.items():
        assert set(example) == {"type", "timestamp", "data"}, name
        real = {frozenset(body["data"]) for body in bodies[name]}
        assert frozenset(example["data"]) in real, (name, sorted(example["data"]))


def test_the_docs_python_receiver_verifies_what_the_service_signs():
    """The Python example of docs/WEBHOOKS.md, run against app.webhooks.signing."""
    (code,) = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    secret, rotated = signing.new_secret(), signing.new_secret()
    handled: list[tuple[str, dict[str, Any]]] = []
    namespace: dict[str, Any] = {"__name__": "receiver", "handle": lambda *a: handled.append(a)}
    os.environ["BILLING_WEBHOOK_SECRET"] = secret
    try:
        exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 (our own docs)
    finally:
        del os.environ["BILLING_WEBHOOK_SECRET"]
    receiver = namespace["app"].test_client()
    body = json.dumps(
        {"type": "credit.revoked", "timestamp": "2026-12-06T22:00:00Z", "data": {"x": 1}}
    ).encode()
    msg_id = "msg_" + uuid.uuid4().hex

    def post(secrets: list[str], moment: int, sent: bytes = body):
        headers = signing.headers(msg_id, moment, body, secrets)  # signed: the original body
        return receiver.post("/billing/webhooks", data=sent, headers=headers)

    now = int(datetime.now(UTC).timestamp())
    assert post([secret], now).status_code == 204
    assert handled == [("credit.revoked", {"x": 1})]
    assert post([secret], now).status_code == 204  # a retry: the same webhook-id
    assert len(handled) == 1
    assert post([rotated, secret], now).status_code == 204  # a rotation's overlap
    assert post([rotated], now).status_code == 400
    assert post([secret], now - 3600).status_code == 400  # replayed by a stranger
    assert post([secret], now, body.replace(b'"x": 1', b'"x": 2')).status_code == 400
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {"webhook-id": msg_id})
