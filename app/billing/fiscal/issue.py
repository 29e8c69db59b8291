"""Issuing receipts: the sweep that owes, claims and issues them, never in a payment's path.

One round (``fiscal.issue_receipts``, beat every ``FISCAL_SWEEP_INTERVAL_S``):

1. a step: a pending receipt for every new money fact of the outbox
   (:func:`app.billing.fiscal.states.owe_receipts`), then due receipts leased
   (``FOR UPDATE SKIP LOCKED``, :mod:`app.billing.fiscal.locks`);
2. for each: a step reads what the receipt says; the register is asked between
   steps; a step records the answer — issued (with ``receipt.issued`` in the same
   COMMIT) or a failure with its next attempt.

A worker killed between the register's answer and our COMMIT leaves the receipt
pending; its lease ends, it is asked again with the same external number, and
the register answers with the receipt it already issued (error 14, fetched by
the adapter). After the last wait of ``FISCAL_RETRY_SCHEDULE_S`` a sale's
transaction is held for review as ``receipt_failed`` (through the status path);
the receipt is still tried at the last wait, so it is issued once the register
is back. Settlement and entitlements never wait for any of this.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import current_app

from app.auth.models import User
from app.billing.core import locks as core_locks
from app.billing.core.models import Transaction
from app.billing.core.status import Source, TxStatus, transition
from app.billing.fiscal import locks
from app.billing.fiscal.contents import ContentMissing, Owed, check_request
from app.billing.fiscal.models import Receipt
from app.billing.fiscal.provider import get_register
from app.billing.fiscal.register import (
    CheckRequest,
    IssuedCheck,
    Register,
    RegisterRefused,
    RegisterUnavailable,
)
from app.billing.fiscal.states import PENDING, mark_issued, owe_receipts
from app.db import after_commit, between_steps, step
from app.extensions import db
from app.observability import metrics
from app.observability.context import transaction_log_context

log = logging.getLogger(__name__)

# The review reason of a transaction whose receipt the register never issued.
RECEIPT_FAILED = "receipt_failed"


@dataclass
class Round:
    off: bool = False
    owed: int = 0
    claimed: int = 0
    outcomes: list[str] = field(default_factory=list)


def sweep(now: datetime | None = None) -> Round:
    """One round of the fiscal worker (multi-step: the register is asked between steps)."""
    register = get_register()
    if register is None:
        return Round(off=True)
    config = current_app.config
    moment = now or datetime.now(UTC)
    with step():
        owed = owe_receipts(since=moment - timedelta(days=int(config["FISCAL_LOOKBACK_DAYS"])))
        ids = locks.claim_due_receipts(
            moment,
            int(config["FISCAL_BATCH"]),
            moment + timedelta(seconds=float(config["FISCAL_LEASE_S"])),
        )
    result = Round(owed=owed, claimed=len(ids))
    for receipt_id in ids:
        outcome = issue_one(register, receipt_id)
        result.outcomes.append(outcome)
        if outcome == "unavailable":
            # The register is down: the rest keep their lease and come due after it.
            break
    return result


def issue_one(register: Register, receipt_id: int) -> str:
    """Ask the register for one claimed receipt and record its answer; answers the outcome."""
    request: CheckRequest | None = None
    error, outcome = "", ""
    with step():
        owed = _owed(receipt_id)
        if owed is None:
            return "skipped"
        kind, transaction_id = owed.kind, owed.transaction_id
        try:
            request = check_request(owed.content)
        except ContentMissing as exc:
            error, outcome = str(exc), "refused"
    issued: IssuedCheck | None = None
    if request is not None:
        between_steps()
        try:
            issued = register.issue(request)
        except RegisterUnavailable as exc:
            error, outcome = str(exc), "unavailable"
        except RegisterRefused as exc:
            error, outcome = str(exc), "refused"
    with transaction_log_context(transaction_id):
        with step():
            if issued is not None:
                outcome = _record_issued(receipt_id, issued)
            else:
                outcome = _record_failure(receipt_id, transaction_id, kind, error, outcome)
            _count_at_commit(kind, outcome)
        log.log(
            logging.INFO if outcome in ("issued", "repeated", "skipped") else logging.WARNING,
            "fiscal %s receipt %s: %s%s",
            kind,
            receipt_id,
            outcome,
            f" ({error})" if error else "",
        )
    return outcome


@dataclass(frozen=True)
class _OwedRow:
    kind: str
    transaction_id: uuid.UUID
    content: Owed


def _owed(receipt_id: int) -> _OwedRow | None:
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None or receipt.state != PENDING:
        return None
    tx = db.session.get(Transaction, receipt.transaction_id)
    if tx is None:
        return None
    user = db.session.get(User, tx.user_id)
    return _OwedRow(
        kind=receipt.kind,
        transaction_id=receipt.transaction_id,
        content=Owed(
            kind=receipt.kind,
            amount=Decimal(receipt.amount),
            product_code=tx.product_code,
            quantity=tx.quantity,
            sale_amount=Decimal(tx.amount),
            external_number=receipt.external_number,
            customer_email=user.email if user is not None else None,
        ),
    )


def _record_issued(receipt_id: int, issued: IssuedCheck) -> str:
    receipt = locks.lock_receipt(receipt_id)
    if receipt is None or receipt.state != PENDING:
        return "skipped"  # another worker recorded it (the same receipt: one external number)
    tx = db.session.get(Transaction, receipt.transaction_id)
    tx_data = {
        "user_id": tx.user_id if tx else None,
        "club_id": str(tx.club_id) if tx and tx.club_id else None,
    }
    mark_issued(receipt, issued, tx_data=tx_data)
    return "repeated" if issued.repeated else "issued"


def _record_failure(
    receipt_id: int, transaction_id: uuid.UUID, kind: str, error: str, outcome: str
) -> str:
    now = datetime.now(UTC)
    schedule = tuple(current_app.config["FISCAL_RETRY_SCHEDULE_S"])
    # Lock order: the transaction (a hold changes its status), then the receipt.
    tx = core_locks.lock_transaction(transaction_id)
    receipt = locks.lock_receipt(receipt_id)
    if receipt is None or receipt.state != PENDING:
        return "skipped"
    receipt.attempts += 1
    wait = schedule[min(receipt.attempts, len(schedule)) - 1]
    receipt.next_attempt_at = now + timedelta(seconds=float(wait))
    receipt.last_error = error[:1000]
    if receipt.attempts < len(schedule) or receipt.held_at is not None:
        return outcome
    receipt.held_at = now
    # Only a completed transaction can be held; a refunded one is final, and its
    # receipt's failure shows in the gauges, the alert and `receipts check`.
    if tx is not None and tx.status == TxStatus.COMPLETED:
        transition(
            tx,
            TxStatus.NEEDS_REVIEW,
            source=Source.WORKER,
            note=f"{RECEIPT_FAILED}: the {kind} receipt was not issued after "
            f"{receipt.attempts} attempts: {error}"[:1000],
            now=now,
        )
    return "held"


def _count_at_commit(kind: str, outcome: str) -> None:
    after_commit(lambda: metrics.FISCAL_RECEIPTS.labels(kind, outcome).inc())


def close_shift() -> str:
    """Close the register's shift (Z-report) before it reaches 24 hours."""
    register = get_register()
    if register is None:
        return "off"
    between_steps()
    try:
        register.close_shift()
    except (RegisterUnavailable, RegisterRefused) as exc:
        log.warning("fiscal: closing the shift failed: %s", exc)
        metrics.FISCAL_SHIFT_CLOSES.labels("failed").inc()
        return "failed"
    metrics.FISCAL_SHIFT_CLOSES.labels("closed").inc()
    return "closed"
