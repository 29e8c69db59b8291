"""Renewal races with real processes: eight owners' taps at once against gunicorn (four
workers) leave one pending renewal; four reminder sweeps at once send one reminder."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.billing.core.models import Transaction
from app.db import step
from app.extensions import db
from app.renewals import reminders
from app.renewals.models import ClubRenewal, SubscriptionReminder
from app.webhooks.models import OutboxEvent
from tests.conftest import auth
from tests.support.factories import make_club, make_subscription, make_user

pytestmark = pytest.mark.integration

RACERS = 8


@pytest.fixture
def club_id(app, clean_db):
    with app.app_context():
        club = make_club(make_user("racing-owner"))
        make_subscription(club, "club_50", days_left=3)
        club_id = club.id
        db.session.remove()
    return club_id


def test_concurrent_renew_calls_leave_one_pending_renewal(app, api_server, club_id):
    start = threading.Barrier(RACERS)

    def tap(_: int) -> tuple[int, dict]:
        start.wait()
        response = requests.post(
            f"{api_server}/api/clubs/{club_id}/renew", headers=auth("racing-owner"), timeout=30
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(tap, range(RACERS)))
    codes = Counter(code for code, _ in answers)
    assert codes == {201: 1, 200: RACERS - 1}, answers
    # Every tap answers the same renewal, with the same Kaspi link.
    assert len({body["transaction_id"] for _, body in answers}) == 1
    assert len({body["payment"]["payment_id"] for _, body in answers}) == 1
    with app.app_context():
        made = db.session.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.club_id == club_id)
        )
        open_rows = db.session.scalar(
            select(func.count())
            .select_from(ClubRenewal)
            .where(ClubRenewal.club_id == club_id, ClubRenewal.open.is_(True))
        )
        db.session.remove()
    assert (made, open_rows) == (1, 1)


def test_concurrent_sweeps_send_one_reminder(app, club_id):
    now = datetime.now(UTC) + timedelta(minutes=1)
    start = threading.Barrier(4)

    def sweep(_: int) -> int:
        with app.app_context():
            start.wait()
            with step():
                sent = len(reminders.send_due(now))
            db.session.remove()
        return sent

    with ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(sweep, range(4)))
    assert sorted(sent) == [0, 0, 0, 1]
    with app.app_context():
        rows = db.session.scalar(
            select(func.count())
            .select_from(SubscriptionReminder)
            .where(SubscriptionReminder.club_id == club_id)
        )
        told = db.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.type == "subscription.renewal_due",
                OutboxEvent.data["club_id"].astext == str(club_id),
            )
        )
        db.session.remove()
    assert (rows, told) == (1, 1)
