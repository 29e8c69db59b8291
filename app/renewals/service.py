"""One-tap renewal: ``POST /api/clubs/<id>/renew``.

A renewal buys the next period of the plan (from the current period's end: see
``app.clubs.subscriptions.period_bought``); with a dearer ``plan_id`` while the
period runs, an upgrade buys the rest of this period on that plan for the prorated
difference (``proration``); a cheaper one is a renewal whose plan starts at the
period end.

The steps are those of a purchase intent (``app.billing.purchase.intents``): the
pending transaction and its ``club_renewals`` row are committed first, Kaspi is asked
for the link outside any database transaction, the link is stored last. The club
row lock serialises renew calls of one club, and the partial unique index on open
renewals makes a second pending renewal impossible whatever the code does: a second
call answers the pending one (200).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnDefault, select, text
from sqlalchemy.exc import IntegrityError

from app.billing.core import locks, status
from app.billing.core.models import TRANSACTIONS_TABLE, Transaction
from app.billing.core.status import Source, TxStatus, creation_committed, transition
from app.billing.core.terms import TERMS_COLUMNS, Terms
from app.billing.kaspi.client import CreatedPayment, ProviderRejected, ProviderUnavailable
from app.billing.kaspi.links import CREATE_GRACE, attach_payment, poll_interval_s
from app.billing.kaspi.provider import PROVIDER_NAME, get_provider
from app.billing.purchase import idempotency
from app.billing.purchase.intents import create_payment_link
from app.billing.schemas import PaymentOut, PurchaseIntentOut
from app.catalog import services as catalog
from app.clubs import locks as club_locks
from app.clubs.models import ClubSubscription
from app.clubs.services import club_not_found, member_role
from app.clubs.subscriptions import plan_id_at, status_at
from app.clubs.transitions import SubStatus
from app.db import after_commit, between_steps, step
from app.domain_errors import Conflict, Forbidden, Unavailable, invalid_field
from app.extensions import db
from app.observability import context, metrics
from app.renewals.models import ClubRenewal, RenewalKind
from app.renewals.proration import days_left, prorated_difference
from app.renewals.schemas import RenewIn

log = logging.getLogger(__name__)
_DEFAULTS = {
    name: cast(ColumnDefault, TRANSACTIONS_TABLE.c[name].default).arg
    for name in ("poll_interval_s", "poll_attempts", "refunded_amount")
}
# The pending row at the quoted amount (an upgrade's is prorated, so it is not the
# product's price) and its first audit entry, in one statement.
_PENDING_SQL = """
    WITH created AS (
        INSERT INTO transactions (
            id, user_id, product_code, club_id, quantity, amount, currency, status, provider,
            poll_interval_s, poll_attempts, refunded_amount,
            created_at, updated_at, expires_at, next_poll_at, origin_request_id
        )
        SELECT CAST(:id AS uuid), :user_id, :product_code, CAST(:club_id AS uuid), 1,
            :amount, :currency, :status, :provider,
            :poll_interval_s, :poll_attempts, :refunded_amount,
            :now, :now, :now + policy.pending_ttl_minutes * interval '1 minute', :next_poll_at,
            :origin_request_id
        FROM billing_policy AS policy WHERE policy.id = 1
        RETURNING id, product_code, quantity, amount, currency, status, created_at, expires_at
    ),
    creation_event AS ({creation})
    SELECT {terms} FROM created
