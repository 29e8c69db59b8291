"""Clubs: create, read (members only), add members with roles and the plan's member limit."""

import uuid

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.catalog.models import Plan
from app.clubs.models import Club, ClubMember
from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import (
    add_member,
    catalog_cheapest_plan,
    catalog_plan_option,
    make_club,
    make_subscription,
    make_user,
)

pytestmark = pytest.mark.db

CLUB_FIELDS = {"id", "name", "role", "plan_id", "subscription", "member_count", "created_at"}


def members(db_session, club):
    db_session.expire_all()
    return dict(
        db_session.execute(
            select(ClubMember.user_id, ClubMember.role).where(ClubMember.club_id == club.id)
        ).all()
    )


def club_count(db_session):
    return db_session.scalar(select(func.count()).select_from(Club))


def add(client, club, actor, user_id, role=None):
    body = {"user_id": user_id} if role is None else {"user_id": user_id, "role": role}
    return client.post(f"/api/clubs/{club.id}/members", json=body, headers=auth(actor))


def default_plan_id(db_session):
    return db_session.scalar(select(Plan.id).where(Plan.is_default))


@pytest.fixture
def alice(db_session):
    return make_user("alice")


# ------------------------------------------------------------ create, read


def test_create_makes_the_creator_owner(client, db_session):
    response = client.post("/api/clubs", json={"name": " Chess "}, headers=auth("alice"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == CLUB_FIELDS
    assert body["name"] == "Chess"
    assert body["role"] == "owner"
    assert body["plan_id"] == default_plan_id(db_session)
    assert body["subscription"] is None
    assert body["member_count"] == 1
    club = db_session.get(Club, uuid.UUID(body["id"]))
    assert club.owner_id == "alice"
    assert members(db_session, club) == {"alice": "owner"}


def test_read_shows_my_role_and_the_subscription(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("bob"), "member")
    sub = make_subscription(club, "club_50", "grace")
    body = client.get(f"/api/clubs/{club.id}", headers=auth("bob")).get_json()
    assert body["role"] == "member"
    assert body["plan_id"] == "club_50"
    assert body["member_count"] == 2
    assert body["subscription"]["status"] == "grace"
    assert body["subscription"]["plan_id"] == "club_50"
    for field in ("current_period_start", "current_period_end", "grace_until"):
        assert body["subscription"][field].startswith(getattr(sub, field).date().isoformat())


def test_expired_subscription_means_the_free_plan(client, db_session, alice):
    club = make_club(alice)
    make_subscription(club, "club_500", "expired")
    body = client.get(f"/api/clubs/{club.id}", headers=auth("alice")).get_json()
    assert body["plan_id"] == default_plan_id(db_session)
    assert body["subscription"]["status"] == "expired"


@pytest.mark.parametrize("club_id", ["stranger", "missing", "not-a-uuid", "12"])
def test_non_members_and_bad_ids_get_404(client, alice, club_id):
    club = make_club(alice)
    path = {
        "stranger": f"/api/clubs/{club.id}",
        "missing": f"/api/clubs/{uuid.uuid4()}",
    }.get(club_id, f"/api/clubs/{club_id}")
    error_of(client.get(path, headers=auth("stranger")), 404, "CLUB_NOT_FOUND")


def test_read_needs_authentication(client, alice):
    club = make_club(alice)
    error_of(client.get(f"/api/clubs/{club.id}"), 401, "UNAUTHENTICATED")
    error_of(client.post("/api/clubs", json={"name": "x"}), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": 5},
        {"name": None},
        {"name": "x" * 201},
        {"name": "x", "owner_id": "bob"},
    ],
    ids=["missing", "empty", "blank", "number", "null", "too long", "unknown field"],
)
def test_bad_create_bodies(client, db_session, body):
    before = club_count(db_session)
    error_of(client.post("/api/clubs", json=body, headers=auth("alice")), 400, "VALIDATION_ERROR")
    assert club_count(db_session) == before


def test_malformed_create(client, db_session):
    before = club_count(db_session)
    response = client.post(
        "/api/clubs", data=b"{", headers={**auth("alice"), "Content-Type": "application/json"}
    )
    error_of(response, 400, "MALFORMED_JSON")
    assert club_count(db_session) == before


# ------------------------------------------------------------------ members


def test_owner_adds_admins_and_members(client, db_session, alice):
    club = make_club(alice)
    make_user("bob"), make_user("carol")
    response = add(client, club, "alice", "bob", "admin")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["club_id"], body["user_id"], body["role"]) == (str(club.id), "bob", "admin")
    assert add(client, club, "alice", "carol").get_json()["role"] == "member"  # the default
    assert members(db_session, club) == {"alice": "owner", "bob": "admin", "carol": "member"}


