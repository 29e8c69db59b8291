"""Workers survive losing a Redis broker: SIGKILL five times, 20 s down each, 200 payments.

The Redis here is the test's own (its own port and data directory, AOF on as a
production broker would run); the machine's Redis is never touched. Shorter
runs for development: BROKER_LOSS_KILLS, BROKER_LOSS_DOWN_S, BROKER_LOSS_INTENTS.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import service_env
from tests.support import broker_loss
from tests.support.redis_server import RedisServer
from tests.support.stub_server import reset_faults

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def redis_broker(tmp_path):
    server = RedisServer(tmp_path / "redis-broker", appendonly=True, name="broker-redis").start()
    yield server
    server.stop()


def test_every_payment_settles_exactly_once_across_redis_kills(
    clean_db, app, app_config, kaspi_stub, redis_broker, tmp_path
):
    reset_faults(kaspi_stub)
    env = service_env(
        app_config,
        KASPI_BASE_URL=kaspi_stub,
        REDIS_URL=redis_broker.url,
        POLL_INITIAL_DELAY_S="0.5",
        POLL_MAX_DELAY_S="3",
        SWEEP_INTERVAL_S="0.5",
    )
    outcome = broker_loss.survive_kills(
        app=app,
        env=env,
        tmp_path=tmp_path,
        stub_url=kaspi_stub,
        kill=redis_broker.kill9,
        restart=redis_broker.start,
        label="redis",
    )
    # While Redis was down, readiness said so, naming it.
    assert all(r["status"] == 503 and "redis" in r["failed"] for r in outcome.readyz_while_down), (
        outcome.readyz_while_down
    )


def test_closing_a_lost_redis_connection_does_not_kill_the_worker(tmp_path):
    """kombu's teardown bug behind issue 11's "Unrecoverable error", made deterministic."""
    from kombu import Connection, Exchange, Queue

    from app.broker import close_quietly

    server = RedisServer(tmp_path / "redis-teardown", appendonly=False).start()
    try:
        queue = Queue("teardown", Exchange("teardown"), "teardown")
        connections = []
        for _ in range(2):
            conn = Connection(server.url)
            with conn.Producer() as producer:
                producer.publish(
                    {"n": 1}, exchange=queue.exchange, routing_key="teardown", declare=[queue]
                )
            # A message taken and not acknowledged (acks_late), as a running task holds it.
            assert conn.default_channel.basic_get("teardown", no_ack=False) is not None
            connections.append(conn)
    finally:
        server.kill9()
    for conn in connections:
        conn._do_close_transport()  # what collect() leaves when closing timed out
    bare, guarded = connections
    with pytest.raises(AttributeError, match="hostname"):
        bare.close()  # the library's own behaviour: this is what killed the worker
    close_quietly(guarded.close)  # ours carries on
