"""The fiscal worker's Celery tasks: thin calls into the fiscal room (docs/FISCAL.md)."""

from __future__ import annotations

from celery import shared_task

from app.billing.fiscal import issue


@shared_task(name="fiscal.issue_receipts", multi_step=True)
def issue_receipts() -> dict[str, object]:
    """Owe, claim and issue due receipts (steps of its own; the register between them)."""
    result = issue.sweep()
    return {"off": result.off, "owed": result.owed, "outcomes": result.outcomes}


@shared_task(name="fiscal.close_shift", multi_step=True)
def close_shift() -> str:
    """Close the register's shift (Z-report) before it has been open 24 hours."""
    return issue.close_shift()