def test_only_known_users_are_added(client, db_session, alice):
    """A typed id nobody signed in with is refused: it would take a seat nobody uses."""
    club = make_club(alice)
    error = error_of(add(client, club, "alice", "typo-bob"), 404, "USER_NOT_FOUND")
    assert error["user_id"] == "typo-bob"
    assert members(db_session, club) == {"alice": "owner"}
    assert db_session.get(User, "typo-bob") is None  # no user row made up either
    make_user("typo-bob")  # once they have signed in, they can be added
    assert add(client, club, "alice", "typo-bob").status_code == 201


def test_admin_adds_members_but_not_admins(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("admin"), "admin")
    make_user("dave"), make_user("erin")
    assert add(client, club, "admin", "dave", "member").status_code == 201
    error_of(add(client, club, "admin", "erin", "admin"), 403, "FORBIDDEN")
    assert "erin" not in members(db_session, club)


def test_members_and_outsiders_cannot_add(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("member"), "member")
    error_of(add(client, club, "member", "x"), 403, "FORBIDDEN")
    error_of(add(client, club, "outsider", "x"), 404, "CLUB_NOT_FOUND")
    assert "x" not in members(db_session, club)


def test_adding_an_existing_member_is_409(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("bob"), "member")
    error_of(add(client, club, "alice", "bob", "admin"), 409, "ALREADY_A_MEMBER")
    error_of(add(client, club, "alice", "alice", "member"), 409, "ALREADY_A_MEMBER")
    assert members(db_session, club) == {"alice": "owner", "bob": "member"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"role": "member"},
        {"user_id": ""},
        {"user_id": "  "},
        {"user_id": 5},
        {"user_id": None},
        {"user_id": "x" * 129},
        {"user_id": "bob", "role": "owner"},
        {"user_id": "bob", "role": "king"},
        {"user_id": "bob", "role": None},
        {"user_id": "bob", "extra": 1},
    ],
)
def test_bad_member_bodies(client, db_session, alice, body):
    club = make_club(alice)
    response = client.post(f"/api/clubs/{club.id}/members", json=body, headers=auth("alice"))
    error_of(response, 400, "VALIDATION_ERROR")
    assert members(db_session, club) == {"alice": "owner"}


@pytest.mark.parametrize("club_id", ["nope", pytest.param(str(uuid.uuid4()), id="unknown-uuid")])
def test_add_to_missing_club_is_404(client, club_id):
    response = client.post(
        f"/api/clubs/{club_id}/members", json={"user_id": "bob"}, headers=auth("alice")
    )
    error_of(response, 404, "CLUB_NOT_FOUND")


def test_member_limit_of_the_plan(client, db_session, alice):
    club = make_club(alice)
    make_subscription(club, "club_50")
    plan = db_session.get(Plan, "club_50")
    plan.max_members = 3  # the limit is data: lowered here so the test stays small
    db_session.commit()
    for who in ("m2", "m3", "m4"):
        make_user(who)
    assert add(client, club, "alice", "m2").status_code == 201
    assert add(client, club, "alice", "m3").status_code == 201
    error = error_of(add(client, club, "alice", "m4"), 402, "PAYWALL")
    required = catalog_cheapest_plan(1, members=4)
    assert error["reason"] == "MAX_CLUB_MEMBERS_EXCEEDED"
    assert error["current_plan_id"] == "club_50"
    assert error["required_plan_id"] == required
    assert error["options"] == [catalog_plan_option(required)]
    assert error["meta"]["max_members"] == 3 and error["meta"]["member_count"] == 3
    assert set(members(db_session, club)) == {"alice", "m2", "m3"}
    # Raising the limit in the catalog lets the next add through.
    plan.max_members = 4
    db_session.commit()
    assert add(client, club, "alice", "m4").status_code == 201


def test_unlimited_members_on_the_free_plan(client, db_session, alice):
    club = make_club(alice)
    free = db_session.get(Plan, default_plan_id(db_session))
    assert free.max_members is None
    for i in range(5):
        make_user(f"u{i}")
        assert add(client, club, "alice", f"u{i}").status_code == 201
    assert len(members(db_session, club)) == 6
