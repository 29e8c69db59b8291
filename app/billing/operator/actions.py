"""An operator's actions from the console (``/api/ops/...``), each audited.

The console resolves and refunds through the very services the CLI uses
(:func:`app.billing.operator.review.resolve`, :mod:`app.billing.operator.refunds`),
so the locks, the refund sequence and the status path are the same whoever clicks.
What this module adds is the audit of who asked and why: an ``operator_actions``
row written in a step of its own *before* the action runs (a crash mid-refund
still leaves the request on record), then finished with its outcome — done with
the resulting status, or refused with the refusal's code and message.

Two operators clicking at once cannot move money twice: the services lock the
transaction and refuse a second refund while one is under way (an open refund
attempt) or once it is done (the status moved); the second click is audited as
refused.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from app.billing.core.models import OperatorAction, Transaction
from app.billing.core.status import Source
from app.billing.operator import refunds, review
from app.billing.refund.sequence import Refunded
from app.db import after_commit, step
from app.domain_errors import DomainError, InvalidRequest, NotFound
from app.extensions import db
from app.observability import metrics
from app.observability.context import transaction_log_context

log = logging.getLogger(__name__)

# The reason an operator gives, as long as the console lets it be.
MAX_REASON = 500


class Action(StrEnum):
    RESOLVE_GRANT = "resolve_grant"
    RESOLVE_REFUND = "resolve_refund"
    RESOLVE_FAIL = "resolve_fail"
    REFUND = "refund"
    REFUND_UNUSED = "refund_unused"


class Outcome(StrEnum):
    ASKED = "asked"
    DONE = "done"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(frozen=True)
class Acted:
    """How an action ended, read after it: the transaction as it now stands."""

    action_id: int
    transaction_id: uuid.UUID
    status: str
    refunded_amount: Decimal
    # A refund's own account (what it returned, the credits it revoked); None for a resolve.
    refund: Refunded | None = None


def resolve(transaction_id: uuid.UUID, action: str, *, reason: str, operator_id: str) -> Acted:
    """``billing resolve`` from the console: grant, refund or fail a held transaction."""
    note = _note(reason, operator_id)
    return _operate(
        transaction_id,
        Action(f"resolve_{action}"),
        operator_id,
        reason,
        None,
        lambda: review.resolve(transaction_id, action, note),
    )


def refund(
    transaction_id: uuid.UUID,
    *,
    unused: bool,
    amount: Decimal | None,
    reason: str,
    operator_id: str,
) -> Acted:
    """``billing refund [--unused]`` from the console; ``amount``, when given, is the
    amount the operator confirmed: a refund that would return another is refused."""
    note = _note(reason, operator_id)
    run = refunds.refund_unused if unused else refunds.refund
    return _operate(
        transaction_id,
        Action.REFUND_UNUSED if unused else Action.REFUND,
        operator_id,
        reason,
        amount,
        lambda: run(transaction_id, source=Source.CLI, note=note, expect=amount),
    )


def _note(reason: str, operator_id: str) -> str:
    """The audit note of the status change: the reason and who gave it."""
    return f"{reason.strip()} (operator {operator_id})"


def _operate(
    transaction_id: uuid.UUID,
    action: Action,
    operator_id: str,
    reason: str,
    amount: Decimal | None,
    run: Callable[[], object],
) -> Acted:
    if not reason.strip():
        raise InvalidRequest(
            "VALIDATION_ERROR",
            "a reason is required (kept in the audit)",
            details=[{"field": "reason", "message": "is required", "type": "value_error"}],
        )
    with step():
        found = db.session.execute(
            select(Transaction.id, Transaction.origin_request_id).where(
                Transaction.id == transaction_id
            )
        ).first()
        if found is None:
            raise NotFound("TRANSACTION_NOT_FOUND", "Transaction not found")
        origin = found.origin_request_id
        row = OperatorAction(
            transaction_id=transaction_id,
            operator_id=operator_id,
            action=action,
            reason=reason.strip(),
            amount=amount,
            outcome=Outcome.ASKED,
        )
        db.session.add(row)
        db.session.flush()
        action_id = row.id
    with transaction_log_context(transaction_id, origin):
        log.info("operator %s asks %s: %s", operator_id, action, reason.strip())
        try:
            # The services run their own steps; the transaction is read afresh below.
            result = run()
        except DomainError as exc:
            _finish(action_id, action, Outcome.REFUSED, f"{exc.code}: {exc.message}")
            log.warning("operator %s: %s refused (%s)", operator_id, action, exc.code)
            raise
        except Exception as exc:
            try:
                _finish(action_id, action, Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            except Exception:  # the database itself failed: the row stays "asked"
                log.exception("operator action %s: its outcome could not be recorded", action_id)
            raise
        acted = _finish(action_id, action, Outcome.DONE, None)
        log.info("operator %s: %s done, now %s", operator_id, action, acted.status)
        if isinstance(result, Refunded):  # a plain value, safe after its COMMIT
            return replace(acted, refund=result)
        return acted


def _finish(action_id: int, action: Action, outcome: Outcome, detail: str | None) -> Acted:
    with step():
        row = db.session.get_one(OperatorAction, action_id)
        tx = db.session.get_one(Transaction, row.transaction_id)
        row.outcome = outcome
        row.detail = detail if detail is not None else f"now {tx.status}"
        row.finished_at = datetime.now(UTC)
        acted = Acted(action_id, tx.id, tx.status, tx.refunded_amount)
        after_commit(lambda: metrics.OPERATOR_ACTIONS.labels(action.value, outcome.value).inc())
    return acted
