"""Untimed setup: pending transactions with confirmed payments at the Kaspi stub.

Rows are written the way app/billing/purchase/intents.py writes them (a pending row plus
its creation audit entry), but in bulk, with next_poll_at far in the future so
no poller touches them until a benchmark makes them due.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, update

from app.auth.models import User
from app.billing.core import status as sm
from app.billing.core.models import Transaction, TransactionEvent
from app.billing.kaspi.client import CreatedPayment, KaspiClient
from app.billing.kaspi.provider import PROVIDER_NAME
from app.catalog.services import get_policy, get_product
from app.extensions import db
from tests.support.stub_server import confirm_payment

PRODUCT_CODE = "EVENT_UPGRADE_500"
FAR_FUTURE = timedelta(days=1)
THREADS = 16


def user_ids(count: int) -> list[str]:
    return [f"bench-user-{n:03d}" for n in range(count)]


def insert_users(app: Flask, ids: list[str]) -> None:
    with app.app_context():
        db.session.execute(insert(User), [{"id": user_id} for user_id in ids])
        db.session.commit()


def insert_pending(app: Flask, owners: list[str]) -> list[uuid.UUID]:
    """One pending one-credit transaction per entry of ``owners``; answers their ids."""
    with app.app_context():
        product = get_product(PRODUCT_CODE)
        now = datetime.now(UTC)
        expires_at = now + timedelta(minutes=get_policy().pending_ttl_minutes)
        ids = [uuid.uuid4() for _ in owners]
        rows = [
            {
                "id": tx_id,
                "user_id": owner,
                "product_code": product.code,
                "quantity": 1,
                "amount": product.price,
                "currency": product.currency,
                "status": sm.TxStatus.PENDING,
                "provider": PROVIDER_NAME,
                "created_at": now,
                "updated_at": now,
                "expires_at": expires_at,
                "next_poll_at": now + FAR_FUTURE,
            }
            for tx_id, owner in zip(ids, owners, strict=True)
        ]
        db.session.execute(insert(Transaction), rows)
        db.session.execute(
            insert(TransactionEvent),
            [
                {"transaction_id": tx_id, "to_status": sm.TxStatus.PENDING, "source": "api"}
                for tx_id in ids
            ],
        )
        db.session.commit()
        return ids


def create_payments(app: Flask, ids: list[uuid.UUID]) -> list[str]:
    """Create each transaction's stub payment (ExternalId = its id) and attach it."""
    with app.app_context():
        amount = get_product(PRODUCT_CODE).price
        client = KaspiClient.from_config(app.config)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            payments: list[CreatedPayment] = list(
                pool.map(lambda tx_id: client.create_payment(str(tx_id), amount), ids)
            )
    finally:
        client.close()
    with app.app_context():
        # The fields attach_payment sets, bulk-updated by primary key; next_poll_at
        # stays in the future (attach_payment would make each row due at once).
        db.session.execute(
            update(Transaction),
            [
                {
                    "id": tx_id,
                    "provider_payment_id": payment.payment_id,
                    "payment_url": payment.payment_url,
                    "provider_expires_at": payment.expires_at,
                    "poll_interval_s": max(1, payment.poll_interval_s),
                }
                for tx_id, payment in zip(ids, payments, strict=True)
            ],
        )
        db.session.commit()
    return [payment.payment_id for payment in payments]


def confirm_payments(kaspi_url: str, payment_ids: list[str]) -> None:
    """The buyers pay: every payment becomes Processed at the stub."""
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda payment_id: confirm_payment(kaspi_url, payment_id), payment_ids))


def make_due(app: Flask, ids: list[uuid.UUID]) -> None:
    """One UPDATE: every given transaction becomes due for its first poll now."""
    with app.app_context():
        db.session.execute(
            update(Transaction)
            .where(Transaction.id.in_(ids))
            .values(next_poll_at=db.func.now())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