"""
_PENDING = text(
    _PENDING_SQL.format(creation=status.CREATION_EVENT_SQL, terms=", ".join(TERMS_COLUMNS))
)


@dataclass(frozen=True)
class Quote:
    kind: RenewalKind
    plan_id: str
    from_plan_id: str
    product_code: str
    amount: Decimal
    currency: str
    period_end: datetime


@dataclass(frozen=True)
class RenewResult:
    status: int  # 201 created, 200 the renewal already pending
    body: dict[str, Any]
    replayed: bool = False


def quote(sub: ClubSubscription | None, plan_id: str | None, now: datetime) -> Quote:
    """What renewing ``sub`` (on ``plan_id``, default: the plan of its next period) costs."""
    if sub is None:
        raise Conflict(
            "NO_SUBSCRIPTION",
            "The club has no subscription to renew; buy a plan with a purchase intent",
        )
    in_force = plan_id_at(sub, now)
    target = plan_id or sub.scheduled_plan_id or in_force
    product = catalog.product_for_plan(target)
    if product is None:
        raise invalid_field("plan_id", f"no plan on sale with id {target}")
    old_plan, new_plan = catalog.require_plan(in_force), catalog.require_plan(target)
    if status_at(sub, now) == SubStatus.ACTIVE and new_plan.price > old_plan.price:
        left = days_left(sub.current_period_end, now)
        amount = prorated_difference(old_plan.price, new_plan.price, new_plan.period_days, left)
        if amount > 0:
            return Quote(
                RenewalKind.UPGRADE,
                target,
                in_force,
                product.code,
                amount,
                product.currency,
                sub.current_period_end,
            )
    return Quote(
        RenewalKind.RENEWAL,
        target,
        in_force,
        product.code,
        product.price,
        product.currency,
        sub.current_period_end,
    )


def renew(
    user_id: str, club_id: uuid.UUID, body: RenewIn, idempotency_key: str | None
) -> RenewResult:
    payload = {"club_id": str(club_id), **body.model_dump(mode="json")}
    with idempotency.slot(user_id, idempotency_key, payload if idempotency_key else {}) as held:
        if held.replay is not None:
            return RenewResult(held.replay.status, held.replay.body, replayed=True)
        try:
            with step():
                opened = open_renewal(user_id, club_id, body, datetime.now(UTC))
        except IntegrityError as exc:
            # The club lock serialises renew calls; the index is the guarantee behind it.
            raise Conflict(
                "RENEWAL_IN_PROGRESS", "A renewal of this club is being created", retry_after_s=1
            ) from exc
        terms, kind, fresh, payment = opened
        stored: Any = None
        if fresh:
            creation_committed(terms.id, source=Source.API)
            payment = _create_payment(terms, held)
        elif payment is None:
            # Pending, but its request is still at Kaspi: the create call is idempotent
            # on the ExternalId, so this asks for the same link (and stores it too).
            payment = _same_payment(terms)
        else:
            stored = _Stored(TxStatus.PENDING.value, payment.expires_at)
        with step():
            if stored is None:
                stored = attach_payment(db.session.connection(), terms.id, payment)
            reply = _reply(terms, club_id, payment, stored).model_dump(mode="json")
            code = 201 if fresh else 200
            held.complete(code, reply)
            outcome = "created" if fresh else "pending"
            after_commit(lambda: metrics.RENEWALS.labels(kind=kind, outcome=outcome).inc())
    log.info("renewal %s of club %s: %s (%s)", terms.id, club_id, outcome, kind)
    return RenewResult(code, reply)


@dataclass(frozen=True)
class _Stored:
    status: str
    provider_expires_at: datetime | None


_Opened = tuple[Terms, str, bool, CreatedPayment | None]


def open_renewal(
    user_id: str,
    club_id: uuid.UUID,
    body: RenewIn,
    now: datetime,
    *,
    source: Source = Source.API,
) -> _Opened:
    """The pending renewal of the club: the open one, or a new one (``source`` made it)."""
    role = member_role(club_id, user_id)
    if role is None:
        raise club_not_found()  # non-members learn nothing about the club
    if role != "owner":
        raise Forbidden("FORBIDDEN", "Only the club owner can renew its plan")
    if club_locks.lock_club(club_id) is None:
        raise club_not_found()
    open_row = db.session.scalar(
        select(ClubRenewal).where(ClubRenewal.club_id == club_id, ClubRenewal.open.is_(True))
    )
    if open_row is not None:
        tx = db.session.get(Transaction, open_row.transaction_id)
        if tx is not None and tx.status == TxStatus.PENDING:
            return Terms.of(tx), open_row.kind, False, _stored_payment(tx)
        open_row.open = False  # paid, failed, expired or canceled: no longer pending
        db.session.flush()
    sub = db.session.scalar(select(ClubSubscription).where(ClubSubscription.club_id == club_id))
    priced = quote(sub, body.plan_id, now)
    terms = _insert_pending(user_id, club_id, priced, now, source)
    db.session.add(
        ClubRenewal(
            transaction_id=terms.id,
            club_id=club_id,
            kind=priced.kind,
            plan_id=priced.plan_id,
            from_plan_id=priced.from_plan_id,
            period_end=priced.period_end,
            open=True,
        )
    )
    db.session.flush()
    return terms, priced.kind, True, None


def _stored_payment(tx: Transaction) -> CreatedPayment | None:
    if tx.provider_payment_id is None or tx.payment_url is None or tx.provider_expires_at is None:
        return None
    return CreatedPayment(
        payment_id=tx.provider_payment_id,
        payment_url=tx.payment_url,
        expires_at=tx.provider_expires_at,
        poll_interval_s=tx.poll_interval_s,
    )


def _insert_pending(
    user_id: str, club_id: uuid.UUID, priced: Quote, now: datetime, source: Source
) -> Terms:
    row = db.session.execute(
        _PENDING,
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "product_code": priced.product_code,
            "club_id": club_id,
            "amount": priced.amount,
            "currency": priced.currency,
            "provider": PROVIDER_NAME,
            **_DEFAULTS,
            "now": now,
            "next_poll_at": now + CREATE_GRACE,
            **status.creation_params(source),
            "origin_request_id": context.get("request_id"),
        },
    ).one()
    return Terms(*row)


def _create_payment(terms: Terms, held: idempotency.Slot) -> CreatedPayment:
    """Ask Kaspi for the link outside any transaction; a failure closes the renewal."""
    return create_payment_link(terms, held, abandon=abandon)


def _same_payment(terms: Terms) -> CreatedPayment:
    """Another request's link (it is still creating it); a failure leaves its row alone."""
    between_steps()
    try:
        return get_provider().create_payment(str(terms.id), terms.amount)
    except (ProviderUnavailable, ProviderRejected) as exc:
        raise Unavailable(
            "PROVIDER_UNAVAILABLE",
            "The payment provider is unavailable; nothing was charged. Try again.",
            retry_after_s=5,
        ) from exc


