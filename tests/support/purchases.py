"""Buying through the API in db-tier tests, and reading what a purchase granted."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from app.billing.core.models import Credit
from tests.conftest import auth


def intent(client: FlaskClient, user: str = "buyer", **body: Any) -> tuple[uuid.UUID, str]:
    """A purchase intent that must succeed: its transaction id and Kaspi payment id."""
    response = client.post(
        "/api/billing/purchase-intent",
        json={"product_code": "EVENT_UPGRADE_500", **body},
        headers=auth(user),
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return uuid.UUID(data["transaction_id"]), data["payment"]["payment_id"]


def credits_of(db_session: scoped_session, tx_id: uuid.UUID) -> list[Credit]:
    return list(
        db_session.scalars(
            select(Credit).where(Credit.source_transaction_id == tx_id).order_by(Credit.sequence)
        )
    )
