"""The relay task: woken after a COMMIT that queued deliveries, and by beat."""

from __future__ import annotations

from celery import shared_task

from app.webhooks import relay


@shared_task(name="webhooks.relay", multi_step=True)
def relay_deliveries() -> int:
    """Deliver what is due (steps of its own; the POSTs between them)."""
    return relay.relay()
