"""Celery wired the way Flask's Celery pattern does it: tasks run in an app context."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery import Celery, Task
from flask import Flask

from app import broker
from app.broker_queues import queue_type_settings
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
        **queue_type_settings(
            app.config.get("CELERY_QUEUE_TYPE", "classic"),
            broker.kind(app.config["CELERY_BROKER_URL"]),
        ),
        task_always_eager=app.config.get("CELERY_TASK_ALWAYS_EAGER", False),
        beat_schedule=beat_schedule(app.config),
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    celery_hooks.install(celery_app, app)
    return celery_app


def beat_schedule(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The periodic tasks beat sends, at the intervals the settings give."""
    sweep, late = config["SWEEP_INTERVAL_S"], config["LATE_SWEEP_INTERVAL_S"]
    return {
        "poll-due-transactions": _every(sweep, "billing.poll_due_transactions"),
        "expire-stale-intents": _every(sweep * 5, "billing.expire_stale_transactions"),
        # Late money: re-ask Kaspi about transactions closed without a payment.
        "late-payment-sweep": _every(late, "billing.sweep_late_payments"),
        # Refunds whose answer was lost: re-ask Kaspi until the outcome is known.
        "unknown-refund-sweep": _every(late, "billing.sweep_unknown_refunds"),
        "subscription-lifecycle": _every(
            config["LIFECYCLE_INTERVAL_S"], "clubs.advance_subscriptions"
        ),
        # subscription.renewal_due at the policy's reminder days (exactly once each).
        "renewal-reminders": _every(config["LIFECYCLE_INTERVAL_S"], "renewals.send_reminders"),
        # Deliveries whose wake-up was lost, retries come due, leases run out.
        "webhook-relay": _every(config["WEBHOOK_RELAY_INTERVAL_S"], "webhooks.relay"),
        "purge-idempotency-records": {
            "task": "billing.purge_idempotency_records",
            "schedule": timedelta(hours=1),
        },
        # Fiscal receipts (docs/FISCAL.md): owed from the outbox, issued with retries;
        # the register's shift closed before it has been open 24 hours.
        "fiscal-receipts": _every(config["FISCAL_SWEEP_INTERVAL_S"], "fiscal.issue_receipts"),
        "fiscal-close-shift": _every(config["FISCAL_SHIFT_CLOSE_S"], "fiscal.close_shift"),
    }


def _every(seconds: float, task: str) -> dict[str, Any]:
    # A sweep nobody ran in time is superseded by the next one.
    return {
        "task": task,
        "schedule": timedelta(seconds=seconds),
        "options": {"expires": seconds},
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
