"""Where database transactions begin and end: the one module that commits.

A request, a task or a command is an *edge*. It runs its work in :func:`edge`,
which is one :func:`step` for ordinary work. Work that must call the payment
provider is *multi-step*: a short database step, the provider call outside any
transaction, another short step. Such a service writes its steps visibly (the
purchase intent with an Idempotency-Key, ``app.billing.purchase.intents``, shortened)::

    with write_alone() as conn:               # one INSERT, committed as it returns
        pending = _insert_pending(conn, user_id, body, new_user=None, slot=held)
    between_steps()                      # nothing open while we wait on Kaspi
    payment = provider.create_payment(str(pending.id), pending.amount)
    with step():
        stored = attach_payment(db.session.connection(), pending.id, payment)
        response = _reply(pending, body, payment, stored).model_dump(mode="json")
        held.complete(201, response)           # the stored reply, in the same COMMIT

A step that is one writing statement is sent alone in autocommit
(:func:`write_alone`), which saves its BEGIN and COMMIT round trips: without an
Idempotency-Key there is no reply to store, and the second step is one too::

    with write_alone() as conn:
        stored = attach_payment(conn, pending.id, payment)

Values needed after a step are plain ones (``pending`` is a frozen dataclass, not
an ORM row): an ORM row expires at COMMIT, and touching it afterwards would open a
transaction outside any step.

Single statements (:func:`write_alone`, :func:`read_first`) get their connection
from one source: the autocommit pool, unless the app names another under
:data:`SINGLE_STATEMENTS` in ``app.extensions`` (the db test tier does, to keep them
inside each test's transaction).

Everything else only adds, flushes and locks. Work that must only happen once data
is durable (sending Celery tasks, pub/sub notices) is registered with
:func:`after_commit`: it runs after a successful COMMIT and is dropped on rollback,
so a task can never see a row that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.request_locals import flask_app

_HOOKS = "after_commit_hooks"
log = logging.getLogger(__name__)


class StepAlreadyOpen(RuntimeError):
    """A step (or network I/O) was started while a database transaction is open.

    Nesting would silently widen the outer transaction across the inner one's
    COMMIT, or hold a connection and row locks across a provider call.
    """


def after_commit(fn: Callable[[], object]) -> None:
    """Run ``fn`` after the current database transaction commits."""
    db.session.info.setdefault(_HOOKS, []).append(fn)


def _session_in_transaction() -> bool:
    # A session nobody made has no transaction: asking must not make one.
    return db.session.registry.has() and db.session().in_transaction()


def between_steps() -> None:
    """Assert that no database transaction is open, before slow network I/O."""
    if _session_in_transaction():
        raise StepAlreadyOpen("a database transaction is open before network I/O")


def read_first(statement: Executable, params: Mapping[str, Any]) -> Row[Any] | None:
    """The first row of one read-only statement (the status poll's SELECT).

    Inside a session transaction it reads there, seeing what that transaction
    wrote. Otherwise it needs no transaction at all: a single statement sees one
    snapshot by itself, so it runs in autocommit (:func:`autocommit_engine`), with
    no BEGIN before it, no ROLLBACK after it and no ORM session around it (each of
    those round trips is CPU of the same order as the SELECT's own; docs/PERFORMANCE.md,
    "Figures behind the code's design choices").
    """
    if _session_in_transaction():
        return db.session.execute(statement, params).first()
    with _single_statement_connection() as conn:
        return conn.execute(statement, params).first()


ConnectionSource = Callable[[], AbstractContextManager[Connection]]

# The key, in ``app.extensions``, of a :data:`ConnectionSource` that replaces the
# autocommit pool for :func:`read_first` and :func:`write_alone`. Absent, they use
# the pool. Whoever sets it owns the transaction the statements then run in (the
# db test tier runs each test in one it rolls back); each call's block must end
# what it began, as returning a connection to the pool does.
SINGLE_STATEMENTS = "billing_single_statements"


def _single_statement_connection() -> AbstractContextManager[Connection]:
    # One dict lookup a call: this is on the purchase intent's path twice.
    source: ConnectionSource = flask_app().extensions.get(SINGLE_STATEMENTS, _autocommit_connect)
    return source()


def _autocommit_connect() -> Connection:
    return autocommit_engine().connect()


_AUTOCOMMIT_ENGINE = "billing_autocommit_engine"


def autocommit_engine() -> Engine:
    """The app's pool for single statements (:func:`read_first`, :func:`write_alone`):
    ``db.engine``'s database and options, its connections in autocommit for their
    whole life.

    A pool of its own rather than ``db.engine`` switched to autocommit at each
    checkout and back at each return: the switching costs three driver calls and
    SQLAlchemy's bookkeeping every time. It holds as many connections as single
    statements run at once (one per sync worker); made on first use, so after fork.
    """
    app = flask_app()
    extensions = app.extensions
    engine: Engine | None = extensions.get(_AUTOCOMMIT_ENGINE)
    if engine is None:
        config = app.config
        options = {**config["SQLALCHEMY_ENGINE_OPTIONS"], "isolation_level": "AUTOCOMMIT"}
        made = create_engine(config["SQLALCHEMY_DATABASE_URI"], **options)
        # Two first reads at once: one engine wins, the other never connected.
        engine = extensions.setdefault(_AUTOCOMMIT_ENGINE, made)
        if engine is not made:
            made.dispose()
    return engine


@contextmanager
def step() -> Iterator[None]:
    """One short database transaction: COMMIT on success, ROLLBACK on any error."""
    between_steps()
    try:
        yield
        db.session.commit()
    except BaseException:
        # A hook registered before any SQL ran has no transaction whose rollback
        # would drop it: drop it here, or the next step's COMMIT would run it.
        db.session.info.pop(_HOOKS, None)
        db.session.rollback()
        raise


@contextmanager
def write_alone() -> Iterator[Connection]:
    """A step that is one writing statement, after plain reads if any, on a
    connection of :func:`autocommit_engine`: PostgreSQL commits the statement as
    it completes, with no BEGIN or COMMIT round trip and no ORM session around it.

    One statement is atomic by itself, and READ COMMITTED reads see the same with
    or without a transaction around them, so nothing is lost by sending it alone.
    The caller writes with that one statement only; it is committed once it has
    returned, so what must follow a COMMIT (counting a transition) follows the
    block.

    Reads made through the session meanwhile (a catalog check) open a transaction
    of their own, which ends here: it holds nothing to keep.
    """
    between_steps()
    try:
        with _single_statement_connection() as conn:
            yield conn
    finally:
        if _session_in_transaction():
            db.session.rollback()


@contextmanager
def edge(*, multi_step: bool = False, read_only: bool = False) -> Iterator[None]:
    """The transaction scope of one request, task or command.

    Ordinary work is a single :func:`step`. Multi-step work (a provider call
    between two steps) opens its own steps; the edge only makes sure it starts
    clean and that nothing is left open afterwards. Read-only work (the status
    poll, lists) never commits: whatever its reads opened ends with a ROLLBACK,
    which releases the snapshot exactly like a COMMIT would, and anything a
    read-only handler added by mistake is thrown away instead of written.
    """
    if read_only:
        between_steps()
        try:
            yield
        finally:
            # A read that made no session (read_first) leaves nothing to end: no
            # session is made here just to find that out.
            if db.session.registry.has():
                db.session.info.pop(_HOOKS, None)
                if db.session().in_transaction():
                    db.session.rollback()
        return
    if not multi_step:
        with step():
            yield
        return
    between_steps()
    try:
        yield
    finally:
        if _session_in_transaction():
            # Work outside any step (a read after the last COMMIT): never committed.
            db.session.info.pop(_HOOKS, None)
            db.session.rollback()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    hooks = session.info.pop(_HOOKS, [])
    for hook in hooks:
        try:
            hook()
        except Exception:
            # The data is committed; a lost enqueue is what the periodic sweep
            # recovers, so one failing hook must not fail the request or the rest.
            log.exception("after-commit hook failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_HOOKS, None)
