"""/healthz answers while the process lives; /readyz names the dependency that does not."""

from __future__ import annotations

import pytest

from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.db


@pytest.fixture
def own_redis(app, tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=False).start()
    yield server
    server.stop()
    # create_app makes its Celery app the default; give the session's back.
    app.extensions["celery"].set_default()


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"postgres", "redis", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_redis_while_it_is_down_and_recovers(make_app, own_redis):
    app = make_app(REDIS_URL=own_redis.url, READINESS_TIMEOUT_S=1.0)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    own_redis.kill9()
    down = client.get("/readyz")
    assert down.status_code == 503
    error = down.get_json()["error"]
    assert error["code"] == "NOT_READY"
    # The broker defaults to the same Redis, so both are named; PostgreSQL is fine.
    assert error["failed"] == ["redis", "broker"]
    assert "redis" in error["message"]
    assert error["checks"]["postgres"]["ok"] is True
    assert error["request_id"] == down.headers["X-Request-ID"]
    assert client.get("/healthz").status_code == 200  # liveness does not depend on Redis

    own_redis.start()
    assert client.get("/readyz").status_code == 200


def test_readyz_names_only_the_broker_when_it_is_separate_and_down(make_app, own_redis):
    from tests.support.processes import free_port

    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    app = make_app(CELERY_BROKER_URL=dead_broker, READINESS_TIMEOUT_S=1.0)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["failed"] == ["broker"]
