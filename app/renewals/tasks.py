"""Celery tasks for renewals."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from app.renewals import reminders


@shared_task(name="renewals.send_reminders")
def send_reminders() -> int:
    return len(reminders.send_due(datetime.now(UTC)))
