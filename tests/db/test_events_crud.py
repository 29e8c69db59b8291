"""Drafts and events: create, list, read, edit (with the entitlement re-check), bad input."""

import json
import uuid

import pytest
from sqlalchemy import func, select

from app.billing.core.models import Credit
from app.catalog.models import Plan
from app.events.models import Event
from tests.conftest import auth
from tests.support.envelope import error_of
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
)

pytestmark = pytest.mark.db

EVENT_FIELDS = {
    "id",
    "title",
    "max_participants",
    "club_id",
    "is_paid",
    "published_at",
    "upgraded_by_credit",
    "owner_id",
    "created_at",
    "updated_at",
}


def event_count(db_session):
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Event))


def create(client, user="alice", **body):
    return client.post("/api/events", json=body, headers=auth(user))


def patch(client, event, user="alice", **body):
    return client.patch(f"/api/events/{event.id}", json=body, headers=auth(user))


def row(db_session, event):
    db_session.expire_all()
    return db_session.get(Event, event.id)


@pytest.fixture
def alice(db_session):
    return make_user("alice")


# ------------------------------------------------------------------ create


def test_create_a_personal_draft(client, db_session):
    response = create(client, title="  Chess night ", max_participants=12)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == EVENT_FIELDS
    assert body["title"] == "Chess night"
    assert body["max_participants"] == 12
    assert body["club_id"] is None
    assert body["is_paid"] is False
    assert body["published_at"] is None
    assert body["upgraded_by_credit"] is False
    assert body["owner_id"] == "alice"
    stored = db_session.get(Event, uuid.UUID(body["id"]))
    assert stored.owner_id == "alice" and stored.published_at is None


def test_create_unlimited_and_paid(client):
    body = create(client, title="Open day", max_participants=None, is_paid=True).get_json()
    assert body["max_participants"] is None and body["is_paid"] is True


def test_create_in_a_club_as_owner_and_admin(client, alice):
    club = make_club(alice)
    add_member(club, make_user("admin"), "admin")
    for user in ("alice", "admin"):
        response = create(client, user, title="Club", max_participants=5, club_id=str(club.id))
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["club_id"] == str(club.id)


def test_create_in_a_club_refused_for_members_and_outsiders(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("member"), "member")
    before = event_count(db_session)
    body = {"title": "Club", "max_participants": 5, "club_id": str(club.id)}
    error_of(create(client, "member", **body), 403, "FORBIDDEN")
    error_of(create(client, "outsider", **body), 404, "CLUB_NOT_FOUND")
    error_of(
        create(client, "alice", **{**body, "club_id": str(uuid.uuid4())}), 404, "CLUB_NOT_FOUND"
    )
    assert event_count(db_session) == before


@pytest.mark.parametrize("status", ["pending", "expired"])
def test_create_in_a_club_whose_subscription_denies_it(client, db_session, alice, status):
    club = make_club(alice)
    make_subscription(club, "club_50", status)
    before = event_count(db_session)
    response = create(client, title="Club", max_participants=5, club_id=str(club.id))
    error = error_of(response, 402, "PAYWALL")
    assert error["reason"] == "SUBSCRIPTION_NOT_ACTIVE"
    assert error["required_plan_id"] == "club_50"
    assert error["options"] == [catalog_plan_option("club_50")]
    assert event_count(db_session) == before


def test_create_in_a_club_in_grace(client, alice):
    club = make_club(alice)
    make_subscription(club, "club_50", "grace")
    response = create(client, title="Club", max_participants=500, club_id=str(club.id))
    assert response.status_code == 201  # drafts are not limited; publishing is


BAD_CREATE_BODIES = [
    ("missing title", {"max_participants": 5}),
    ("missing max_participants", {"title": "x"}),
    ("blank title", {"title": "   ", "max_participants": 5}),
    ("empty title", {"title": "", "max_participants": 5}),
    ("title too long", {"title": "x" * 201, "max_participants": 5}),
    ("title a number", {"title": 5, "max_participants": 5}),
    ("title null", {"title": None, "max_participants": 5}),
    ("zero participants", {"title": "x", "max_participants": 0}),
    ("negative participants", {"title": "x", "max_participants": -1}),
    ("participants a string", {"title": "x", "max_participants": "10"}),
    ("participants a float", {"title": "x", "max_participants": 10.5}),
    ("participants a whole float", {"title": "x", "max_participants": 10.0}),
    ("participants a bool", {"title": "x", "max_participants": True}),
    ("participants overflow", {"title": "x", "max_participants": 2**31}),
    ("participants huge", {"title": "x", "max_participants": 10**40}),
    ("is_paid a string", {"title": "x", "max_participants": 5, "is_paid": "yes"}),
    ("is_paid a number", {"title": "x", "max_participants": 5, "is_paid": 1}),
    ("club_id not a uuid", {"title": "x", "max_participants": 5, "club_id": "abc"}),
    ("club_id a number", {"title": "x", "max_participants": 5, "club_id": 7}),
    ("unknown field", {"title": "x", "max_participants": 5, "owner_id": "bob"}),
    ("published_at sent", {"title": "x", "max_participants": 5, "published_at": "2024-01-01"}),
]


