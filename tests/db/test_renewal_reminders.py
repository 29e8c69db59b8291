"""The reminder sweep with a clock the test holds: each sweep is given its `now`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.catalog.models import BillingPolicy
from app.clubs.subscriptions import advance_due, grant_period, status_at
from app.clubs.transitions import SubStatus
from app.events.models import Event
from app.renewals import reminders
from app.renewals.models import SubscriptionReminder
from app.webhooks.catalogue import EventType
from app.webhooks.outbox import pending_facts
from tests.support.factories import (
    make_club,
    make_event,
    make_subscription,
    make_transaction,
    make_user,
)

pytestmark = pytest.mark.db

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def club_sub(db_session):
    owner = make_user("reminded-owner")
    club = make_club(owner)
    # Far enough ahead that no other clock than the test's matters.
    sub = make_subscription(club, "club_50", days_left=40)
    return club, sub


def sweep(db_session, now) -> list[dict]:
    """One sweep at ``now``: the renewal_due facts it wrote, committed like the task's."""
    reminders.send_due(now)
    told = [
        f.data for f in pending_facts(db_session()) if f.type == EventType.SUBSCRIPTION_RENEWAL_DUE
    ]
    db_session.commit()
    return told


def sent_rows(db_session, club_id: uuid.UUID) -> list[tuple[int, int]]:
    rows = db_session.scalars(
        select(SubscriptionReminder)
        .where(SubscriptionReminder.club_id == club_id)
        .order_by(SubscriptionReminder.id)
    )
    return [(r.days_before, r.days_left) for r in rows]


def test_reminders_at_t7_t3_t1_exactly_once_each(db_session, club_sub):
    club, sub = club_sub
    end = sub.current_period_end
    timeline = [
        (end - 8 * DAY, []),
        (end - 7 * DAY, [7]),
        (end - 7 * DAY + HOUR, []),  # the same day again: nothing
        (end - 7 * DAY, []),  # the same moment again (a retried task): nothing
        (end - 5 * DAY, []),
        (end - 3 * DAY, [3]),
        (end - 3 * DAY + 12 * HOUR, []),
        (end - DAY, [1]),
        (end - HOUR, []),
        (end + HOUR, []),  # the period ended: grace, no more reminders of it
    ]
    for now, expected in timeline:
        told = sweep(db_session, now)
        assert [t["reminder_day"] for t in told] == expected, now
    assert sent_rows(db_session, club.id) == [(7, 7), (3, 3), (1, 1)]


def test_the_reminder_tells_the_owner_what_and_where(db_session, club_sub):
    club, sub = club_sub
    (told,) = sweep(db_session, sub.current_period_end - 3 * DAY)
    assert told == {
        "club_id": str(club.id),
        "user_id": "reminded-owner",
        "plan_id": "club_50",
        "days_left": 3,
        "reminder_day": 3,
        "due_at": sub.current_period_end.isoformat(),
        "grace_until": sub.grace_until.isoformat(),
        "amount": "5000.00",
        "currency": "KZT",
        "renew_url": f"/#/clubs/{club.id}",
    }


def test_downtime_across_two_reminder_days_sends_one_late_reminder(db_session, club_sub):
    club, sub = club_sub
    end = sub.current_period_end
    assert sweep(db_session, end - 8 * DAY) == []
    # Down from T-8 to T-2: the 7 and the 3 were both missed; one reminder, the latest.
    (late,) = sweep(db_session, end - 2 * DAY)
    assert (late["reminder_day"], late["days_left"]) == (3, 2)
    assert sweep(db_session, end - 2 * DAY + HOUR) == []
    assert [t["reminder_day"] for t in sweep(db_session, end - DAY + HOUR)] == [1]
    assert sent_rows(db_session, club.id) == [(3, 2), (1, 1)]


def test_renewing_moves_the_period_and_its_reminders_start_afresh(db_session, club_sub):
    club, sub = club_sub
    end = sub.current_period_end
    assert len(sweep(db_session, end - 3 * DAY)) == 1
    paid = make_transaction(make_user("reminded-owner"), product_code="CLUB_50", club_id=club.id)
    assert grant_period(club.id, "club_50", paid.id, end - 2 * DAY)
    db_session.commit()
    db_session.refresh(sub)
    assert sub.current_period_end == end + 30 * DAY  # from the end, not from the payment
    assert sweep(db_session, end - DAY) == []  # the old end is no longer due
    assert [t["reminder_day"] for t in sweep(db_session, end + 23 * DAY)] == [7]


def test_reminder_days_are_policy_data(db_session, club_sub):
    club, sub = club_sub
    db_session.execute(update(BillingPolicy).values(renewal_reminder_days=[10, 2]))
    db_session.commit()
    end = sub.current_period_end
    # 10 days before passed unseen: one late reminder, for day 10, saying 7 days.
    assert [t["reminder_day"] for t in sweep(db_session, end - 7 * DAY)] == [10]
    assert sent_rows(db_session, club.id) == [(10, 7)]
    assert sweep(db_session, end - 3 * DAY) == []
    assert [t["reminder_day"] for t in sweep(db_session, end - 2 * DAY)] == [2]


def test_grace_keeps_the_plan_and_expiry_falls_back_to_free_events_untouched(db_session, club_sub):
    club, sub = club_sub
    owner = make_user("reminded-owner")
    published = make_event(owner, club=club, max_participants=40, published=True)
    end, grace_until = sub.current_period_end, sub.grace_until
    assert advance_due(end + HOUR) == {"grace": 1, "expired": 0}
    db_session.commit()
    db_session.refresh(sub)
    assert (sub.status, sub.plan_id) == ("grace", "club_50")
    assert status_at(sub, grace_until - HOUR) == SubStatus.GRACE
    assert advance_due(grace_until + HOUR) == {"grace": 0, "expired": 1}
    db_session.commit()
    db_session.refresh(sub)
    assert sub.status == "expired"
    # Expiry unpublishes nothing: the event keeps its moment and its size.
    event = db_session.get(Event, published.id)
    assert event.published_at == published.published_at
    assert event.max_participants == 40
