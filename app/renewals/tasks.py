"""Celery tasks for renewals."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from app.catalog import services as catalog
from app.db import step
from app.renewals import invoices, reminders


@shared_task(name="renewals.send_reminders", multi_step=True)
def send_reminders() -> int:
    """The reminders due now, in one step; then, if the policy says so, each period's
    first reminder also goes to the owner's phone as a Kaspi invoice (a provider call
    each, outside any database transaction)."""
    now = datetime.now(UTC)
    with step():
        sent = reminders.send_due(now)
        push = bool(catalog.get_policy().renewal_invoice_to_phone)
        firsts = [s.club_id for s in reminders.firsts_of_their_period(sent)] if push else []
    for club_id in firsts:
        invoices.send_invoice(club_id, now)
    return len(sent)
