"""The unit of work: the one place that commits, and after-commit hooks.

Work that must only happen once data is durable (sending Celery tasks) is
registered with :func:`after_commit`; it runs after a successful COMMIT and is
dropped on rollback, so a task can never see a row that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

_HOOKS = "after_commit_hooks"
log = logging.getLogger(__name__)


def after_commit(fn: Callable[[], object]) -> None:
    """Run ``fn`` after the current database transaction commits."""
    db.session.info.setdefault(_HOOKS, []).append(fn)


def commit() -> None:
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit on success, roll back on any exception."""
    try:
        yield
        commit()
    except BaseException:
        rollback()
        raise


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
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_HOOKS, None)


def end_read() -> None:
    """Finish the current read-only transaction before a slow outside call.

    Used before calling the payment provider so no database transaction (or
    pooled connection) is held open across network I/O.
    """
    if db.session.info.get(_HOOKS):
        raise RuntimeError("end_read() would drop after-commit work; commit first")
    db.session.rollback()
