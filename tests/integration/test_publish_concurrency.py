"""Concurrent publishes against real gunicorn workers: PostgreSQL is the guarantee.

Rows are committed through the app context; requests race from threads. The
same races run with the Redis lock on, with it disabled, and with Redis
unreachable: the outcome must be exact in all three. Latencies are printed
(``pytest -s``), never asserted.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select, text

from app.auth.models import User
from app.billing.core.models import Credit
from app.catalog.models import Plan
from app.clubs.models import Club, ClubMember
from app.events.models import Event
from app.extensions import db
from tests.conftest import auth
from tests.integration.conftest import service_env
from tests.support.factories import (
    catalog_credit_product,
    catalog_free_limit,
    grant_credits,
    make_club,
    make_event,
    make_subscription,
    make_user,
)
from tests.support.processes import LOG_DIR, start_gunicorn, wait_until

pytestmark = pytest.mark.integration

SERVERS = ["redis_lock", "lock_disabled", "redis_unreachable"]
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


# ------------------------------------------------------------------ servers


@pytest.fixture(scope="module")
def lock_disabled_server(app, app_config, kaspi_stub) -> Iterator[str]:
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, PUBLISH_LOCK_ENABLED="0")
    proc, base_url = start_gunicorn("api-publish-nolock", "wsgi:app", env, workers=8)
    try:
        yield base_url
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def redis_unreachable_server(app, app_config, kaspi_stub) -> Iterator[str]:
    env = service_env(app_config, KASPI_BASE_URL=kaspi_stub, REDIS_URL=DEAD_REDIS)
    (LOG_DIR / "api-publish-noredis.log").unlink(missing_ok=True)
    proc, base_url = start_gunicorn("api-publish-noredis", "wsgi:app", env, workers=8)
    try:
        yield base_url
    finally:
        proc.stop()


@pytest.fixture
def server(request, clean_db) -> str:
    name = {
        "redis_lock": "api_server",
        "lock_disabled": "lock_disabled_server",
        "redis_unreachable": "redis_unreachable_server",
    }[request.param]
    base_url = request.getfixturevalue(name)
    warm_up(base_url)
    return base_url


def warm_up(base_url: str, n: int = 32) -> None:
    """Give every worker its first request (imports, pool connections) before timing races."""
    answers = race(base_url, [("GET", "/api/events", {"_user": "warm-up"}) for _ in range(n)])
    assert all(a.status == 200 for a in answers)


# ------------------------------------------------------------------ helpers


@dataclass
class Answer:
    index: int
    status: int
    body: dict
    latency_ms: float
    received_at: datetime


def race(base_url: str, calls: list[tuple[str, str, dict]], on_answer=None) -> list[Answer]:
    """Fire every (method, path, json) call at once from its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> Answer:
        method, path, body = calls[index]
        user = body.pop("_user")
        with requests.Session() as session:
            barrier.wait()
            start = time.perf_counter()
            response = session.request(
                method, base_url + path, json=body or None, headers=auth(user), timeout=60
            )
            latency = (time.perf_counter() - start) * 1000
        try:
            payload = response.json()
        except ValueError:
            payload = {"raw": response.text[:500]}
        answer = Answer(index, response.status_code, payload, latency, datetime.now(UTC))
        if on_answer:
            on_answer(answer)
        return answer

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, range(len(calls))))


def publish_calls(user_id: str, event_ids: list[uuid.UUID], n: int, confirm=True):
    query = "?confirm_credit=1" if confirm else ""
    return [
        ("POST", f"/api/events/{event_ids[i % len(event_ids)]}/publish{query}", {"_user": user_id})
        for i in range(n)
    ]


def event_of(call: tuple[str, str, dict]) -> str:
    return call[1].split("/")[3]


def no_server_errors(answers: list[Answer]) -> None:
    bad = [(a.status, a.body) for a in answers if a.status >= 500]
    assert not bad, bad


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def report_latency(label: str, latencies: list[float]) -> None:
    print(
        f"\n[latency] {label}: n={len(latencies)} "
        f"median={statistics.median(latencies):.1f} ms p99={percentile(latencies, 99):.1f} ms "
        f"max={max(latencies):.1f} ms"
    )


def upgrade_size() -> int:
    """Over the free limit, within the credit's ceiling: both read from the catalog."""
    free = catalog_free_limit()
    ceiling = catalog_credit_product().constraints["max_participants"]
    assert free + 1 <= ceiling
    return free + 1


def personal_setup(app, *, events: int, credits: int) -> tuple[str, list[uuid.UUID]]:
    with app.app_context():
        user = make_user(f"racer-{uuid.uuid4().hex[:8]}")
        if credits:
            grant_credits(user, credits)
        size = upgrade_size()
        ids = [make_event(user, max_participants=size, title=f"E{i}").id for i in range(events)]
        user_id = user.id
        db.session.remove()
    return user_id, ids


@dataclass
class Ledger:
    published: dict[str, bool]  # event id -> upgraded_by_credit, for published events
    consumed: list[str]  # consumed_event_id of every consumed credit
    available: int


