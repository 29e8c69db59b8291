"""POST /api/events/ID/publish: every row of the decision table, over HTTP.

Limits and prices are read from the catalog rows (never written here), and one
test changes them in the database and sees the answers follow.
"""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.billing.core.models import Credit
from app.catalog.models import Plan, PolicyAction, Product
from app.events.models import Event
from app.events.publish_lock import _STATE_KEY as REDIS_BACKOFF_STATE
from app.events.publish_lock import lock_key
from tests.conftest import auth
from tests.support.factories import (
    add_member,
    catalog_cheapest_plan,
    catalog_credit_product,
    catalog_free_limit,
    catalog_plan_option,
    grant_credits,
    make_club,
    make_event,
    make_subscription,
    make_user,
    now,
)

pytestmark = pytest.mark.db


# ------------------------------------------------------------------ helpers


def publish(client, event, user, confirm=None):
    path = f"/api/events/{event.id if hasattr(event, 'id') else event}/publish"
    if confirm is not None:
        path += f"?confirm_credit={confirm}"
    return client.post(path, headers=auth(user.id if hasattr(user, "id") else user))


def error_of(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def credit_option():
    product = catalog_credit_product()
    return {
        "type": "ONE_OFF_CREDIT",
        "product_code": product.code,
        "price": {"amount": str(product.price), "currency": product.currency},
        "provider": "kaspi",
    }


def ceiling():
    return catalog_credit_product().constraints["max_participants"]


def credit_states(db_session, user):
    db_session.expire_all()
    return sorted(
        (c.status, c.consumed_event_id)
        for c in db_session.scalars(select(Credit).where(Credit.user_id == user.id))
    )


def reload(db_session, event):
    db_session.expire_all()
    return db_session.get(Event, event.id)


def assert_draft(db_session, event):
    row = reload(db_session, event)
    assert row.published_at is None
    assert row.upgraded_by_credit is False


def assert_published(response, event, *, credit_consumed, already=False):
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"event_id", "published_at", "credit_consumed", "already_published"}
    assert body["event_id"] == str(event.id)
    assert body["published_at"]
    assert body["credit_consumed"] is credit_consumed
    assert body["already_published"] is already
    return body


@pytest.fixture
def alice(db_session):
    return make_user("alice")


# ------------------------------------------------- 1. auth, visibility, roles


def test_unauthenticated_is_401_and_publishes_nothing(client, db_session, alice):
    event = make_event(alice, max_participants=catalog_free_limit())
    error_of(client.post(f"/api/events/{event.id}/publish"), 401, "UNAUTHENTICATED")
    assert_draft(db_session, event)


@pytest.mark.parametrize(
    "event_id",
    [pytest.param(str(uuid.uuid4()), id="unknown-uuid"), "not-a-uuid", "123", "%20", "a" * 300],
)
def test_missing_or_malformed_event_id_is_404(client, alice, event_id):
    error_of(publish(client, event_id, alice), 404, "EVENT_NOT_FOUND")


def test_nul_in_the_event_id_is_a_client_error(client, alice):
    response = publish(client, "%00", alice)
    assert response.status_code in (400, 404)
    assert response.get_json()["error"]["code"] in ("VALIDATION_ERROR", "EVENT_NOT_FOUND")


def test_strangers_draft_is_404_and_stays_draft(client, db_session, alice):
    event = make_event(alice, max_participants=2)
    error_of(publish(client, event, "mallory"), 404, "EVENT_NOT_FOUND")
    assert_draft(db_session, event)


def test_strangers_published_event_is_403(client, alice):
    event = make_event(alice, max_participants=2, published=True)
    error_of(publish(client, event, "mallory"), 403, "FORBIDDEN")


def test_club_member_without_role_is_403_and_admin_may_publish(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("member"), "member")
    add_member(club, make_user("admin"), "admin")
    event = make_event(alice, club=club, max_participants=catalog_free_limit())
    error_of(publish(client, event, "member"), 403, "FORBIDDEN")
    error_of(publish(client, event, "outsider"), 404, "EVENT_NOT_FOUND")
    assert_draft(db_session, event)
    assert_published(publish(client, event, "admin"), event, credit_consumed=False)