@pytest.mark.parametrize(
    "body", [b[1] for b in BAD_CREATE_BODIES], ids=[b[0] for b in BAD_CREATE_BODIES]
)
def test_bad_create_bodies_are_400_and_create_nothing(client, db_session, body):
    before = event_count(db_session)
    error = error_of(create(client, **body), 400, "VALIDATION_ERROR")
    assert error["details"] and all("field" in d for d in error["details"])
    assert event_count(db_session) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "MALFORMED_JSON"),
        (b'{"title": "x", "max_participants": 5', "application/json", 400, "MALFORMED_JSON"),
        (b"[1, 2]", "application/json", 400, "VALIDATION_ERROR"),
        (b'"text"', "application/json", 400, "VALIDATION_ERROR"),
        (b"null", "application/json", 400, "VALIDATION_ERROR"),
        (b"", "application/json", 400, "VALIDATION_ERROR"),
        (b"title=x", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"\xff\xfe", "application/json", 400, "MALFORMED_JSON"),
    ],
)
def test_malformed_create_requests(client, db_session, data, content_type, status, code):
    before = event_count(db_session)
    response = client.post(
        "/api/events", data=data, headers={**auth("alice"), "Content-Type": content_type}
    )
    error_of(response, status, code)
    assert event_count(db_session) == before


def test_create_needs_authentication(client, db_session):
    before = event_count(db_session)
    error_of(client.post("/api/events", json={"title": "x", "max_participants": 1}), 401)
    assert event_count(db_session) == before


# -------------------------------------------------------------- list, read


def test_list_has_my_events_those_of_clubs_i_manage_and_published_ones_of_my_clubs(client, alice):
    bob = make_user("bob")
    mine = make_event(alice, title="mine")
    theirs = make_event(bob, title="theirs", published=True)
    managed = make_club(bob, "Managed")
    add_member(managed, alice, "admin")
    in_managed = make_event(bob, club=managed, title="managed")
    joined = make_club(bob, "Joined")
    add_member(joined, alice, "member")
    in_joined = make_event(bob, club=joined, title="joined")
    # A plain member's club page lists the club's published events (not its drafts).
    live_in_joined = make_event(bob, club=joined, title="joined, live", published=True)
    body = client.get("/api/events", headers=auth("alice")).get_json()
    ids = {e["id"] for e in body["events"]}
    assert ids == {str(mine.id), str(in_managed.id), str(live_in_joined.id)}
    assert str(theirs.id) not in ids and str(in_joined.id) not in ids
    assert all(set(e) == EVENT_FIELDS for e in body["events"])
    assert client.get("/api/events", headers=auth("nobody")).get_json() == {"events": []}


def test_published_events_are_visible_to_everyone(client, alice):
    event = make_event(alice, published=True)
    body = client.get(f"/api/events/{event.id}", headers=auth("stranger")).get_json()
    assert body["id"] == str(event.id) and body["published_at"]


def test_drafts_are_visible_to_the_owner_and_club_members_only(client, alice):
    draft = make_event(alice)
    assert client.get(f"/api/events/{draft.id}", headers=auth("alice")).status_code == 200
    error_of(
        client.get(f"/api/events/{draft.id}", headers=auth("stranger")), 404, "EVENT_NOT_FOUND"
    )
    club = make_club(alice)
    add_member(club, make_user("member"), "member")
    club_draft = make_event(alice, club=club)
    assert client.get(f"/api/events/{club_draft.id}", headers=auth("member")).status_code == 200
    error_of(
        client.get(f"/api/events/{club_draft.id}", headers=auth("stranger")), 404, "EVENT_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "event_id", [pytest.param(str(uuid.uuid4()), id="unknown-uuid"), "nope", "1", "ffff" * 20]
)
def test_read_missing_or_malformed_is_404(client, event_id):
    error_of(client.get(f"/api/events/{event_id}", headers=auth("alice")), 404, "EVENT_NOT_FOUND")