def ledger(app, user_id: str) -> Ledger:
    with app.app_context():
        published = {
            str(e.id): e.upgraded_by_credit
            for e in db.session.scalars(
                select(Event).where(Event.owner_id == user_id, Event.published_at.is_not(None))
            )
        }
        credits = db.session.scalars(select(Credit).where(Credit.user_id == user_id)).all()
        consumed = [str(c.consumed_event_id) for c in credits if c.status == "consumed"]
        available = sum(c.status == "available" for c in credits)
        db.session.remove()
    return Ledger(published, consumed, available)


def check_credit_answers(answers: list[Answer], calls, state: Ledger) -> None:
    """Every answer agrees with the final rows; nothing consumed twice."""
    no_server_errors(answers)
    consumed_answers = Counter()
    for answer in answers:
        event_id = event_of(calls[answer.index])
        if answer.status == 200:
            assert event_id in state.published
            assert answer.body["event_id"] == event_id
            if answer.body["credit_consumed"]:
                consumed_answers[event_id] += 1
                assert answer.body["already_published"] is False
        elif answer.status == 402:
            assert answer.body["error"]["reason"] == "PUBLISH_REQUIRES_PAYMENT", answer.body
        else:
            assert (answer.status, answer.body["error"]["code"]) == (409, "PUBLISH_IN_PROGRESS")
    # One credit per event, one event per credit, and each told to exactly one caller.
    assert len(state.consumed) == len(set(state.consumed))
    assert set(state.consumed) == {e for e, upgraded in state.published.items() if upgraded}
    assert consumed_answers == Counter(state.consumed)


# ------------------------------------------------------------------- races


@pytest.mark.parametrize("server", SERVERS, indirect=True)
def test_forty_publishes_of_five_events_with_one_credit(app, server, request):
    user_id, events = personal_setup(app, events=5, credits=1)
    calls = publish_calls(user_id, events, 40)
    answers = race(server, calls)
    state = ledger(app, user_id)

    check_credit_answers(answers, calls, state)
    assert len(state.published) == 1
    assert len(state.consumed) == 1
    assert state.available == 0
    winner = next(iter(state.published))
    assert state.published[winner] is True
    for answer in answers:
        if event_of(calls[answer.index]) != winner:
            assert answer.status in (402, 409)
    if request.node.callspec.id == "redis_unreachable":
        # It really ran without Redis: the workers said so, and carried on.
        log = (LOG_DIR / "api-publish-noredis.log").read_text(errors="replace")
        assert "relying on database locks alone" in log
    statuses = Counter(a.status for a in answers)
    report_latency(
        f"40-way race, 5 events, 1 credit [{request.node.callspec.id}]",
        [a.latency_ms for a in answers],
    )
    print(f"[answers] {dict(statuses)}")


@pytest.mark.parametrize("server", SERVERS, indirect=True)
def test_twenty_publishes_of_one_event_with_three_credits(app, server):
    user_id, events = personal_setup(app, events=1, credits=3)
    calls = publish_calls(user_id, events, 20)
    answers = race(server, calls)
    state = ledger(app, user_id)

    check_credit_answers(answers, calls, state)
    assert state.published == {str(events[0]): True}
    assert len(state.consumed) == 1
    assert state.available == 2
    ok = [a for a in answers if a.status == 200]
    assert sum(a.body["credit_consumed"] for a in ok) == 1
    assert all(a.body["already_published"] for a in ok if not a.body["credit_consumed"])


@pytest.mark.parametrize("server", ["redis_lock", "lock_disabled"], indirect=True)
def test_credit_granted_while_publishes_race(app, server):
    user_id, events = personal_setup(app, events=10, credits=1)
    calls = publish_calls(user_id, events, 40)
    done = Counter()
    lock = threading.Lock()

    def count(_answer):
        with lock:
            done["answers"] += 1

    def grant():
        wait_until(lambda: done["answers"] >= 5, timeout=30, interval=0.002, message="5 answers")
        with app.app_context():
            grant_credits(db.session.get(User, user_id), 2)
            db.session.remove()

    granter = threading.Thread(target=grant)
    granter.start()
    answers = race(server, calls, on_answer=count)
    granter.join(30)
    assert not granter.is_alive()

    check_credit_answers(answers, calls, ledger(app, user_id))
    # Then every event once more, one at a time: the three credits go to exactly three events.
    sweep_calls = publish_calls(user_id, events, len(events))
    everything = list(answers)
    for offset, (_, path, _) in enumerate(sweep_calls):
        response = requests.post(server + path, headers=auth(user_id), timeout=30)
        index = len(calls) + offset
        everything.append(
            Answer(index, response.status_code, response.json(), 0, datetime.now(UTC))
        )
    state = ledger(app, user_id)
    check_credit_answers(everything, calls + sweep_calls, state)
    assert len(state.consumed) == 3
    assert len(state.published) == 3
    assert all(state.published.values())
    assert state.available == 0
    assert sum(a.status == 200 and a.body["credit_consumed"] for a in everything) == 3


