"""Celery wired the way Flask's Celery pattern does it: tasks run in an app context."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery import Celery, Task
from flask import Flask

from app import broker
from app.db import edge
from app.observability import celery_hooks


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        """Runs in an app context, as one database step (commit on success, rollback on error).

        A task declared with ``multi_step=True`` calls the provider between steps of
        its own; the base then only makes sure it leaves nothing open. Follow-up
        tasks are sent with ``app.db.after_commit`` so they only leave once this
        task's writes are durable.
        """

        multi_step = False

        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context(), edge(multi_step=self.multi_step):
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object("celeryconfig")
    celery_app.conf.update(
        # Broker (RabbitMQ in production, Redis by default) and the result backend
        # (Redis) are separate settings: see celeryconfig.py for the resilience ones.
        broker_url=app.config["CELERY_BROKER_URL"],
        broker_transport_options=broker.transport_options(app.config["CELERY_BROKER_URL"]),
        result_backend=app.config["REDIS_URL"],
        **queue_settings(app.config["CELERY_QUEUE"]),
        task_always_eager=app.config.get("CELERY_TASK_ALWAYS_EAGER", False),
        beat_schedule=beat_schedule(app.config),
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    celery_hooks.install(celery_app, app)
    return celery_app


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The periodic tasks beat sends, at the intervals the settings give."""
    return {
        "poll-due-transactions": {
            "task": "billing.poll_due_transactions",
            "schedule": timedelta(seconds=config["SWEEP_INTERVAL_S"]),
            # A sweep nobody ran in time is superseded by the next one.
            "options": {"expires": config["SWEEP_INTERVAL_S"]},
        },
        "expire-stale-intents": {
            "task": "billing.expire_stale_transactions",
            "schedule": timedelta(seconds=config["SWEEP_INTERVAL_S"] * 5),
            "options": {"expires": config["SWEEP_INTERVAL_S"] * 5},
        },
        # Late money: re-ask Kaspi about transactions closed without a payment.
        "late-payment-sweep": {
            "task": "billing.sweep_late_payments",
            "schedule": timedelta(seconds=config["LATE_SWEEP_INTERVAL_S"]),
            "options": {"expires": config["LATE_SWEEP_INTERVAL_S"]},
        },
        # Refunds whose answer was lost: re-ask Kaspi until the outcome is known.
        "unknown-refund-sweep": {
            "task": "billing.sweep_unknown_refunds",
            "schedule": timedelta(seconds=config["LATE_SWEEP_INTERVAL_S"]),
            "options": {"expires": config["LATE_SWEEP_INTERVAL_S"]},
        },
        "subscription-lifecycle": {
            "task": "clubs.advance_subscriptions",
            "schedule": timedelta(seconds=config["LIFECYCLE_INTERVAL_S"]),
            "options": {"expires": config["LIFECYCLE_INTERVAL_S"]},
        },
        "purge-idempotency-records": {
            "task": "billing.purge_idempotency_records",
            "schedule": timedelta(hours=1),
        },
    }


def queue_settings(name: str) -> dict[str, str]:
    """Task queue ``name`` (durable); remote control and events get their own exchanges
    when it is not the default, so two deployments can share one broker vhost."""
    if name == "celery":
        return {}
    return {
        "task_default_queue": name,
        "task_default_exchange": name,
        "task_default_routing_key": name,
        "control_exchange": name,
        "event_exchange": f"{name}ev",
    }
