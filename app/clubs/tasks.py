"""Celery tasks for club subscriptions."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from app.clubs import subscriptions


@shared_task(name="clubs.advance_subscriptions")
def advance_subscriptions() -> dict[str, int]:
    return subscriptions.advance_due(datetime.now(UTC))
