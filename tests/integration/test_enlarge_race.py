"""Confirmed enlarging edits racing confirmed publishes for a user's credits, against real
gunicorn workers: PostgreSQL is the guarantee. Never two credits for one event, never
one credit for two, and every 200 agrees with the rows."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from app.billing.core.models import Credit
from app.events.models import Event
from app.extensions import db
from tests.integration.test_publish_concurrency import no_server_errors, race, upgrade_size
from tests.support.factories import catalog_free_limit, grant_credits, make_event, make_user

pytestmark = pytest.mark.integration


def test_enlarging_edits_and_publishes_share_two_credits(app, clean_db, api_server):
    with app.app_context():
        user = make_user(f"enlarger-{uuid.uuid4().hex[:8]}")
        grant_credits(user, 2)
        free = catalog_free_limit()
        edited = [
            make_event(user, max_participants=free, published=True, title=f"P{i}").id
            for i in range(2)
        ]
        size = upgrade_size()
        draft = make_event(user, max_participants=size, title="D").id
        user_id = user.id
        db.session.remove()
    calls = [
        ("PATCH", f"/api/events/{e}?confirm_credit=1", {"_user": user_id, "max_participants": size})
        for e in edited
        for _ in range(8)
    ]
    calls += [
        ("POST", f"/api/events/{draft}/publish?confirm_credit=1", {"_user": user_id})
        for _ in range(8)
    ]
    answers = race(api_server, calls)
    no_server_errors(answers)

    with app.app_context():
        events = {
            str(e.id): e
            for e in db.session.scalars(select(Event).where(Event.owner_id == user_id)).all()
        }
        credits = db.session.scalars(select(Credit).where(Credit.user_id == user_id)).all()
        consumed = [str(c.consumed_event_id) for c in credits if c.status == "consumed"]
        db.session.remove()
    # Both credits went, each to one event, and exactly the upgraded events hold them.
    assert len(consumed) == 2 and len(set(consumed)) == 2
    upgraded = {eid for eid, e in events.items() if e.upgraded_by_credit}
    assert upgraded == set(consumed)
    # The event left without a credit kept its size (edits) or stayed a draft (publish).
    for eid, event in events.items():
        if eid in upgraded:
            assert event.max_participants == size
        elif eid == str(draft):
            assert event.published_at is None
        else:
            assert event.max_participants == free
    statuses = Counter()
    for answer in answers:
        method, path, _ = calls[answer.index]
        statuses[(method, answer.status)] += 1
        if answer.status == 402:
            assert answer.body["error"]["reason"] == "PUBLISH_REQUIRES_PAYMENT", answer.body
        elif answer.status == 409:
            assert answer.body["error"]["code"] == "PUBLISH_IN_PROGRESS", answer.body
        else:
            assert answer.status == 200, answer.body
            event_id = path.split("/")[3].split("?")[0]
            assert event_id in upgraded
    assert statuses[("PATCH", 200)] + statuses[("POST", 200)] >= 2