def abandon(transaction_id: uuid.UUID, *, source: Source = Source.API) -> None:
    """Close a renewal whose payment was never created (Kaspi refused or did not answer)."""
    tx = locks.lock_transaction(transaction_id)
    if tx is not None and tx.status == TxStatus.PENDING:
        transition(tx, TxStatus.FAILED, source=source, note="provider unavailable at creation")
    renewal = db.session.get(ClubRenewal, transaction_id)
    if renewal is not None:
        renewal.open = False


def _reply(
    terms: Terms, club_id: uuid.UUID, payment: CreatedPayment, stored: Any
) -> PurchaseIntentOut:
    """The purchase intent's body, for the renewal's transaction."""
    return PurchaseIntentOut(
        transaction_id=terms.id,
        status=stored.status,
        product_code=terms.product_code,
        quantity=terms.quantity,
        amount=str(terms.amount),
        currency=terms.currency,
        club_id=club_id,
        created_at=terms.created_at,
        expires_at=terms.expires_at,
        payment=PaymentOut(
            provider=PROVIDER_NAME,
            payment_id=str(payment.payment_id),
            # An invoice to the owner's phone has no link: they pay in the Kaspi app.
            payment_url=payment.payment_url or None,
            poll_interval_s=poll_interval_s(payment),
            expires_at=stored.provider_expires_at,
        ),
    )
