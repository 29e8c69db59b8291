"""Browsers of one buyer racing to buy an upgrade for the same event, against the real
API (gunicorn, 4 worker processes) and PostgreSQL: exactly one purchase starts, every
other request is answered 409 PURCHASE_IN_PROGRESS with that one."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from sqlalchemy import func, select

from app.billing.core.models import Transaction
from app.extensions import db
from tests.conftest import auth

pytestmark = pytest.mark.integration

BROWSERS = 12


def test_racing_browsers_start_exactly_one_purchase_per_event(clean_db, api_server, app):
    outcomes = []
    for _ in range(3):
        event = requests.post(
            f"{api_server}/api/events",
            json={"title": "Race night", "max_participants": 200},
            headers=auth("racer"),
            timeout=30,
        ).json()
        start = Barrier(BROWSERS)

        def buy(i, event_id=event["id"], start=start):
            start.wait()
            return requests.post(
                f"{api_server}/api/billing/purchase-intent",
                json={"product_code": "EVENT_UPGRADE_500", "event_id": event_id},
                headers={**auth("racer"), "Idempotency-Key": f"browser-{event_id}-{i}"},
                timeout=60,
            )

        with ThreadPoolExecutor(BROWSERS) as pool:
            answers = list(pool.map(buy, range(BROWSERS)))

        created = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code == 409]
        assert len(created) == 1, [(a.status_code, a.text[:200]) for a in answers]
        assert len(refused) == BROWSERS - 1, [a.status_code for a in answers]
        winner = created[0].json()["transaction_id"]
        for answer in refused:
            error = answer.json()["error"]
            assert error["code"] == "PURCHASE_IN_PROGRESS"
            assert error["transaction"]["transaction_id"] == winner
        with app.app_context():
            rows = db.session.scalar(
                select(func.count())
                .select_from(Transaction)
                .where(Transaction.event_id == uuid.UUID(event["id"]))
            )
            db.session.remove()
        assert rows == 1
        outcomes.append(winner)
    assert len(set(outcomes)) == 3
