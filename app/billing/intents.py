"""Purchase intents: price from the catalog, a pending transaction, a Kaspi payment.

The provider is called outside any database transaction: the pending row is
committed first (its id is the provider's ExternalId, which makes the create
call idempotent), then Kaspi is asked for a payment link, then the link is
stored. A crash between the steps leaves a pending row the poller completes.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app import locking
from app.auth.models import User
from app.billing import idempotency
from app.billing import status as sm
from app.billing.kaspi_client import CreatedPayment, ProviderRejected, ProviderUnavailable
from app.billing.models import Transaction
from app.billing.provider import PROVIDER_NAME, get_provider
from app.billing.schemas import PurchaseIntentIn, intent_out
from app.catalog.models import Product
from app.catalog.services import get_policy, get_product
from app.clubs.models import Club, ClubMember
from app.db import commit, rollback
from app.errors import ApiError
from app.extensions import db
from app.money import quantize

log = logging.getLogger(__name__)
# Until the provider answers, the poller leaves the row alone this long; after it,
# the poller asks the provider (idempotently) for the payment a crash lost.
CREATE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class IntentResult:
    status: int
    body: dict
    replayed: bool = False


def create_purchase_intent(
    user: User, body: PurchaseIntentIn, idempotency_key: str | None
) -> IntentResult:
    product = _purchasable_product(body)
    _check_club(user, product, body)
    resumed = None
    if idempotency_key is not None:
        fingerprint = idempotency.request_fingerprint(body.model_dump(mode="json"))
        claimed = idempotency.claim(user.id, idempotency_key, fingerprint)
        commit()
        if isinstance(claimed, idempotency.Replay):
            return IntentResult(claimed.status, claimed.body, replayed=True)
        if isinstance(claimed, idempotency.Resume):
            resumed = _resumable(claimed.transaction_id, user.id)

    tx = resumed or _create_pending(user, product, body)
    if idempotency_key is not None and resumed is None:
        idempotency.bind_transaction(user.id, idempotency_key, tx.id)
    # Read before the commit: touching the expired object afterwards would open a
    # new database transaction and hold it across the provider call.
    tx_id, amount, user_id = tx.id, tx.amount, user.id
    commit()
    try:
        payment = get_provider().create_payment(str(tx_id), amount)
    except (ProviderUnavailable, ProviderRejected) as exc:
        log.warning("provider refused or failed to create payment for %s: %s", tx_id, exc)
        _abandon(tx_id, idempotency_key, user_id)
        commit()
        raise ApiError(
            503,
            "PROVIDER_UNAVAILABLE",
            "The payment provider is unavailable; nothing was charged. Try again.",
            headers={"Retry-After": "5"},
        ) from exc
    except Exception:
        # Not the provider's answer (a bug, a bad amount): still leave nothing half-made.
        rollback()
        _abandon(tx_id, idempotency_key, user_id)
        commit()
        raise

    tx = attach_payment(tx_id, payment)
    response = intent_out(tx).model_dump(mode="json")
    if idempotency_key is not None:
        idempotency.complete(user_id, idempotency_key, 201, response)
    return IntentResult(201, response)


def _resumable(transaction_id: uuid.UUID | None, user_id: str) -> Transaction | None:
    """The crashed first request's transaction, if it can still be paid."""
    if transaction_id is None:
        return None
    tx = db.session.get(Transaction, transaction_id)
    if tx is None or tx.user_id != user_id or tx.status != sm.PENDING:
        return None
    return tx


def _purchasable_product(body: PurchaseIntentIn) -> Product:
    product = get_product(body.product_code)
    if product is None:
        raise ApiError(404, "PRODUCT_NOT_FOUND", f"No product {body.product_code}")
    if not product.active:
        raise ApiError(400, "PRODUCT_INACTIVE", f"Product {product.code} is not on sale")
    return product


def _check_club(user: User, product: Product, body: PurchaseIntentIn) -> None:
    if product.type != "plan":
        if body.club_id is not None:
            raise _field_error("club_id", "only club plans are bought for a club")
        return
    if body.club_id is None:
        raise _field_error("club_id", "required for club plans")
    if body.quantity != 1:
        raise _field_error("quantity", "club plans are bought one period at a time")
    role = db.session.scalar(
        select(ClubMember.role).where(
            ClubMember.club_id == body.club_id, ClubMember.user_id == user.id
        )
    )
    if role is None or db.session.get(Club, body.club_id) is None:
        # Non-members learn nothing about whether the club exists.
        raise ApiError(404, "CLUB_NOT_FOUND", "Club not found")
    if role != "owner":
        raise ApiError(403, "FORBIDDEN", "Only the club owner can buy a plan")


def _field_error(field: str, message: str) -> ApiError:
    return ApiError(
        400,
        "VALIDATION_ERROR",
        "Invalid request",
        details=[{"field": field, "message": message, "type": "value_error"}],
    )


def _create_pending(user: User, product: Product, body: PurchaseIntentIn) -> Transaction:
    now = datetime.now(UTC)
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user.id,
        product_code=product.code,
        club_id=body.club_id,
        quantity=body.quantity,
        amount=quantize(product.price * body.quantity),
        currency=product.currency,
        status=sm.PENDING,
        provider=PROVIDER_NAME,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=get_policy().pending_ttl_minutes),
        next_poll_at=now + CREATE_GRACE,
    )
    db.session.add(tx)
    db.session.flush()
    sm.record_creation(tx, source="api")
    return tx


def attach_payment(transaction_id: uuid.UUID, payment: CreatedPayment) -> Transaction:
    """Store the provider's payment on the transaction and schedule its first poll."""
    tx = locking.lock_transaction(transaction_id)
    tx.provider_payment_id = str(payment.payment_id)
    tx.payment_url = payment.payment_url
    tx.provider_expires_at = payment.expires_at
    tx.poll_interval_s = max(1, int(payment.poll_interval_s))
    if tx.status == sm.PENDING:
        delay = current_app.config["POLL_INITIAL_DELAY_S"]
        tx.next_poll_at = datetime.now(UTC) + timedelta(seconds=delay)
    db.session.flush()
    return tx


def _abandon(transaction_id: uuid.UUID, idempotency_key: str | None, user_id: str) -> None:
    """No payment link was handed out, so nobody can pay: close the row as failed."""
    tx = locking.lock_transaction(transaction_id)
    if tx is not None and tx.status == sm.PENDING:
        sm.transition(tx, sm.FAILED, source="api", note="provider unavailable at creation")
    if idempotency_key is not None:
        idempotency.release(user_id, idempotency_key)
