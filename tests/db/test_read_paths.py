"""Read paths do only the read: no user row, no write transaction, no pool ping."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, insert, select

from app.auth.models import User
from app.billing.core.queries import own_transaction_row
from app.db import autocommit_engine, read_first
from app.domain_errors import NotFound
from app.extensions import db
from tests.conftest import ALONE, auth
from tests.support.factories import grant_credits, make_transaction, make_user
from tests.support.statements import recording

pytestmark = pytest.mark.db


def test_status_poll_sends_one_select_and_commits_nothing(client, db_session):
    tx_id = make_transaction(make_user("poller")).id
    db_session.commit()
    url = f"/api/billing/transactions/status?transaction_id={tx_id}"
    with recording() as sql:
        response = client.get(url, headers=auth("poller"))
    assert response.status_code == 200 and response.get_json()["transaction_id"] == str(tx_id)
    assert sql.verbs() == ["SELECT"], [s[:60] for s in sql.statements]
    assert "FROM transactions" in sql.statements[0]
    assert "users" not in sql.statements[0]
    # The db tier's steps are savepoints: a committed step would RELEASE one. The
    # SELECT has one of its own (ALONE), this tier's stand-in for autocommit.
    assert sql.savepoints == [f"SAVEPOINT {ALONE}", f"RELEASE SAVEPOINT {ALONE}"], sql.savepoints


def test_status_by_path_and_credits_read_without_touching_users(client, db_session):
    user = make_user("reader")
    url = f"/api/billing/transactions/{make_transaction(user).id}"
    grant_credits(user, 2)
    db_session.commit()
    with recording() as sql:
        by_path = client.get(url, headers=auth("reader"))
        credits = client.get("/api/billing/credits", headers=auth("reader"))
    assert by_path.status_code == 200 and credits.get_json()["available"] == {
        "EVENT_UPGRADE_500": 2
    }
    assert sql.verbs() == ["SELECT", "SELECT"], sql.statements
    assert not any("users" in s for s in sql.statements)
    # Only the by-path read sent alone (read_first) releases a savepoint: no step committed.
    releases = [s for s in sql.savepoints if s.startswith("RELEASE")]
    assert releases == [f"RELEASE SAVEPOINT {ALONE}"], sql.savepoints


def test_a_never_seen_user_polls_without_being_provisioned(client, db_session):
    tx = make_transaction(make_user("owner"))
    db_session.commit()
    response = client.get(
        f"/api/billing/transactions/status?transaction_id={tx.id}", headers=auth("stranger")
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "TRANSACTION_NOT_FOUND"
    assert db_session.get(User, "stranger") is None
    empty = client.get("/api/billing/credits", headers=auth("stranger"))
    assert empty.get_json() == {"credits": [], "available": {}}


def test_a_bad_token_still_answers_401_on_a_read(client):
    response = client.get("/api/billing/credits", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_the_pool_does_not_ping_on_checkout(app):
    with app.app_context():
        assert db.engine.pool._pre_ping is False


def test_the_poll_reads_in_autocommit_without_a_session(app):
    """Outside any session (as under gunicorn): no ORM session is made and the SELECT
    runs in autocommit (no BEGIN, no ROLLBACK round trip), on a pool of its own: the
    ORM's pool is never switched out of its transactional mode."""
    modes: list[bool] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        modes.append(conn.connection.driver_connection.autocommit)

    with app.app_context():
        reads = autocommit_engine()
        event.listen(reads, "before_cursor_execute", before)
        try:
            with pytest.raises(NotFound):
                own_transaction_row("nobody", uuid.uuid4())
            assert not db.session.registry.has()
            assert autocommit_engine() is reads
            assert reads.url == db.engine.url and reads.pool is not db.engine.pool
            assert reads.pool._pre_ping is False
            with db.engine.connect() as conn:
                assert conn.connection.driver_connection.autocommit is False
        finally:
            event.remove(reads, "before_cursor_execute", before)
            reads.dispose()
    assert modes == [True]


def test_a_read_inside_an_open_transaction_reads_there(app):
    """Called inside a session transaction, read_first sees what that transaction wrote
    (a connection of its own would not)."""
    user_id = f"uncommitted-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        db.session.execute(insert(User).values(id=user_id))
        try:
            row = read_first(select(User.id).where(User.id == user_id), {})
        finally:
            db.session.rollback()
    assert row is not None and row.id == user_id
