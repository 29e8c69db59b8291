"""The task queue's type on RabbitMQ: ``CELERY_QUEUE_TYPE`` = ``classic`` (the default)
or ``quorum``.

A quorum queue is replicated over the RabbitMQ cluster's nodes (Raft), so losing one
node loses no task. Celery (5.5 on) then:

- declares the queue with ``x-queue-type: quorum`` (``task_default_queue_type``);
- turns off global QoS, which quorum queues refuse (``worker_detect_quorum_queues``);
- delays tasks with a countdown or ETA (the poll backoff) with RabbitMQ's *native
  delayed delivery*: delay-level quorum queues and topic exchanges it declares, instead
  of the worker holding the message until it is due. It needs the task exchange to be
  a topic exchange, hence ``task_default_exchange_type``.

An existing classic queue cannot change type in place: switch with a new queue name
(``CELERY_QUEUE``), drain the old one, then retire it. Publisher confirms are on for
RabbitMQ either way (``app.broker.AMQP_TRANSPORT_OPTIONS``).
"""

from __future__ import annotations

from app.config import ConfigError

QUEUE_TYPES = ("classic", "quorum")


def queue_type_settings(queue_type: str, broker_kind: str) -> dict[str, object]:
    if queue_type not in QUEUE_TYPES:
        raise ConfigError(f"CELERY_QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}")
    if queue_type == "classic" or broker_kind != "amqp":
        return {}
    return {
        "task_default_queue_type": "quorum",
        "task_default_exchange_type": "topic",
        "worker_detect_quorum_queues": True,
        "broker_native_delayed_delivery_queue_type": "quorum",
    }
