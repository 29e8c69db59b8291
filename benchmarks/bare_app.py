"""The bare stack the API is measured against: gunicorn + Flask + SQLAlchemy, nothing else.

`gunicorn 'benchmarks.bare_app:create_app()'` with the benchmark's environment.
Each endpoint does the least work its real twin must do, the same way the real
one does it (the same JWT decode, the same driver, a pooled engine):

- ``GET /status?transaction_id=ID``: decode the JWT, one SELECT by primary key and
  owner, the same JSON fields;
- ``POST /intent``: decode the JWT, one INSERT of a pending transaction (its own
  COMMIT), then the Kaspi stub's create-link over a pooled HTTP session.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Flask, Response, jsonify, request
from sqlalchemy import create_engine, text

from app.auth.tokens import InvalidToken, decode_token
from app.billing.kaspi.client import KaspiClient
from app.config import normalize_db_url

STATUS_SQL = text(
    "SELECT id, status, product_code, quantity, amount, currency, created_at, updated_at, "
    "settled_at, expires_at FROM transactions WHERE id = :id AND user_id = :user_id"
)
INSERT_SQL = text(
    "INSERT INTO transactions (id, user_id, product_code, quantity, amount, currency, status, "
    "provider, poll_interval_s, expires_at, next_poll_at, poll_attempts, created_at, updated_at) "
    "VALUES (:id, :user_id, 'EVENT_UPGRADE_500', 1, :amount, 'KZT', 'pending', 'kaspi', 5, "
    ":expires_at, :next_poll_at, 0, now(), now())"
)
AMOUNT = Decimal("1000.00")


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(normalize_db_url(os.environ["DATABASE_URL"]))
    secret = os.environ["AUTH_JWT_SECRET"]
    kaspi = KaspiClient(os.environ["KASPI_BASE_URL"], os.environ["KASPI_API_KEY"])

    def user_id() -> str | None:
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            return decode_token(secret, token.strip())["sub"]
        except InvalidToken:
            return None

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/status")
    def status() -> Response | tuple[dict[str, str], int]:
        owner = user_id()
        if owner is None:
            return {"error": "unauthenticated"}, 401
        with engine.connect() as conn:
            row = conn.execute(
                STATUS_SQL, {"id": request.args["transaction_id"], "user_id": owner}
            ).first()
        if row is None:
            return {"error": "not found"}, 404
        return jsonify(
            transaction_id=str(row.id),
            status=row.status,
            product_code=row.product_code,
            quantity=row.quantity,
            amount=str(row.amount),
            currency=row.currency,
            created_at=row.created_at.isoformat(),
            updated_at=row.updated_at.isoformat(),
            settled_at=row.settled_at.isoformat() if row.settled_at else None,
            expires_at=row.expires_at.isoformat(),
        )

    @app.post("/intent")
    def intent() -> tuple[dict[str, str], int]:
        owner = user_id()
        if owner is None:
            return {"error": "unauthenticated"}, 401
        tx_id = uuid.uuid4()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                INSERT_SQL,
                {
                    "id": tx_id,
                    "user_id": owner,
                    "amount": AMOUNT,
                    "expires_at": now + timedelta(hours=1),
                    "next_poll_at": now + timedelta(days=1),
                },
            )
        payment = kaspi.create_payment(str(tx_id), AMOUNT)
        return {"transaction_id": str(tx_id), "payment_url": payment.payment_url}, 201

    return app
