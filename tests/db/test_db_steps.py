"""The commit points themselves: step, edge, between_steps, after_commit, the task base."""

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, insert, literal, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.db import (
    SINGLE_STATEMENTS,
    StepAlreadyOpen,
    after_commit,
    autocommit_engine,
    between_steps,
    edge,
    read_first,
    step,
    write_alone,
)
from app.extensions import db

pytestmark = pytest.mark.db


def _user_exists(db_session, user_id):
    return db_session.scalar(select(User.id).where(User.id == user_id)) is not None


def test_a_step_commits_what_it_added(app, db_session):
    user_id = f"u-{uuid.uuid4()}"
    with step():
        db.session.add(User(id=user_id))
    assert not db_session().in_transaction()
    assert _user_exists(db_session, user_id)


def test_a_failing_step_rolls_back_and_reraises(app, db_session):
    user_id = f"u-{uuid.uuid4()}"
    # The step's whole body is under test: it must be rolled back as one.
    with pytest.raises(RuntimeError, match="boom"), step():  # noqa: PT012
        db.session.add(User(id=user_id))
        db.session.flush()
        raise RuntimeError("boom")
    assert not db_session().in_transaction()
    assert not _user_exists(db_session, user_id)


def test_a_step_refuses_to_start_inside_an_open_transaction(app, db_session):
    db_session.execute(select(1))
    with pytest.raises(StepAlreadyOpen), step():
        pytest.fail("the body must not run")
    db_session.rollback()


def test_outside_transaction_asserts_nothing_is_open(app, db_session):
    between_steps()
    db_session.execute(select(1))
    with pytest.raises(StepAlreadyOpen):
        between_steps()
    db_session.rollback()


def test_after_commit_hooks_run_only_after_the_commit(app, db_session):
    ran = []
    with step():
        after_commit(lambda: ran.append("sent"))
        db.session.add(User(id=f"u-{uuid.uuid4()}"))
        assert ran == []
    assert ran == ["sent"]


def test_after_commit_hooks_are_dropped_on_rollback(app, db_session):
    ran = []
    # The hook is registered inside the failing step: the body is what is under test.
    with pytest.raises(ValueError, match="boom"), step():  # noqa: PT012
        after_commit(lambda: ran.append("sent"))
        raise ValueError("boom")
    with step():
        db.session.add(User(id=f"u-{uuid.uuid4()}"))
    assert ran == []


def test_a_failing_hook_does_not_stop_the_others_or_undo_the_commit(app, db_session, caplog):
    ran = []
    user_id = f"u-{uuid.uuid4()}"

    def broken():
        raise ConnectionError("broker down")

    with step():
        after_commit(broken)
        after_commit(lambda: ran.append("second"))
        db.session.add(User(id=user_id))
    assert ran == ["second"]
    assert _user_exists(db_session, user_id)
    assert "after-commit hook failed" in caplog.text


def test_a_multi_step_edge_leaves_nothing_open(app, db_session):
    user_id = f"u-{uuid.uuid4()}"
    with edge(multi_step=True):
        with step():
            db.session.add(User(id=user_id))
        # A read after the last step opens a transaction the edge must close.
        db.session.execute(select(1))
    assert not db_session().in_transaction()
    assert _user_exists(db_session, user_id)


def test_a_multi_step_edge_does_not_commit_work_outside_its_steps(app, db_session):
    user_id = f"u-{uuid.uuid4()}"
    with edge(multi_step=True):
        db.session.add(User(id=user_id))
        db.session.flush()
    assert not _user_exists(db_session, user_id)


def test_the_task_base_commits_a_task_and_rolls_back_a_failing_one(app, db_session):
    celery = app.extensions["celery"]
    kept, lost = f"u-{uuid.uuid4()}", f"u-{uuid.uuid4()}"

    @celery.task(name=f"test.add_user.{uuid.uuid4()}")
    def add_user(user_id: str, fail: bool) -> str:
        db.session.add(User(id=user_id))
        db.session.flush()
        if fail:
            raise LookupError("task failed")
        return user_id

    assert add_user(kept, False) == kept
    with pytest.raises(LookupError):
        add_user(lost, True)
    assert _user_exists(db_session, kept) and not _user_exists(db_session, lost)


def test_a_multi_step_task_runs_its_own_steps(app, db_session):
    celery = app.extensions["celery"]
    user_id = f"u-{uuid.uuid4()}"

    @celery.task(name=f"test.steps.{uuid.uuid4()}", multi_step=True)
    def two_steps() -> None:
        with step():
            db.session.add(User(id=user_id))
        between_steps()  # where a provider call would go
        with step():
            db.session.get(User, user_id).name = "named"

    two_steps()
    assert db_session.get(User, user_id).name == "named"


