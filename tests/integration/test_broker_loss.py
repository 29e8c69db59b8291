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

pytestmark = pytest.mark.integration


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
