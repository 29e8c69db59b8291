"""Broker settings: each broker gets its own transport options; the consumer retries fast."""

from __future__ import annotations

import pytest

import celeryconfig
from app import broker
from app.celery_app import queue_settings

pytestmark = pytest.mark.unit


def test_redis_gets_a_visibility_timeout_longer_than_any_retry_countdown():
    from app.billing.tasks import check_transaction

    options = broker.transport_options("redis://127.0.0.1:6379/0")
    assert options["visibility_timeout"] > check_transaction.retry_backoff_max
    assert options["socket_keepalive"] and options["health_check_interval"] > 0
    assert "confirm_publish" not in options


@pytest.mark.parametrize("url", ["amqp://guest:guest@mq:5672//", "pyamqp://mq//"])
def test_rabbitmq_confirms_publishes_and_has_no_visibility_timeout(url):
    options = broker.transport_options(url)
    assert options == {"confirm_publish": True}


def test_workers_keep_retrying_a_lost_broker_forever_with_late_acks():
    assert celeryconfig.broker_connection_retry_on_startup is True
    assert celeryconfig.broker_connection_max_retries is None
    assert celeryconfig.task_acks_late and celeryconfig.task_reject_on_worker_lost
    assert celeryconfig.worker_cancel_long_running_tasks_on_connection_loss is True
    assert celeryconfig.worker_consumer == "app.broker:Consumer"
    assert broker.RECONNECT_INTERVAL_MAX_S <= 2


def test_a_named_queue_brings_its_own_exchanges():
    assert queue_settings("celery") == {}
    named = queue_settings("billing-a")
    assert named["task_default_queue"] == named["task_default_exchange"] == "billing-a"
    assert named["control_exchange"] == "billing-a" and named["event_exchange"] == "billing-aev"
