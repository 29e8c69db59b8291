"""Operability with real processes: one request id from the purchase to the worker's
settle line, JSON-only logs, multiprocess metrics on the API and the worker's own
port, and the worker's liveness heartbeat."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support import broker_loss
from tests.support.processes import ROOT, wait_until
from tests.support.stub_server import confirm_payment, reset_faults

pytestmark = pytest.mark.integration


def json_records(path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    bad = [line for line in lines if not line.startswith("{")]
    assert not bad, f"non-JSON lines in {path.name}: {bad[:3]}"
    return [json.loads(line) for line in lines]


def samples(url: str) -> dict[tuple, float]:
    text = requests.get(url, timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return found


def metric(found: dict[tuple, float], name: str, **labels: str) -> float | None:
    return found.get((name, *sorted(labels.items())))


def heartbeat_ok(path, max_age: float) -> bool:
    argv = [
        sys.executable,
        "-m",
        "app.observability.heartbeat",
        str(path),
        "--max-age",
        str(max_age),
    ]
    return (
        subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, timeout=30).returncode == 0
    )


@pytest.fixture
def stack(clean_db, app_config, kaspi_stub, tmp_path):
    reset_faults(kaspi_stub)
    env = service_env(
        app_config, KASPI_BASE_URL=kaspi_stub, POLL_INITIAL_DELAY_S="0.3", POLL_MAX_DELAY_S="1"
    )
    running = broker_loss.start_stack(env, tmp_path, "obs")
    yield running
    running.stop()


def test_one_request_id_from_purchase_to_settlement_with_metrics(stack, kaspi_stub):
    request_id = f"purchase-{uuid.uuid4().hex}"
    response = requests.post(
        f"{stack.api_url}/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500"},
        headers={**auth("obs-buyer"), "X-Request-ID": request_id},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == request_id
    body = response.json()
    tx_id = body["transaction_id"]
    confirm_payment(kaspi_stub, body["payment"]["payment_id"])

    def settle_line():
        for record in json_records(stack.worker.log_path):
            if record.get("transaction_id") == tx_id and record.get("to_status") == "completed":
                return record
        return None

    line = wait_until(settle_line, timeout=60, interval=0.2, message="the worker's settle line")
    # The check that settled was sent by beat's sweep, not by the request: it still
    # carries the purchase's request id, with its own task id.
    assert line["request_id"] == request_id
    assert line["task_id"] and line["task_name"] == "billing.check_batch"
    assert line["logger"] == "billing.transitions" and line["source"] == "worker"
    assert {"timestamp", "level", "message"} <= set(line)
    api_lines = [r for r in json_records(stack.api.log_path) if r.get("request_id") == request_id]
    assert any(r.get("to_status") == "pending" and r["user_id"] == "obs-buyer" for r in api_lines)
    json_records(stack.beat.log_path)  # beat's lines are JSON too

    api = samples(f"{stack.api_url}/metrics")  # summed over both gunicorn workers
    intents = metric(
        api,
        "billing_http_requests_total",
        endpoint="/api/billing/purchase-intent",
        method="POST",
        status="201",
    )
    assert intents == 1
    creation = {"from_status": "none", "to_status": "pending", "source": "api"}
    assert metric(api, "billing_transaction_transitions_total", **creation) == 1
    links = metric(api, "billing_kaspi_requests_total", endpoint="create-link", outcome="ok")
    assert links == 1
    assert metric(api, "billing_transactions_pending") == 0
    assert metric(api, "billing_db_gauges_up") == 1

    worker = samples(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics")
    completion = {"from_status": "pending", "to_status": "completed", "source": "worker"}
    assert metric(worker, "billing_transaction_transitions_total", **completion) == 1
    settle_time = "billing_transaction_time_to_settle_seconds_count"
    assert metric(worker, settle_time, to_status="completed") == 1
    runs = "billing_celery_task_runs_total"
    assert metric(worker, runs, task="billing.check_batch") >= 1
    assert metric(worker, runs, task="billing.poll_due_transactions") >= 1
    assert metric(worker, "billing_sweep_lag_seconds_count") >= 1
    polls = metric(worker, "billing_kaspi_requests_total", endpoint="payment-status", outcome="ok")
    assert polls >= 1


def test_worker_heartbeat_is_fresh_while_it_runs_and_stale_after(stack):
    wait_until(
        lambda: heartbeat_ok(stack.heartbeat_file, 5),
        timeout=60,
        interval=0.5,
        message="a fresh worker heartbeat",
    )
    stack.worker.stop()
    wait_until(
        lambda: not heartbeat_ok(stack.heartbeat_file, 3),
        timeout=30,
        interval=0.5,
        message="the heartbeat to go stale",
    )
