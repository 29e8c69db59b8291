"""The status stream's contract in-process: 404 before any byte, the document, CORS, and
the short answer a sync server gives (the stream process is tested in the integration tier)."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from app.billing.stream.stream import serves_many_streams
from tests.conftest import auth
from tests.support.factories import make_transaction, make_user

pytestmark = pytest.mark.db


def events(tx_id: object) -> str:
    return f"/api/billing/transactions/{tx_id}/events"


def ended(reason: str) -> float:
    return REGISTRY.get_sample_value("billing_push_streams_ended_total", {"reason": reason}) or 0.0


def test_a_sync_server_answers_the_state_now_and_a_retry_hint(client):
    before = ended("short_stream")
    tx = make_transaction(make_user("sse-owner"))
    tx.poll_interval_s = 4
    response = client.get(events(tx.id), headers=auth("sse-owner"))
    assert not serves_many_streams()
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"].startswith("no-cache")
    body = response.get_data(as_text=True)
    first, hint = body.split("\n\n")[:2]
    assert first.startswith("id: 0\nevent: status\ndata: ")
    assert f'"transaction_id":"{tx.id}"' in first
    assert '"status":"pending"' in first
    # Come back in one poll interval: no sync worker is held by a stream.
    assert hint == "retry: 4000"
    assert ended("short_stream") == before + 1


def test_a_final_transaction_is_sent_and_the_stream_ends(client):
    tx = make_transaction(make_user("sse-done"), status="completed")
    body = client.get(events(tx.id), headers=auth("sse-done")).get_data(as_text=True)
    assert '"status":"completed"' in body
    assert "retry:" not in body


@pytest.mark.parametrize("path_id", ["other", "missing", "not-a-uuid"])
def test_not_yours_missing_or_malformed_is_404_json(client, path_id):
    tx = make_transaction(make_user("sse-someone"))
    target = {"other": tx.id, "missing": uuid.uuid4(), "not-a-uuid": "abc"}[path_id]
    response = client.get(events(target), headers=auth("sse-intruder"))
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "TRANSACTION_NOT_FOUND"


def test_without_a_token_401(client):
    response = client.get(events(uuid.uuid4()))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "UNAUTHENTICATED"


def test_cross_origin_only_for_allowed_origins(app, client):
    app.config["PUSH_ALLOWED_ORIGINS"] = "http://127.0.0.1:8000, http://localhost:8000"
    try:
        allowed = client.options(events(uuid.uuid4()), headers={"Origin": "http://127.0.0.1:8000"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
        assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
        assert "Last-Event-ID" in allowed.headers["Access-Control-Allow-Headers"]
        other = client.options(events(uuid.uuid4()), headers={"Origin": "http://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        # Other routes never answer cross-origin.
        status = client.options(
            "/api/billing/transactions/status", headers={"Origin": "http://127.0.0.1:8000"}
        )
        assert "Access-Control-Allow-Origin" not in status.headers
    finally:
        app.config["PUSH_ALLOWED_ORIGINS"] = ""


def test_the_document_describes_the_stream(client):
    doc = client.get("/openapi.json").get_json()
    op = doc["paths"]["/api/billing/transactions/{transaction_id}/events"]["get"]
    ok = op["responses"]["200"]["content"]["text/event-stream"]
    data = ok["schema"]["properties"]["data"]
    assert data["contentSchema"] == {"$ref": "#/components/schemas/TransactionStatusOut"}
    assert op["responses"]["404"]
    assert any(p["name"] == "Last-Event-ID" and p["in"] == "header" for p in op["parameters"])


def test_the_page_names_its_stream_and_may_connect_to_it(app, client):
    app.config["PUSH_PUBLIC_URL"] = "http://127.0.0.1:8001"
    try:
        page = client.get("/")
        assert 'data-stream-url="http://127.0.0.1:8001"' in page.get_data(as_text=True)
        policy = page.headers["Content-Security-Policy"]
        assert "connect-src 'self' http://127.0.0.1:8001;" in policy
    finally:
        app.config["PUSH_PUBLIC_URL"] = ""
    # No stream configured: the page polls, and connects to its own origin only.
    page = client.get("/")
    assert "data-stream-url" not in page.get_data(as_text=True)
    assert "connect-src 'self';" in page.headers["Content-Security-Policy"]
