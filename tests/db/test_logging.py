"""Structured logs: JSON lines with the request's context, and the request id everywhere."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.billing.core.models import Transaction
from app.billing.settle import batch_check, late, reconcile
from app.observability import celery_hooks, context
from app.observability.logs import ContextFilter, configure_logging, json_formatter
from tests.conftest import auth
from tests.support.factories import make_user
from tests.support.stub_server import (
    confirm_payment,
    expire_payment,
    fail_payment,
    reset_faults,
    set_faults,
)

pytestmark = pytest.mark.db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    # Alembic's fileConfig (the session's `upgrade()`) leaves the root at WARNING.
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_logs_json_with_its_request_id_and_user(client, db_session, json_lines):
    make_user("log-user")
    response = client.get(
        "/api/billing/credits", headers={**auth("log-user"), "X-Request-ID": "req-abc.123"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-abc.123"
    lines = [r for r in records(json_lines) if r.get("request_id") == "req-abc.123"]
    assert lines, json_lines.getvalue()
    line = lines[-1]
    assert {"timestamp", "level", "logger", "message"} <= set(line)
    assert line["level"] == "INFO" and line["logger"] == "billing.http"
    assert line["user_id"] == "log-user"
    assert line["status"] == 200 and line["endpoint"] == "/api/billing/credits"


def test_a_request_id_is_made_when_none_or_a_bad_one_is_sent(client, db_session):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    bad = client.get("/healthz", headers={"X-Request-ID": "two words\tand a tab"})
    assert bad.headers["X-Request-ID"] not in ("two words\tand a tab", made)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/page", 404),
        ("DELETE", "/healthz", 405),
        ("GET", "/api/billing/credits", 401),
    ],
)
def test_every_error_envelope_carries_the_request_id(client, db_session, method, path, status):
    response = client.open(path, method=method, headers={"X-Request-ID": "trace-me"})
    assert response.status_code == status
    assert response.get_json()["error"]["request_id"] == "trace-me"
    assert response.headers["X-Request-ID"] == "trace-me"


def _purchase(client, user: str, request_id: str):
    """POST a purchase intent as ``user`` with ``request_id`` as its X-Request-ID."""
    return client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500"},
        headers={**auth(user), "X-Request-ID": request_id},
    )


def test_a_purchase_logs_its_transaction_with_the_request_id(
    client, db_session, json_lines, kaspi_stub
):
    make_user("log-buyer")
    response = _purchase(client, "log-buyer", "purchase-1")
    assert response.status_code == 201
    tx_id = response.get_json()["transaction_id"]
    created = [
        r
        for r in records(json_lines)
        if r.get("transaction_id") == tx_id and r.get("to_status") == "pending"
    ]
    assert created and created[0]["request_id"] == "purchase-1"
    assert created[0]["user_id"] == "log-buyer"


def _lines_of(stream: io.StringIO, request_id: str) -> list[dict]:
    return [r for r in records(stream) if r.get("request_id") == request_id]


def test_a_purchase_is_one_line_carrying_its_creation(client, db_session, json_lines, kaspi_stub):
    response = _purchase(client, "one-line-buyer", "purchase-one-line")
    assert response.status_code == 201
    tx_id = response.get_json()["transaction_id"]
    [line] = _lines_of(json_lines, "purchase-one-line")
    assert line["logger"] == "billing.http" and line["status"] == 201
    assert (line["transaction_id"], line["from_status"], line["to_status"], line["source"]) == (
        tx_id,
        None,
        "pending",
        "api",
    )
    assert line["user_id"] == "one-line-buyer"
    assert f"transaction {tx_id}: none -> pending (api)" in line["message"]


def test_a_requests_second_transition_gets_a_line_of_its_own(
    client, db_session, json_lines, kaspi_stub
):
    set_faults(kaspi_stub, fail_next=10)
    try:
        response = _purchase(client, "down-buyer", "purchase-provider-down")
    finally:
        reset_faults(kaspi_stub)
    assert response.status_code == 503
    lines = _lines_of(json_lines, "purchase-provider-down")
    moves = [(r["logger"], r.get("from_status"), r["to_status"]) for r in lines if "to_status" in r]
    # Each transition once: the creation on the request's line, the failure on its own.
    assert sorted(moves, key=str) == sorted(
        [("billing.http", None, "pending"), ("billing.transitions", "pending", "failed")], key=str
    )
    [request_line] = [r for r in lines if r["logger"] == "billing.http"]
    assert request_line["status"] == 503


def test_a_carried_transition_whose_request_line_is_never_written_gets_its_own(
    client, db_session, json_lines, monkeypatch
):
    from app.billing.kaspi.client import KaspiClient

    class ProcessDied(BaseException):
        """Past every error handler: no response, so no request line."""

    def die(*_args, **_kwargs):
        raise ProcessDied

    monkeypatch.setattr(KaspiClient, "create_payment", die)
    with pytest.raises(ProcessDied):
        _purchase(client, "dying-buyer", "purchase-dies")
    [line] = _lines_of(json_lines, "purchase-dies")
    assert line["logger"] == "billing.transitions"
    assert (line["from_status"], line["to_status"], line["source"]) == (None, "pending", "api")


def _buy(client, request_id: str) -> tuple[uuid.UUID, str]:
    response = _purchase(client, "origin-buyer", request_id)
    assert response.status_code == 201
    body = response.get_json()
    return uuid.UUID(body["transaction_id"]), body["payment"]["payment_id"]


def test_a_purchases_request_id_is_stored_on_its_row(client, db_session, kaspi_stub):
    make_user("origin-buyer")
    tx_id, _ = _buy(client, "purchase-row")
    stored = db_session.scalar(select(Transaction.origin_request_id).where(Transaction.id == tx_id))
    assert stored == "purchase-row"


def test_a_batchs_settle_lines_carry_each_purchases_request_id(
    client, db_session, kaspi_stub, json_lines
):
    """A batch sent by the sweep has no request of its own: each transaction's
    lines carry the id of the purchase that created it, read with its row."""
    make_user("origin-buyer")
    bought = {f"purchase-{n}": _buy(client, f"purchase-{n}") for n in range(3)}
    for _, payment_id in bought.values():
        confirm_payment(kaspi_stub, payment_id)
    assert context.get("request_id") is None  # as in a task beat sent
    outcomes = batch_check.check_batch([tx_id for tx_id, _ in bought.values()])
    assert outcomes == {"completed": 3}
    for request_id, (tx_id, _) in bought.items():
        settled = [
            r
            for r in records(json_lines)
            if r.get("transaction_id") == str(tx_id) and r.get("to_status") == "completed"
        ]
        assert [r["request_id"] for r in settled] == [request_id]
    assert context.get("request_id") is None  # nothing left bound after the batch


def test_a_single_checks_lines_carry_the_purchases_request_id(
    client, db_session, kaspi_stub, json_lines
):
    make_user("origin-buyer")
    tx_id, payment_id = _buy(client, "purchase-single")
    fail_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "failed"
    failed = [
        r
        for r in records(json_lines)
        if r.get("transaction_id") == str(tx_id) and r.get("to_status") == "failed"
    ]
    assert [r["request_id"] for r in failed] == ["purchase-single"]


def test_a_late_checks_lines_carry_the_purchases_request_id(
    client, db_session, kaspi_stub, json_lines
):
    """A payment confirmed after its transaction expired is found by the late sweep's
    check, whose lines carry the purchase's request id too."""
    make_user("origin-buyer")
    tx_id, payment_id = _buy(client, "purchase-late")
    expire_payment(kaspi_stub, payment_id)
    assert reconcile.reconcile(tx_id) == "expired"
    confirm_payment(kaspi_stub, payment_id, force=True)
    assert late.check_late(tx_id) == "completed"
    granted = [
        r
        for r in records(json_lines)
        if r.get("transaction_id") == str(tx_id) and r.get("to_status") == "completed"
    ]
    assert [r["request_id"] for r in granted] == ["purchase-late"]


