"""CELERY_QUEUE_TYPE: quorum settings on RabbitMQ only, classic by default."""

from __future__ import annotations

import pytest

from app.broker_queues import queue_type_settings
from app.config import ConfigError

pytestmark = pytest.mark.unit


def test_quorum_on_rabbitmq_sets_the_queue_type_and_a_topic_exchange():
    settings = queue_type_settings("quorum", "amqp")
    assert settings["task_default_queue_type"] == "quorum"
    assert settings["task_default_exchange_type"] == "topic"
    assert settings["worker_detect_quorum_queues"] is True


@pytest.mark.parametrize(("queue_type", "kind"), [("classic", "amqp"), ("quorum", "redis")])
def test_classic_or_redis_changes_nothing(queue_type, kind):
    assert queue_type_settings(queue_type, kind) == {}


def test_an_unknown_type_is_refused():
    with pytest.raises(ConfigError, match="CELERY_QUEUE_TYPE"):
        queue_type_settings("stream", "amqp")