def test_write_alone_commits_its_statement_as_it_runs(make_app):
    # An app of its own, without db_session's stand-in for autocommit (a savepoint of
    # the test's transaction): the statement goes to the autocommit pool, as in production.
    app = make_app()
    user_id = f"u-{uuid.uuid4()}"
    with app.app_context():
        try:
            with write_alone() as conn:
                conn.execute(insert(User).values(id=user_id))
                # No BEGIN around it: another connection sees the row before the block ends.
                with db.engine.connect() as other:
                    assert other.scalar(select(User.id).where(User.id == user_id)) == user_id
            # Its connection went back to the single statements' pool, not the session's.
            assert autocommit_engine().pool.checkedin() == 1
        finally:
            with step():
                db.session.execute(delete(User).where(User.id == user_id))


def test_write_alone_ends_the_reads_made_through_the_session(make_app):
    """A catalog check read through the session beside the statement leaves no
    transaction open, so the provider call after the block may run."""
    app = make_app()
    user_id = f"u-{uuid.uuid4()}"
    with app.app_context():
        try:
            with write_alone() as conn:
                db.session.execute(select(1))  # a read through the session
                conn.execute(insert(User).values(id=user_id))
            between_steps()  # raises if the read's transaction were still open
            assert db.session.get(User, user_id) is not None
        finally:
            db.session.rollback()
            with step():
                db.session.execute(delete(User).where(User.id == user_id))


def test_a_failing_write_alone_raises_and_writes_nothing(make_app):
    app = make_app()
    with app.app_context():
        with pytest.raises(IntegrityError), write_alone() as conn:
            conn.execute(insert(User).values(id=None))
        between_steps()


def _visible_elsewhere(user_id):
    with db.engine.connect() as other:
        return other.scalar(select(User.id).where(User.id == user_id)) is not None


def test_in_the_db_tier_write_alone_writes_in_the_tests_transaction(app, db_session):
    """What the statement writes, the test sees at once; no other connection does, so
    it goes when the test's transaction is rolled back at its end."""
    user_id = f"u-{uuid.uuid4()}"
    with write_alone() as conn:
        assert conn is db_session.get_bind()
        conn.execute(insert(User).values(id=user_id))
    assert not db_session().in_transaction()
    assert _user_exists(db_session, user_id)
    assert not _visible_elsewhere(user_id)


def test_in_the_db_tier_a_failing_write_alone_leaves_the_tests_transaction_usable(app, db_session):
    """A failed autocommit statement leaves the database as it was: here it rolls back
    to its savepoint, and what the test wrote before it stays."""
    kept = f"u-{uuid.uuid4()}"
    with step():
        db.session.add(User(id=kept))
    with pytest.raises(IntegrityError), write_alone() as conn:
        conn.execute(insert(User).values(id=kept))
    between_steps()
    assert _user_exists(db_session, kept)


def test_in_the_db_tier_write_alone_keeps_its_statement_beside_session_reads(app, db_session):
    """Reads through the session inside the block open the session's savepoint, and the
    statement after them runs in it: the block keeps the statement and leaves nothing
    open; when the statement fails, both are rolled back and the test goes on."""
    user_id = f"u-{uuid.uuid4()}"
    with write_alone() as conn:
        db.session.execute(select(1))
        conn.execute(insert(User).values(id=user_id))
    between_steps()
    # The same row again: the second statement fails after the session's read.
    with pytest.raises(IntegrityError), write_alone() as conn:  # noqa: PT012
        db.session.execute(select(1))
        conn.execute(insert(User).values(id=user_id))
    between_steps()
    assert _user_exists(db_session, user_id)


def test_single_statements_take_their_connection_from_the_apps_source(make_app):
    """The one seam: a source set in app.extensions replaces the autocommit pool for
    both read_first and write_alone (the db tier sets one in db_session)."""
    app = make_app()
    handed: list[str] = []

    @contextmanager
    def source():
        with db.engine.connect() as conn:
            handed.append("connection")
            yield conn

    with app.app_context():
        app.extensions[SINGLE_STATEMENTS] = source
        assert read_first(select(literal(1).label("one")), {}).one == 1
        with write_alone() as conn:
            assert conn.scalar(select(literal(2))) == 2
        assert handed == ["connection", "connection"]


def test_a_single_statement_connection_goes_back_to_the_pool_with_no_transaction(make_app):
    """Nothing sent on a single statement's connection outlives its checkout: a
    transaction left open by a BEGIN sent straight to the driver is ended on return."""
    from psycopg.pq import TransactionStatus

    app = make_app()
    with app.app_context():
        engine = autocommit_engine()
        with engine.connect() as conn:
            # Straight to the driver, as DriverStatement sends the intent's writes:
            # SQLAlchemy's own begin/rollback bookkeeping never sees it.
            driver = conn.connection.dbapi_connection
            driver.execute("SELECT 1")
            assert driver.info.transaction_status == TransactionStatus.IDLE
            driver.execute("BEGIN")
            driver.execute("SELECT 1")
            assert driver.info.transaction_status == TransactionStatus.INTRANS
        assert driver.info.transaction_status == TransactionStatus.IDLE
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is driver
