"""Purchase intents: price from the catalog, a pending transaction, a Kaspi payment.

The provider is called outside any database transaction: the pending row is
committed in a step of its own (its id is the provider's ExternalId, which makes
the create call idempotent), then Kaspi is asked for a payment link, then the link
is stored in a second step. A crash between the steps leaves a pending row the
poller completes; a step cut by a lost database connection (answered 503) withdraws
what the request left (``app.billing.purchase.withdraw``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ColumnDefault,
    Connection,
    select,
    text,
)
from sqlalchemy.exc import NoResultFound

from app.auth.services import user_row_insert
from app.billing.core import locks, status
from app.billing.core.models import TRANSACTIONS_TABLE, Transaction
from app.billing.core.status import Source, TxStatus, creation_committed, transition
from app.billing.core.terms import TERMS_COLUMNS, Terms
from app.billing.kaspi.client import CreatedPayment, ProviderRejected, ProviderUnavailable
from app.billing.kaspi.links import CREATE_GRACE, attach_payment, poll_interval_s
from app.billing.kaspi.provider import PROVIDER_NAME, get_provider
from app.billing.purchase import idempotency, open_event, withdraw
from app.billing.schemas import PaymentOut, PurchaseIntentIn, PurchaseIntentOut
from app.catalog.services import ProductView, get_policy, get_product, sold_product
from app.clubs.models import Club, ClubMember
from app.db import between_steps, step, write_alone
from app.domain_errors import Forbidden, InvalidRequest, NotFound, Unavailable, invalid_field
from app.driver_statements import DriverStatement
from app.extensions import db
from app.observability import context

log = logging.getLogger(__name__)
# The model's Python-side defaults of a new row: a text INSERT gets none filled in.
_DEFAULTS = {
    name: cast(ColumnDefault, TRANSACTIONS_TABLE.c[name].default).arg
    for name in ("poll_interval_s", "poll_attempts", "refunded_amount")
}

# The first step's one statement: the pending row, priced from the catalog rows
# (billing_policy holds one row, CHECK id = 1), and its first audit entry (see
# ``creation_committed``); optionally the caller's user row, made only along with
# the transaction, and the Idempotency-Key record's link to it. Text, not Core:
# SQLAlchemy compiles an ON CONFLICT insert anew on every execution.
_PENDING_SQL = """
WITH created AS (
    INSERT INTO transactions (
        id, user_id, product_code, club_id, event_id, quantity, amount, currency, status,
        provider,
        poll_interval_s, poll_attempts, refunded_amount,
        created_at, updated_at, expires_at, next_poll_at, origin_request_id
    )
    SELECT CAST(:id AS uuid), :user_id, product.code, CAST(:club_id AS uuid),
        CAST(:event_id AS uuid), :quantity,
        product.price * :quantity, product.currency, :status, :provider,
        :poll_interval_s, :poll_attempts, :refunded_amount,
        :now, :now, :now + policy.pending_ttl_minutes * interval '1 minute', :next_poll_at,
        :origin_request_id
    FROM billing_products AS product JOIN billing_policy AS policy ON policy.id = 1
    WHERE product.code = :product_code AND product.active
    RETURNING id, product_code, quantity, amount, currency, status, created_at, expires_at
),
creation_event AS ({creation}){more}
SELECT {terms} FROM created
"""
# Foreign keys are checked at the end of the statement: the user row may come last.
_PROVISIONED = user_row_insert("SELECT :user_id, :user_email, :user_name FROM created")


@cache
def _pending_statement(with_user: bool, with_slot: bool) -> DriverStatement:
    more = [f"provisioned AS ({_PROVISIONED})"] if with_user else []
    if with_slot:
        more.append(f"bound AS ({idempotency.BIND_CREATED_SQL})")
    ctes = "".join(f",\n{cte}" for cte in more)
    sql = _PENDING_SQL.format(
        creation=status.CREATION_EVENT_SQL, more=ctes, terms=", ".join(TERMS_COLUMNS)
    )
    return DriverStatement.of(text(sql))


@dataclass(frozen=True)
class IntentResult:
    status: int
    # A fresh reply as its model (written straight to JSON); a stored one as its dict.
    body: dict[str, Any] | PurchaseIntentOut
    replayed: bool = False


def create_purchase_intent(
    user_id: str,
    body: PurchaseIntentIn,
    idempotency_key: str | None,
    *,
    new_user: Mapping[str, str | None] | None = None,
) -> IntentResult:
    """Two short steps around the provider call: insert the pending row; store the link.

    With an Idempotency-Key, claiming it comes first, in a step of its own.
    ``new_user`` (the caller's user row, from ``current_user_row``) is created if
    missing in the first step there is: the claim's, or else by the statement that
    inserts the pending row. Nothing is reloaded between the steps: the first
    answers the row's terms, the provider answers the link, and the second step's
    UPDATE answers the status the link was stored under; the reply is those.
    """
    claims_key = idempotency_key is not None
    # The fingerprint is only ever compared with another request's under the same key.
    # A body without event_id keeps the fingerprint it had before the field existed.
    unnamed = {"event_id"} if body.event_id is None else set()
    payload = body.model_dump(mode="json", exclude=unnamed) if claims_key else {}
    with idempotency.slot(user_id, idempotency_key, payload, new_user=new_user) as held:
        if held.replay is not None:
            return IntentResult(held.replay.status, held.replay.body, replayed=True)

        # The new row's id, known before its INSERT: a connection lost under that
        # statement leaves a row (if PostgreSQL committed it) to withdraw by this id.
        tx_id = uuid.uuid4()
        # Reads, then the one statement that writes: committed as it returns.
        with (
            withdraw.undone_if_cut(withdraw.Leftover(tx_id, None, user_id, held.key), held),
            open_event.refused_when_open(user_id, body.event_id),
            write_alone() as conn,
        ):
            product = _product_on_sale(body.product_code)
            _check_club(conn, user_id, product, body)
            open_event.check_event(conn, user_id, product, body)
            resumed = _resumable(conn, held.resumed_transaction_id, user_id)
            # With a key, the claim made the user row and this binds the key to the row.
            pending = resumed or _insert_pending(
                conn, user_id, body, tx_id, new_user=None if claims_key else new_user, slot=held
            )
        if resumed is None:
            creation_committed(pending.id, source=Source.API)

        payment = _create_payment(pending, held)
        made = withdraw.Leftover(pending.id, str(payment.payment_id), user_id, held.key)
        with withdraw.undone_if_cut(made, held):
            if not claims_key:
                with write_alone() as conn:
                    stored = attach_payment(conn, pending.id, payment)
                return IntentResult(201, _reply(pending, body, payment, stored))
            # With a key, the reply is stored too: two writes, an ordinary step.
            with step():
                stored = attach_payment(db.session.connection(), pending.id, payment)
                response = _reply(pending, body, payment, stored).model_dump(mode="json")
                held.complete(201, response)
    return IntentResult(201, response)


def _create_payment(pending: Terms, held: idempotency.Slot) -> CreatedPayment:
    return create_payment_link(pending, held, abandon=_abandon)


def create_payment_link(
    pending: Terms, held: idempotency.Slot, *, abandon: Callable[[uuid.UUID], None]
) -> CreatedPayment:
    """Ask Kaspi for the payment link (outside any transaction). A failure hands no
    link out, so nobody can pay: ``abandon`` closes the pending row (in a step, with
    the key released) and the buyer is told nothing was charged."""
    between_steps()
    try:
        return get_provider().create_payment(str(pending.id), pending.amount)
    except Exception as exc:
        with step():
            abandon(pending.id)
            held.release()
        if isinstance(exc, ProviderUnavailable | ProviderRejected):
            log.warning("provider refused or failed to create payment for %s: %s", pending.id, exc)
            raise Unavailable(
                "PROVIDER_UNAVAILABLE",
                "The payment provider is unavailable; nothing was charged. Try again.",
                retry_after_s=5,
            ) from exc
        raise


def _reply(
    pending: Terms, body: PurchaseIntentIn, payment: CreatedPayment, stored: Any
) -> PurchaseIntentOut:
    """The 201 body from what the service wrote: the first step's terms, the body's
    choice (the INSERT stored exactly it), the link, and the stored row's status."""
    return PurchaseIntentOut(
        transaction_id=pending.id,
        status=stored.status,
        product_code=body.product_code,
        quantity=body.quantity,
        amount=str(pending.amount),
        currency=pending.currency,
        club_id=body.club_id,
        event_id=body.event_id,
        created_at=pending.created_at,
        expires_at=pending.expires_at,
        payment=PaymentOut(
            provider=PROVIDER_NAME,
            payment_id=str(payment.payment_id),
            payment_url=payment.payment_url,
            poll_interval_s=poll_interval_s(payment),
            expires_at=stored.provider_expires_at,
        ),
    )


def _resumable(conn: Connection, transaction_id: uuid.UUID | None, user_id: str) -> Terms | None:
    """The crashed first request's transaction (its terms), if it can still be paid."""
    if transaction_id is None:
        return None
    row = conn.execute(
        select(*(TRANSACTIONS_TABLE.c[name] for name in TERMS_COLUMNS)).where(
            Transaction.id == transaction_id,
            Transaction.user_id == user_id,
            Transaction.status == TxStatus.PENDING,
        )
    ).first()
    return None if row is None else Terms(*row)


def _product_on_sale(code: str) -> ProductView:
    """The product, for its kind (credit or plan), without the catalog version read.

    A product's kind never changes, so the process's snapshot is current enough
    for that; its price and whether it is on sale are read from the row itself by
    the INSERT that stores the transaction (:func:`_insert_pending`). A product
    the snapshot lacks or shows off sale gets the checked read and its error.
    """
    product = sold_product(code)
    if product is None or not product.active:
        return _purchasable_product(code)
    return product


def _purchasable_product(code: str) -> ProductView:
    product = get_product(code)
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"No product {code}")
    if not product.active:
        raise InvalidRequest("PRODUCT_INACTIVE", f"Product {product.code} is not on sale")
    return product