def test_a_task_sent_from_a_request_carries_its_request_id():
    headers: dict = {}
    tokens = context.bind(request_id="from-request")
    try:
        celery_hooks._carry_request_id(headers=headers)
    finally:
        context.reset(tokens)
    assert headers == {"request_id": "from-request"}


def test_a_task_run_logs_task_id_transaction_and_request(app, db_session, json_lines):
    from app.billing.tasks import check_transaction

    tokens = context.bind(request_id="outer-request")
    try:
        check_transaction.apply(args=["00000000-0000-0000-0000-000000000001"], task_id="task-42")
    finally:
        context.reset(tokens)
    lines = [r for r in records(json_lines) if r.get("task_id") == "task-42"]
    assert lines, json_lines.getvalue()
    assert all(r["transaction_id"] == "00000000-0000-0000-0000-000000000001" for r in lines)
    assert all(r["request_id"] == "outer-request" for r in lines)
    assert context.get("task_id") is None  # the run's context is gone afterwards


def test_console_format_for_development_and_json_otherwise():
    root = logging.getLogger()
    try:
        configure_logging("console")
        ours = [h for h in root.handlers if getattr(h, "_billing_handler", False)]
        assert len(ours) == 1 and not ours[0].formatter.__class__.__name__.startswith("Json")
        configure_logging("json")
        ours = [h for h in root.handlers if getattr(h, "_billing_handler", False)]
        assert len(ours) == 1 and ours[0].formatter.__class__.__name__ == "JsonLineFormatter"
        with pytest.raises(ValueError, match="LOG_FORMAT"):
            configure_logging("xml")
    finally:
        configure_logging("json")


def test_profiles_choose_the_log_format():
    from app.config import PROFILES

    assert PROFILES["development"].LOG_FORMAT == "console"
    assert PROFILES["production"].LOG_FORMAT == "json"
    assert PROFILES["testing"].LOG_FORMAT == "json"