def test_club_event_created_by_a_former_admin_is_published_by_the_owner(client, alice):
    club = make_club(alice)
    bob = make_user("bob")
    add_member(club, bob, "member")
    event = make_event(bob, club=club, max_participants=1)  # bob made it; now a plain member
    error_of(publish(client, event, bob), 403, "FORBIDDEN")
    assert_published(publish(client, event, alice), event, credit_consumed=False)


# ------------------------------------------------------ 2. already published


def test_already_published_answers_200_and_consumes_nothing(client, db_session, alice):
    grant_credits(alice, 2)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    first = assert_published(publish(client, event, alice, 1), event, credit_consumed=True)
    again = assert_published(
        publish(client, event, alice, 1), event, credit_consumed=False, already=True
    )
    assert again["published_at"] == first["published_at"]
    states = credit_states(db_session, alice)
    assert [s for s, _ in states].count("available") == 1


def test_published_event_over_every_limit_is_still_just_already_published(client, alice):
    event = make_event(alice, max_participants=None, published=True)
    assert_published(publish(client, event, alice), event, credit_consumed=False, already=True)


# ------------------------------------------------------- 3. personal events


@pytest.mark.parametrize("size", ["one", "free_limit"])
def test_within_the_free_limit_publishes_free_even_with_credits(client, db_session, alice, size):
    grant_credits(alice, 1)
    wanted = 1 if size == "one" else catalog_free_limit()
    event = make_event(alice, max_participants=wanted)
    assert_published(publish(client, event, alice, 1), event, credit_consumed=False)
    assert reload(db_session, event).upgraded_by_credit is False
    assert credit_states(db_session, alice) == [("available", None)]


def test_between_limits_with_a_credit_asks_for_confirmation(client, db_session, alice):
    grant_credits(alice, 1)
    wanted = catalog_free_limit() + 1
    event = make_event(alice, max_participants=wanted)
    for confirm in (None, "0", "false"):
        response = publish(client, event, alice, confirm)
        assert response.status_code == 409
        assert response.get_json() == {
            "error": {
                "code": "CREDIT_CONFIRMATION_REQUIRED",
                "message": response.get_json()["error"]["message"],
                "request_id": response.headers["X-Request-ID"],
                "reason": "EVENT_UPGRADE_WILL_BE_CONSUMED",
                "meta": {
                    "credit_code": catalog_credit_product().code,
                    "event_id": str(event.id),
                    "requested_participants": wanted,
                },
                "cta": {
                    "type": "CONFIRM_CONSUME_CREDIT",
                    "href": f"/api/events/{event.id}/publish?confirm_credit=1",
                },
            }
        }
    assert_draft(db_session, event)
    assert credit_states(db_session, alice) == [("available", None)]


@pytest.mark.parametrize("confirm", ["1", "true"])
def test_confirmed_consumes_the_oldest_credit_and_publishes(client, db_session, alice, confirm):
    first = grant_credits(alice, 1)[0]
    grant_credits(alice, 1)
    # One test transaction gives every row the same now(): make the age explicit.
    first.created_at = now() - timedelta(days=1)
    db_session.commit()
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    assert_published(publish(client, event, alice, confirm), event, credit_consumed=True)
    row = reload(db_session, event)
    assert row.published_at is not None and row.upgraded_by_credit is True
    oldest = db_session.get(Credit, first.id)
    assert oldest.status == "consumed"
    assert oldest.consumed_event_id == event.id and oldest.consumed_at is not None
    assert sorted(s for s, _ in credit_states(db_session, alice)) == ["available", "consumed"]


def test_exactly_the_ceiling_can_use_a_credit(client, alice):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=ceiling())
    assert_published(publish(client, event, alice, 1), event, credit_consumed=True)


def test_between_limits_without_a_credit_is_paywalled_with_both_options(client, db_session, alice):
    wanted = catalog_free_limit() + 1
    event = make_event(alice, max_participants=wanted)
    error = error_of(publish(client, event, alice, 1), 402, "PAYWALL")
    plan = catalog_cheapest_plan(wanted)
    assert error["reason"] == "PUBLISH_REQUIRES_PAYMENT"
    assert error["current_plan_id"] == db_session.scalar(select(Plan.id).where(Plan.is_default))
    assert error["required_plan_id"] == plan
    assert error["options"] == [credit_option(), catalog_plan_option(plan)]
    assert error["meta"]["event_id"] == str(event.id)
    assert error["meta"]["requested_participants"] == wanted
    assert set(error) == {
        "code",
        "message",
        "reason",
        "current_plan_id",
        "required_plan_id",
        "meta",
        "options",
        "request_id",
    }
    assert_draft(db_session, event)