def _check_club(
    conn: Connection, user_id: str, product: ProductView, body: PurchaseIntentIn
) -> None:
    if product.type != "plan":
        if body.club_id is not None:
            raise invalid_field("club_id", "only club plans are bought for a club")
        return
    if body.club_id is None:
        raise invalid_field("club_id", "required for club plans")
    if body.quantity != 1:
        raise invalid_field("quantity", "club plans are bought one period at a time")
    # The club's row too: a membership row outliving its club must not sell a plan.
    role = conn.scalar(
        select(ClubMember.role)
        .join(Club, Club.id == ClubMember.club_id)
        .where(ClubMember.club_id == body.club_id, ClubMember.user_id == user_id)
    )
    if role is None:
        # Non-members learn nothing about whether the club exists.
        raise NotFound("CLUB_NOT_FOUND", "Club not found")
    if role != "owner":
        raise Forbidden("FORBIDDEN", "Only the club owner can buy a plan")


def _insert_pending(
    conn: Connection,
    user_id: str,
    body: PurchaseIntentIn,
    tx_id: uuid.UUID,
    *,
    new_user: Mapping[str, str | None] | None,
    slot: idempotency.Slot,
) -> Terms:
    """The pending row and its audit entry in one statement, with ``new_user``'s row
    when given and the binding of ``slot``'s key when it has one; answers the
    row's terms.

    The price, the currency and the pending TTL come from the catalog rows in the
    same statement, so they are the catalog as this transaction sees it. No row
    means the product went off sale (or away) since the snapshot was taken: the
    checked catalog read says which, or, if the catalog changed back meanwhile,
    the insert runs again.
    """
    now = datetime.now(UTC)
    params: dict[str, Any] = {
        "id": tx_id,
        "user_id": user_id,
        "product_code": body.product_code,
        "club_id": body.club_id,
        "event_id": body.event_id,
        "quantity": body.quantity,
        "provider": PROVIDER_NAME,
        **_DEFAULTS,
        "now": now,
        "next_poll_at": now + CREATE_GRACE,
        **status.creation_params(Source.API),
        "origin_request_id": context.get("request_id"),
    }
    if new_user is not None:
        params.update(new_user)
    if slot.key is not None:
        params["slot_key"] = slot.key
    stmt = _pending_statement(new_user is not None, slot.key is not None)
    row = stmt.first(conn, params)
    if row is None:
        _purchasable_product(body.product_code)
        get_policy()
        row = stmt.first(conn, params)
        if row is None:  # the catalog flipped again meanwhile: no price to trust
            raise NoResultFound(f"product {body.product_code} changed while being bought")
    return Terms(*row)


def _abandon(transaction_id: uuid.UUID) -> None:
    """Close a pending row whose payment link was never created."""
    tx = locks.lock_transaction(transaction_id)
    if tx is not None and tx.status == TxStatus.PENDING:
        transition(tx, TxStatus.FAILED, source=Source.API, note="provider unavailable at creation")
