"""Purchase intents: price from the catalog, a pending transaction, a Kaspi payment.

The provider is called outside any database transaction: the pending row is
committed in a step of its own (its id is the provider's ExternalId, which makes
the create call idempotent), then Kaspi is asked for a payment link, then the link
is stored in a second step. A crash between the steps leaves a pending row the
poller completes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, case, select, update

from app import locking
from app.billing import idempotency
from app.billing.kaspi_client import CreatedPayment, ProviderRejected, ProviderUnavailable
from app.billing.models import Transaction
from app.billing.provider import PROVIDER_NAME, get_provider
from app.billing.schemas import PurchaseIntentIn, intent_out
from app.billing.transitions import Source, TxStatus, record_creation, transition
from app.catalog.services import ProductView, get_policy, get_product
from app.clubs.models import Club, ClubMember
from app.db import outside_transaction, step
from app.domain_errors import Forbidden, InvalidRequest, NotFound, Unavailable, invalid_field
from app.extensions import db
from app.money import quantize

log = logging.getLogger(__name__)
# Until the provider answers, the poller leaves the row alone this long; after it,
# the poller asks the provider (idempotently) for the payment a crash lost.
CREATE_GRACE = timedelta(seconds=60)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class IntentResult:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def create_purchase_intent(
    user_id: str,
    body: PurchaseIntentIn,
    idempotency_key: str | None,
    *,
    provision: Callable[[], None] = _nothing,
) -> IntentResult:
    """Two short steps around the provider call: insert the pending row; store the link.

    With an Idempotency-Key, claiming it comes first, in a step of its own.
    ``provision`` (the caller's user row) runs in the first step there is.
    Nothing is reloaded between the steps: the first hands plain values to the
    provider call, the second writes the link with one UPDATE ... RETURNING whose
    row is the response.
    """
    payload = body.model_dump(mode="json")
    claims_key = idempotency_key is not None
    with idempotency.slot(
        user_id, idempotency_key, payload, before_claim=provision if claims_key else None
    ) as held:
        if held.replay is not None:
            return IntentResult(held.replay.status, held.replay.body, replayed=True)

        with step():
            if not claims_key:
                provision()
            product = _purchasable_product(body)
            _check_club(user_id, product, body)
            tx = _resumable(held.resumed_transaction_id, user_id) or _create_pending(
                user_id, product, body
            )
            held.bind(tx.id)
            # Plain values: the ORM object expires at this step's COMMIT.
            tx_id, amount = tx.id, tx.amount

        outside_transaction()
        try:
            payment = get_provider().create_payment(str(tx_id), amount)
        except Exception as exc:
            # No payment link was handed out, so nobody can pay: leave nothing half-made.
            with step():
                _abandon(tx_id)
                held.release()
            if isinstance(exc, ProviderUnavailable | ProviderRejected):
                log.warning("provider refused or failed to create payment for %s: %s", tx_id, exc)
                raise Unavailable(
                    "PROVIDER_UNAVAILABLE",
                    "The payment provider is unavailable; nothing was charged. Try again.",
                    retry_after_s=5,
                ) from exc
            raise

        with step():
            response = intent_out(_store_link(tx_id, payment)).model_dump(mode="json")
            held.complete(201, response)
    return IntentResult(201, response)


def _store_link(transaction_id: uuid.UUID, payment: CreatedPayment) -> Row[Any]:
    """``attach_payment`` as one UPDATE ... RETURNING: the row lock, the write and the
    values of the response in one round trip, with no ORM reload of the row."""
    columns = Transaction.__table__.columns
    first_poll = datetime.now(UTC) + timedelta(seconds=current_app.config["POLL_INITIAL_DELAY_S"])
    stmt = (
        update(Transaction)
        .where(Transaction.id == transaction_id)
        .values(
            provider_payment_id=str(payment.payment_id),
            payment_url=payment.payment_url,
            provider_expires_at=payment.expires_at,
            poll_interval_s=max(1, int(payment.poll_interval_s)),
            next_poll_at=case(
                (Transaction.status == TxStatus.PENDING, first_poll),
                else_=Transaction.next_poll_at,
            ),
        )
        .returning(*columns)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).one()


def _resumable(transaction_id: uuid.UUID | None, user_id: str) -> Transaction | None:
    """The crashed first request's transaction, if it can still be paid."""
    if transaction_id is None:
        return None
    tx = db.session.get(Transaction, transaction_id)
    if tx is None or tx.user_id != user_id or tx.status != TxStatus.PENDING:
        return None
    return tx


def _purchasable_product(body: PurchaseIntentIn) -> ProductView:
    product = get_product(body.product_code)
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"No product {body.product_code}")
    if not product.active:
        raise InvalidRequest("PRODUCT_INACTIVE", f"Product {product.code} is not on sale")
    return product


def _check_club(user_id: str, product: ProductView, body: PurchaseIntentIn) -> None:
    if product.type != "plan":
        if body.club_id is not None:
            raise invalid_field("club_id", "only club plans are bought for a club")
        return
    if body.club_id is None:
        raise invalid_field("club_id", "required for club plans")
    if body.quantity != 1:
        raise invalid_field("quantity", "club plans are bought one period at a time")
    role = db.session.scalar(
        select(ClubMember.role).where(
            ClubMember.club_id == body.club_id, ClubMember.user_id == user_id
        )
    )
    if role is None or db.session.get(Club, body.club_id) is None:
        # Non-members learn nothing about whether the club exists.
        raise NotFound("CLUB_NOT_FOUND", "Club not found")
    if role != "owner":
        raise Forbidden("FORBIDDEN", "Only the club owner can buy a plan")


def _create_pending(user_id: str, product: ProductView, body: PurchaseIntentIn) -> Transaction:
    now = datetime.now(UTC)
    tx = Transaction(
        id=uuid.uuid4(),
        user_id=user_id,
        product_code=product.code,
        club_id=body.club_id,
        quantity=body.quantity,
        amount=quantize(product.price * body.quantity),
        currency=product.currency,
        status=TxStatus.PENDING,
        provider=PROVIDER_NAME,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=get_policy().pending_ttl_minutes),
        next_poll_at=now + CREATE_GRACE,
    )
    db.session.add(tx)
    db.session.flush()
    record_creation(tx, source=Source.API)
    return tx


def attach_payment(transaction_id: uuid.UUID, payment: CreatedPayment) -> Transaction:
    """Store the provider's payment on the transaction and schedule its first poll."""
    tx = locking.lock_transaction(transaction_id)
    if tx is None:
        raise NotFound("TRANSACTION_NOT_FOUND", "Transaction not found")
    tx.provider_payment_id = str(payment.payment_id)
    tx.payment_url = payment.payment_url
    tx.provider_expires_at = payment.expires_at
    tx.poll_interval_s = max(1, int(payment.poll_interval_s))
    if tx.status == TxStatus.PENDING:
        delay = current_app.config["POLL_INITIAL_DELAY_S"]
        tx.next_poll_at = datetime.now(UTC) + timedelta(seconds=delay)
    db.session.flush()
    return tx


def _abandon(transaction_id: uuid.UUID) -> None:
    """Close a pending row whose payment link was never created."""
    tx = locking.lock_transaction(transaction_id)
    if tx is not None and tx.status == TxStatus.PENDING:
        transition(tx, TxStatus.FAILED, source=Source.API, note="provider unavailable at creation")