def test_the_club_option_grows_with_the_event(client, alice):
    wanted = ceiling()
    event = make_event(alice, max_participants=wanted)
    error = error_of(publish(client, event, alice), 402, "PAYWALL")
    assert error["options"][1] == catalog_plan_option(catalog_cheapest_plan(wanted))


def test_other_users_and_spent_credits_do_not_count(client, db_session, alice):
    grant_credits(make_user("bob"), 3)
    spent = grant_credits(alice, 2)
    used_on = make_event(alice, published=True).id
    spent[0].status = "revoked"
    spent[1].status = "consumed"
    spent[1].consumed_event_id = used_on
    spent[1].consumed_at = now()
    db_session.commit()
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    error = error_of(publish(client, event, alice, 1), 402, "PAYWALL")
    assert error["reason"] == "PUBLISH_REQUIRES_PAYMENT"


@pytest.mark.parametrize("size", ["ceiling_plus_one", "unlimited"])
def test_over_the_ceiling_needs_a_club_and_keeps_the_credits(client, db_session, alice, size):
    grant_credits(alice, 2)
    wanted = None if size == "unlimited" else ceiling() + 1
    event = make_event(alice, max_participants=wanted)
    error = error_of(publish(client, event, alice, 1), 402, "PAYWALL")
    plan = catalog_cheapest_plan(wanted)
    assert error["reason"] == "CLUB_REQUIRED_FOR_LARGE_EVENT"
    assert error["required_plan_id"] == plan
    assert error["options"] == [catalog_plan_option(plan)]
    assert error["meta"]["requested_participants"] == wanted
    assert_draft(db_session, event)
    assert credit_states(db_session, alice) == [("available", None)] * 2


def test_withdrawn_product_is_not_offered_but_held_credits_still_work(client, db_session, alice):
    product = catalog_credit_product()
    product.active = False
    db_session.commit()
    wanted = catalog_free_limit() + 1
    event = make_event(alice, max_participants=wanted)
    error = error_of(publish(client, event, alice, 1), 402, "PAYWALL")
    assert error["reason"] == "PUBLISH_REQUIRES_PAYMENT"
    assert [o["type"] for o in error["options"]] == ["CLUB_ACCESS"]
    grant_credits(alice, 1, code=product.code)
    assert_published(publish(client, event, alice, 1), event, credit_consumed=True)