@pytest.mark.parametrize("server", ["redis_lock", "lock_disabled"], indirect=True)
def test_subscription_expiring_while_club_publishes_race(app, server):
    with app.app_context():
        owner = make_user(f"owner-{uuid.uuid4().hex[:8]}")
        club = make_club(owner)
        make_subscription(club, "club_50", "active")
        size = db.session.get(Plan, "club_50").max_event_participants
        events = [make_event(owner, club=club, max_participants=size).id for _ in range(40)]
        owner_id, club_id = owner.id, club.id
        db.session.remove()
    calls = publish_calls(owner_id, events, 40, confirm=False)
    done = Counter()
    lock = threading.Lock()
    marks: dict[str, datetime] = {}

    def count(_answer):
        with lock:
            done["answers"] += 1

    def expire():
        wait_until(lambda: done["answers"] >= 3, timeout=30, interval=0.002, message="3 answers")
        with app.app_context():
            marks["start"] = datetime.now(UTC)
            db.session.execute(
                text("UPDATE club_subscriptions SET status = 'expired' WHERE club_id = :c"),
                {"c": club_id},
            )
            db.session.commit()
            marks["committed"] = datetime.now(UTC)
            db.session.remove()

    expirer = threading.Thread(target=expire)
    expirer.start()
    answers = race(server, calls, on_answer=count)
    expirer.join(30)
    assert not expirer.is_alive() and "committed" in marks

    no_server_errors(answers)
    with app.app_context():
        rows = {
            str(e.id): e for e in db.session.scalars(select(Event).where(Event.club_id == club_id))
        }
        db.session.remove()
    ok = 0
    for answer in answers:
        event = rows[event_of(calls[answer.index])]
        if answer.status == 200:
            ok += 1
            assert answer.body["credit_consumed"] is False
            # Published while the subscription was still active: before the expiry committed.
            assert event.published_at is not None and event.published_at <= marks["committed"]
        else:
            assert answer.status == 402, answer.body
            assert answer.body["error"]["reason"] == "SUBSCRIPTION_NOT_ACTIVE"
            assert event.published_at is None
            # Only the committed expiry can have been seen.
            assert answer.received_at >= marks["start"]
    assert ok >= 3
    assert ok == sum(e.published_at is not None for e in rows.values())
    assert not any(e.upgraded_by_credit for e in rows.values())
    print(f"\n[answers] club race with expiry: {dict(Counter(a.status for a in answers))}")
    # The final state holds for whoever comes next.
    with app.app_context():
        owner, club = db.session.get(User, owner_id), db.session.get(Club, club_id)
        late_event = make_event(owner, club=club, max_participants=1).id
        db.session.remove()
    late = requests.post(
        f"{server}/api/events/{late_event}/publish", headers=auth(owner_id), timeout=30
    )
    assert late.status_code == 402
    assert late.json()["error"]["reason"] == "SUBSCRIPTION_NOT_ACTIVE"


def test_concurrent_member_adds_never_exceed_the_plan(app, clean_db, api_server):
    with app.app_context():
        owner = make_user(f"owner-{uuid.uuid4().hex[:8]}")
        club = make_club(owner)
        make_subscription(club, "club_50", "active")
        db.session.get(Plan, "club_50").max_members = 5  # clean_db restores the catalog
        db.session.commit()
        for who in [f"m{i}" for i in range(20)] + ["same"]:
            make_user(who)  # only users who have signed in can be added
        owner_id, club_id = owner.id, club.id
        db.session.remove()
    path = f"/api/clubs/{club_id}/members"
    calls = [("POST", path, {"_user": owner_id, "user_id": f"m{i}"}) for i in range(20)]
    calls += [("POST", path, {"_user": owner_id, "user_id": "same"}) for _ in range(10)]
    answers = race(api_server, calls)
    no_server_errors(answers)
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(ClubMember).where(ClubMember.club_id == club_id)
        )
        same = db.session.scalar(
            select(func.count())
            .select_from(ClubMember)
            .where(ClubMember.club_id == club_id, ClubMember.user_id == "same")
        )
        db.session.remove()
    created = [a for a in answers if a.status == 201]
    assert count == 5 and len(created) == 4
    assert same <= 1
    for answer in answers:
        if answer.status == 402:
            assert answer.body["error"]["reason"] == "MAX_CLUB_MEMBERS_EXCEEDED"
        elif answer.status == 409:
            assert answer.body["error"]["code"] == "ALREADY_A_MEMBER"
            assert calls[answer.index][2]["user_id"] == "same"
        else:
            assert answer.status == 201, answer.body


# ------------------------------------------------------------------ latency


def test_sequential_uncontended_publish_latency(app, clean_db, api_server):
    user_id, events = personal_setup(app, events=50, credits=50)
    latencies = []
    with requests.Session() as session:
        for event_id in events:
            start = time.perf_counter()
            response = session.post(
                f"{api_server}/api/events/{event_id}/publish?confirm_credit=1",
                headers=auth(user_id),
                timeout=30,
            )
            latencies.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.text
            assert response.json()["credit_consumed"] is True
    state = ledger(app, user_id)
    assert len(state.consumed) == 50 and state.available == 0
    report_latency("50 sequential uncontended confirmed publishes", latencies)