def test_read_needs_authentication(client, alice):
    event = make_event(alice, published=True)
    error_of(client.get(f"/api/events/{event.id}"), 401, "UNAUTHENTICATED")
    error_of(client.get("/api/events"), 401, "UNAUTHENTICATED")


# -------------------------------------------------------------------- edit


def test_drafts_are_free_to_edit(client, db_session, alice):
    event = make_event(alice, max_participants=5)
    response = patch(client, event, title="Bigger", max_participants=None, is_paid=True)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["title"], body["max_participants"], body["is_paid"]) == ("Bigger", None, True)
    stored = row(db_session, event)
    assert (stored.title, stored.max_participants, stored.is_paid) == ("Bigger", None, True)
    assert stored.published_at is None


def test_only_sent_fields_change(client, db_session, alice):
    event = make_event(alice, max_participants=7, title="Keep")
    assert patch(client, event, is_paid=True).status_code == 200
    stored = row(db_session, event)
    assert (stored.title, stored.max_participants, stored.is_paid) == ("Keep", 7, True)


def test_strangers_and_members_cannot_edit(client, db_session, alice):
    draft = make_event(alice, max_participants=5)
    published = make_event(alice, max_participants=5, published=True)
    error_of(patch(client, draft, "stranger", title="x"), 404, "EVENT_NOT_FOUND")
    error_of(patch(client, published, "stranger", title="x"), 403, "FORBIDDEN")
    club = make_club(alice)
    add_member(club, make_user("member"), "member")
    club_draft = make_event(alice, club=club, max_participants=5)
    error_of(patch(client, club_draft, "member", title="x"), 403, "FORBIDDEN")
    assert {row(db_session, e).title for e in (draft, published, club_draft)} == {"Meetup"}


def test_club_admin_can_edit_club_events(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("admin"), "admin")
    event = make_event(alice, club=club, max_participants=5)
    assert patch(client, event, "admin", title="By admin").status_code == 200
    assert row(db_session, event).title == "By admin"


def edit_refused(client, db_session, event, reason, **changes):
    """PATCH ``changes``: 402 PAYWALL with ``reason``, and the stored row exactly as before."""
    fields = ("title", "max_participants", "is_paid", "published_at", "upgraded_by_credit")
    stored = row(db_session, event)
    before = tuple(getattr(stored, f) for f in fields)
    error = error_of(patch(client, event, **changes), 402, "PAYWALL")
    assert error["reason"] == reason
    stored = row(db_session, event)
    assert tuple(getattr(stored, f) for f in fields) == before
    return error


def test_published_free_event_keeps_the_free_limit(client, db_session, alice):
    """Enlarging past the free limit asks, as publish does (tests/db/test_event_enlarge.py)."""
    free = catalog_free_limit()
    grant_credits(alice, 1)
    event = make_event(alice, max_participants=free - 2, published=True)
    assert patch(client, event, max_participants=free).status_code == 200
    error_of(patch(client, event, max_participants=free + 1), 409, "CREDIT_CONFIRMATION_REQUIRED")
    # Nothing consumed implicitly: the credit is still there, the event not upgraded.
    assert db_session.scalar(select(Credit.status).where(Credit.user_id == "alice")) == "available"
    assert row(db_session, event).upgraded_by_credit is False
    assert row(db_session, event).max_participants == free


def test_published_event_can_be_lowered_and_renamed(client, db_session, alice):
    event = make_event(alice, max_participants=catalog_free_limit(), published=True)
    assert patch(client, event, max_participants=1, title="Smaller").status_code == 200
    assert row(db_session, event).max_participants == 1


def test_upgraded_event_keeps_the_product_ceiling(client, db_session, alice):
    ceiling = catalog_credit_product().constraints["max_participants"]
    grant_credits(alice, 2)
    event = make_event(alice, max_participants=catalog_free_limit() + 1)
    response = client.post(
        f"/api/events/{event.id}/publish?confirm_credit=1", headers=auth("alice")
    )
    assert response.get_json()["credit_consumed"] is True
    assert patch(client, event, max_participants=ceiling).status_code == 200
    for wanted in (ceiling + 1, None):
        error = edit_refused(
            client, db_session, event, "CLUB_REQUIRED_FOR_LARGE_EVENT", max_participants=wanted
        )
        assert error["required_plan_id"] == catalog_cheapest_plan(wanted)
    statuses = sorted(db_session.scalars(select(Credit.status).where(Credit.user_id == "alice")))
    assert statuses == ["available", "consumed"]