@pytest.mark.parametrize("value", ["yes", "2", "TRUE", "", "1 ", "on"])
def test_confirm_credit_accepts_only_known_values(client, db_session, alice, value):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    error = error_of(publish(client, event, alice, value), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "confirm_credit"
    assert_draft(db_session, event)
    assert credit_states(db_session, alice) == [("available", None)]


# ---------------------------------------------- the catalog is the only source


def test_prices_and_limits_follow_the_database(client, db_session, alice):
    free_plan = db_session.scalar(select(Plan).where(Plan.is_default))
    product = catalog_credit_product()
    new_free = free_plan.max_event_participants + 5
    new_ceiling = new_free + 50
    free_plan.max_event_participants = new_free
    product.price = Decimal("1234.50")
    product.constraints = {**product.constraints, "max_participants": new_ceiling}
    club_plan = catalog_cheapest_plan(new_free + 1)
    db_session.scalar(select(Product).where(Product.plan_id == club_plan)).price = Decimal("4321")
    db_session.commit()

    small = make_event(alice, max_participants=new_free)  # over the seed's free limit
    assert_published(publish(client, small, alice), small, credit_consumed=False)

    middle = make_event(alice, max_participants=new_free + 1)
    error = error_of(publish(client, middle, alice, 1), 402, "PAYWALL")
    assert error["reason"] == "PUBLISH_REQUIRES_PAYMENT"
    assert [o["price"] for o in error["options"]] == [
        {"amount": "1234.50", "currency": product.currency},
        {"amount": "4321.00", "currency": catalog_plan_option(club_plan)["price"]["currency"]},
    ]
    assert error["meta"]["free_limit"] == new_free
    assert error["meta"]["credit_ceiling"] == new_ceiling

    grant_credits(alice, 1, code=product.code)
    large = make_event(alice, max_participants=new_ceiling + 1)  # under the seed's ceiling
    error = error_of(publish(client, large, alice, 1), 402, "PAYWALL")
    assert error["reason"] == "CLUB_REQUIRED_FOR_LARGE_EVENT"
    assert_published(publish(client, middle, alice, 1), middle, credit_consumed=True)


# ----------------------------------------------------------- 4. club events


def club_with(owner, plan_id=None, status="active"):
    club = make_club(owner)
    if plan_id is not None:
        make_subscription(club, plan_id, status)
    return club


def plan_limit(db_session, plan_id):
    return db_session.get(Plan, plan_id).max_event_participants


def test_club_without_subscription_has_the_free_plan(client, db_session, alice):
    club = club_with(alice)
    free = catalog_free_limit()
    ok = make_event(alice, club=club, max_participants=free)
    assert_published(publish(client, ok, alice), ok, credit_consumed=False)

    over = make_event(alice, club=club, max_participants=free + 1)
    error = error_of(publish(client, over, alice), 402, "PAYWALL")
    plan = catalog_cheapest_plan(free + 1)
    assert error["reason"] == "MAX_EVENT_PARTICIPANTS_EXCEEDED"
    assert error["current_plan_id"] == db_session.scalar(select(Plan.id).where(Plan.is_default))
    assert error["required_plan_id"] == plan
    assert error["options"] == [catalog_plan_option(plan)]
    assert error["meta"]["plan_limit"] == free
    assert_draft(db_session, over)


def test_paid_event_on_a_plan_without_paid_events(client, db_session, alice):
    club = club_with(alice)
    event = make_event(alice, club=club, max_participants=1, is_paid=True)
    error = error_of(publish(client, event, alice), 402, "PAYWALL")
    plan = catalog_cheapest_plan(1, paid=True)
    assert error["reason"] == "PAID_EVENTS_NOT_ALLOWED"
    assert error["required_plan_id"] == plan
    assert error["options"] == [catalog_plan_option(plan)]
    assert_draft(db_session, event)


@pytest.mark.parametrize("plan_id", ["club_50", "club_500"])
def test_active_plan_limits(client, db_session, alice, plan_id):
    club = club_with(alice, plan_id)
    limit = plan_limit(db_session, plan_id)
    ok = make_event(alice, club=club, max_participants=limit, is_paid=True)
    assert_published(publish(client, ok, alice), ok, credit_consumed=False)
    over = make_event(alice, club=club, max_participants=limit + 1)
    error = error_of(publish(client, over, alice), 402, "PAYWALL")
    assert error["reason"] == "MAX_EVENT_PARTICIPANTS_EXCEEDED"
    assert error["current_plan_id"] == plan_id
    assert error["required_plan_id"] == catalog_cheapest_plan(limit + 1)


def test_unlimited_plan_takes_unlimited_events(client, alice):
    club = club_with(alice, "club_unlimited")
    event = make_event(alice, club=club, max_participants=None, is_paid=True)
    assert_published(publish(client, event, alice), event, credit_consumed=False)


def test_grace_keeps_publishing(client, alice):
    club = club_with(alice, "club_50", status="grace")
    event = make_event(alice, club=club, max_participants=catalog_free_limit() + 1)
    assert_published(publish(client, event, alice), event, credit_consumed=False)


@pytest.mark.parametrize("status", ["pending", "expired"])
def test_denied_status_is_subscription_not_active(client, db_session, alice, status):
    club = club_with(alice, "club_500", status=status)
    event = make_event(alice, club=club, max_participants=1)
    error = error_of(publish(client, event, alice), 402, "PAYWALL")
    assert error["reason"] == "SUBSCRIPTION_NOT_ACTIVE"
    assert error["meta"]["subscription_status"] == status
    # Renewing the club's own plan is what it needs.
    assert error["required_plan_id"] == "club_500"
    assert error["options"] == [catalog_plan_option("club_500")]
    assert_draft(db_session, event)


def test_policy_table_is_data(client, db_session, alice):
    club = club_with(alice, "club_50", status="expired")
    event = make_event(alice, club=club, max_participants=1)
    error_of(publish(client, event, alice), 402, "PAYWALL")
    db_session.get(PolicyAction, ("expired", "publish_event")).allowed = True
    db_session.commit()
    assert_published(publish(client, event, alice), event, credit_consumed=False)


def test_credits_never_apply_to_club_events(client, db_session, alice):
    grant_credits(alice, 2)
    club = club_with(alice)
    event = make_event(alice, club=club, max_participants=catalog_free_limit() + 1)
    error = error_of(publish(client, event, alice, 1), 402, "PAYWALL")
    assert error["reason"] == "MAX_EVENT_PARTICIPANTS_EXCEEDED"
    assert all(o["type"] == "CLUB_ACCESS" for o in error["options"])
    assert credit_states(db_session, alice) == [("available", None)] * 2


def test_plan_limits_follow_the_database(client, db_session, alice):
    club = club_with(alice, "club_50")
    db_session.get(Plan, "club_50").max_event_participants = 30
    db_session.commit()
    event = make_event(alice, club=club, max_participants=31)
    error = error_of(publish(client, event, alice), 402, "PAYWALL")
    assert error["meta"]["plan_limit"] == 30


# ---------------------------------------------------------- the Redis lock


def test_lock_is_released_after_publishing(client, app, alice):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    assert_published(publish(client, event, alice, 1), event, credit_consumed=True)
    assert app.extensions["redis"].exists(lock_key(alice.id)) == 0


def test_busy_lock_is_409_publish_in_progress(client, app, db_session, alice, monkeypatch):
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    monkeypatch.setitem(app.config, "PUBLISH_LOCK_WAIT_S", 0.05)
    held = app.extensions["redis"].lock(lock_key(alice.id), timeout=5)
    assert held.acquire(blocking=False)
    try:
        response = publish(client, event, alice, 1)
        error_of(response, 409, "PUBLISH_IN_PROGRESS")
        assert response.headers["Retry-After"] == "1"
        assert_draft(db_session, event)
        # Another user is not held up by alice's lock.
        bob = make_user("bob")
        small = make_event(bob, max_participants=1)
        assert_published(publish(client, small, bob), small, credit_consumed=False)
    finally:
        held.release()
    assert_published(publish(client, event, alice, 1), event, credit_consumed=True)


def test_lock_disabled_still_publishes(client, app, alice, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLISH_LOCK_ENABLED", False)
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    held = app.extensions["redis"].lock(lock_key(alice.id), timeout=5)
    assert held.acquire(blocking=False)
    try:
        assert_published(publish(client, event, alice, 1), event, credit_consumed=True)
    finally:
        held.release()


def test_redis_down_logs_a_warning_and_publishes(client, app, alice, monkeypatch, caplog):
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    # Alembic's fileConfig (run by the app fixture's upgrade) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("app.events.publish_lock"), "disabled", False)
    monkeypatch.setitem(app.extensions, "redis", dead)
    reset_redis_backoff_in(app)
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    try:
        with caplog.at_level(logging.WARNING, logger="app.events.publish_lock"):
            assert_published(publish(client, event, alice, 1), event, credit_consumed=True)
        assert any("relying on database locks" in r.getMessage() for r in caplog.records)
    finally:
        reset_redis_backoff_in(app)


def reset_redis_backoff_in(app):
    # No app context here: pushing one would end the test's database session.
    app.extensions.pop(REDIS_BACKOFF_STATE, None)


# ------------------------------------------------------------------ OpenAPI


def test_openapi_documents_the_events_and_clubs_endpoints(client):
    doc = client.get("/openapi.json").get_json()
    paths = doc["paths"]
    publish_op = paths["/api/events/{event_id}/publish"]["post"]
    assert any(p["name"] == "confirm_credit" for p in publish_op["parameters"])
    assert {"200", "402", "403", "404", "409"} <= set(publish_op["responses"])
    assert "requestBody" in paths["/api/events"]["post"]
    assert "patch" in paths["/api/events/{event_id}"]
    assert "requestBody" in paths["/api/clubs/{club_id}/members"]["post"]
    schemas = doc["components"]["schemas"]
    assert {"EventCreateIn", "EventOut", "PublishOut", "ClubOut", "MemberAddIn"} <= set(schemas)
