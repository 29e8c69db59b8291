"""GET /api/clubs (my clubs) and GET /api/clubs/<id>/members (members only)."""

import uuid

import pytest

from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import add_member, make_club, make_subscription, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def alice(db_session):
    return make_user("alice")


def test_my_clubs_with_role_and_plan(client, db_session, alice):
    mine = make_club(alice, "Chess")
    make_subscription(mine, "club_50", "active")
    theirs = make_club(make_user("bob"), "Go")
    add_member(theirs, alice, "admin")
    make_club(make_user("carol"), "Not mine")
    response = client.get("/api/clubs", headers=auth("alice"))
    assert response.status_code == 200, response.get_json()
    clubs = {c["name"]: c for c in response.get_json()["clubs"]}
    assert set(clubs) == {"Chess", "Go"}
    assert clubs["Chess"]["role"] == "owner" and clubs["Chess"]["plan_id"] == "club_50"
    assert clubs["Chess"]["subscription"]["status"] == "active"
    assert clubs["Go"]["role"] == "admin" and clubs["Go"]["subscription"] is None
    assert client.get("/api/clubs", headers=auth("dave")).get_json() == {"clubs": []}


def test_members_are_listed_owner_first_to_members_only(client, db_session, alice):
    club = make_club(alice)
    add_member(club, make_user("zed"), "member")
    add_member(club, make_user("bob"), "admin")
    body = client.get(f"/api/clubs/{club.id}/members", headers=auth("zed")).get_json()
    assert [(m["user_id"], m["role"]) for m in body["members"]] == [
        ("alice", "owner"),
        ("bob", "admin"),
        ("zed", "member"),
    ]
    error_of(client.get(f"/api/clubs/{club.id}/members", headers=auth("mallory")), 404)
    error_of(client.get(f"/api/clubs/{uuid.uuid4()}/members", headers=auth("alice")), 404)
    error_of(client.get("/api/clubs/nope/members", headers=auth("alice")), 404, "CLUB_NOT_FOUND")
    error_of(client.get(f"/api/clubs/{club.id}/members"), 401)