def test_published_club_event_rechecked_against_the_plan(client, db_session, alice):
    club = make_club(alice)
    make_subscription(club, "club_50")
    limit = db_session.get(Plan, "club_50").max_event_participants
    event = make_event(alice, club=club, max_participants=10, published=True)
    assert patch(client, event, max_participants=limit).status_code == 200
    error = edit_refused(
        client, db_session, event, "MAX_EVENT_PARTICIPANTS_EXCEEDED", max_participants=limit + 1
    )
    assert error["current_plan_id"] == "club_50"
    assert error["required_plan_id"] == catalog_cheapest_plan(limit + 1)


def test_published_club_event_on_the_free_plan_cannot_become_paid(client, db_session, alice):
    club = make_club(alice)
    event = make_event(alice, club=club, max_participants=1, published=True)
    edit_refused(client, db_session, event, "PAID_EVENTS_NOT_ALLOWED", is_paid=True)


def test_expired_subscription_blocks_edits_of_club_events(client, db_session, alice):
    club = make_club(alice)
    make_subscription(club, "club_50", "expired")
    published = make_event(alice, club=club, max_participants=1, published=True)
    draft = make_event(alice, club=club, max_participants=1)
    edit_refused(client, db_session, published, "SUBSCRIPTION_NOT_ACTIVE", title="Renamed")
    edit_refused(client, db_session, draft, "SUBSCRIPTION_NOT_ACTIVE", title="Renamed")
    personal_draft = make_event(alice, max_participants=1)
    assert patch(client, personal_draft, title="Renamed").status_code == 200


def test_downgraded_club_event_can_still_be_lowered(client, db_session, alice):
    club = make_club(alice)
    make_subscription(club, "club_50")
    limit = db_session.get(Plan, "club_50").max_event_participants
    event = make_event(alice, club=club, max_participants=limit * 3, published=True)
    assert patch(client, event, max_participants=limit * 2).status_code == 200
    assert patch(client, event, title="Still big").status_code == 200


BAD_PATCH_BODIES = [
    ("empty", {}),
    ("title null", {"title": None}),
    ("title blank", {"title": " "}),
    ("is_paid null", {"is_paid": None}),
    ("participants zero", {"max_participants": 0}),
    ("participants string", {"max_participants": "5"}),
    ("participants overflow", {"max_participants": 2**31}),
    ("club_id not editable", {"club_id": str(uuid.uuid4())}),
    ("published_at not editable", {"published_at": None}),
    ("upgraded_by_credit not editable", {"upgraded_by_credit": True}),
    ("unknown", {"colour": "red"}),
]


@pytest.mark.parametrize(
    "body", [b[1] for b in BAD_PATCH_BODIES], ids=[b[0] for b in BAD_PATCH_BODIES]
)
def test_bad_patch_bodies_are_400_and_change_nothing(client, db_session, alice, body):
    event = make_event(alice, max_participants=5, title="Same")
    error_of(patch(client, event, **body), 400, "VALIDATION_ERROR")
    stored = row(db_session, event)
    assert (stored.title, stored.max_participants, stored.is_paid, stored.published_at) == (
        "Same",
        5,
        False,
        None,
    )


def test_malformed_patch_and_bad_ids(client, db_session, alice):
    event = make_event(alice, max_participants=5, title="Same")
    response = client.patch(
        f"/api/events/{event.id}",
        data=b'{"title": ',
        headers={**auth("alice"), "Content-Type": "application/json"},
    )
    error_of(response, 400, "MALFORMED_JSON")
    for bad in ("nope", str(uuid.uuid4())):
        error_of(
            client.patch(f"/api/events/{bad}", json={"title": "x"}, headers=auth("alice")),
            404,
            "EVENT_NOT_FOUND",
        )
    error_of(client.patch(f"/api/events/{event.id}", json={"title": "x"}), 401)
    assert row(db_session, event).title == "Same"


def test_unsupported_methods_are_enveloped(client, alice):
    event = make_event(alice)
    error_of(client.post(f"/api/events/{event.id}", headers=auth("alice")), 405)
    error_of(client.get(f"/api/events/{event.id}/publish", headers=auth("alice")), 405)
    body = json.dumps({"title": "x"})
    response = client.put(f"/api/events/{event.id}", data=body, headers=auth("alice"))
    error_of(response, 405)
