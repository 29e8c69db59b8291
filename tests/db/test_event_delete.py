"""DELETE /api/events/<id>: a manager deletes a draft; a published event stays (409)."""

import uuid

import pytest

from app.events.models import Event
from tests.conftest import auth
from tests.support.envelope import error_of
from tests.support.factories import add_member, make_club, make_event, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def alice(db_session):
    return make_user("alice")


def exists(db_session, event_id) -> bool:
    db_session.expire_all()
    return db_session.get(Event, event_id) is not None


def test_owner_deletes_a_draft(client, db_session, alice):
    event = make_event(alice)
    response = client.delete(f"/api/events/{event.id}", headers=auth("alice"))
    assert response.status_code == 204
    assert response.get_data() == b""
    assert not exists(db_session, event.id)
    error_of(client.get(f"/api/events/{event.id}", headers=auth("alice")), 404, "EVENT_NOT_FOUND")
    error_of(client.delete(f"/api/events/{event.id}", headers=auth("alice")), 404)


def test_published_events_answer_409_and_stay(client, db_session, alice):
    event = make_event(alice, published=True)
    error_of(
        client.delete(f"/api/events/{event.id}", headers=auth("alice")), 409, "EVENT_PUBLISHED"
    )
    assert exists(db_session, event.id)


def test_strangers_get_404_and_club_members_403(client, db_session, alice):
    draft = make_event(alice)
    error_of(client.delete(f"/api/events/{draft.id}", headers=auth("mallory")), 404)
    club = make_club(alice)
    add_member(club, make_user("bob"), "member")
    add_member(club, make_user("carol"), "admin")
    club_draft = make_event(alice, club=club)
    error_of(client.delete(f"/api/events/{club_draft.id}", headers=auth("bob")), 403, "FORBIDDEN")
    assert exists(db_session, club_draft.id) and exists(db_session, draft.id)
    # A club admin manages club events, deleting drafts included.
    assert client.delete(f"/api/events/{club_draft.id}", headers=auth("carol")).status_code == 204
    assert not exists(db_session, club_draft.id)


@pytest.mark.parametrize("event_id", ["nope", pytest.param(str(uuid.uuid4()), id="unknown-uuid")])
def test_missing_or_malformed_ids_are_404(client, alice, event_id):
    error_of(
        client.delete(f"/api/events/{event_id}", headers=auth("alice")), 404, "EVENT_NOT_FOUND"
    )


def test_needs_a_token(client, db_session, alice):
    event = make_event(alice)
    error_of(client.delete(f"/api/events/{event.id}"), 401)
    assert exists(db_session, event.id)
