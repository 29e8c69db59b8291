"""What a check of one transaction ended in: the settle room's answers, counted by
the batch (``{"completed": 18, "waiting": 2}``) and returned by the tasks."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # The transaction moved.
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"
    # Kaspi has no final answer yet; the next check was scheduled.
    WAITING = "waiting"
    # The payment link a crashed request lost was recovered from Kaspi.
    PAYMENT_RECOVERED = "payment_recovered"
    # The request creating the link may still be running: not asked yet.
    CREATING = "creating"
    # Nothing to do: someone else made the same change first, or the row left the
    # state the check was about.
    UNCHANGED = "unchanged"
    NOT_PENDING = "not_pending"
    NOT_CLOSED = "not_closed"
    NOT_FOUND = "not_found"
    # Kaspi reports a payment for a transaction we closed meanwhile: the late-payment
    # sweep applies the policy to it.
    CONFLICT = "conflict"
    # A closed transaction that Kaspi still reports unpaid.
    UNPAID = "unpaid"
    # Kaspi did not answer (the check comes due again), or applying failed.
    UNAVAILABLE = "unavailable"
    ERROR = "error"
    # A late payment's refund: no answer from Kaspi (held for review) or not sent.
    REFUND_UNKNOWN = "refund_unknown"
    REFUND_UNAVAILABLE = "refund_unavailable"
