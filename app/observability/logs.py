"""Logging for every process (API, worker, beat): JSON lines in production.

One root handler on stderr. Each record gets the context fields of
:mod:`app.observability.context` (request id, user, transaction, Celery task)
from a filter, so a plain ``log.info(...)`` anywhere in the code carries them.

``LOG_FORMAT``: ``json`` (the default in every profile but development) or
``console`` (readable lines, the default for ``BILLING_ENV=development``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context
from sqlalchemy import inspect as sa_inspect

from app.observability import context
from app.request_locals import request_globals

_HANDLER_MARK = "_billing_handler"
CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s%(task_ref)s] %(message)s"


class ContextFilter(logging.Filter):
    """Copies the current context onto the record (never overrides ``extra=`` fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = context.snapshot()
        if "user_id" not in values and has_request_context():
            # Read-only endpoints load no user row; the token's subject is the id.
            state = request_globals()
            user_id = _user_id(state.get("user")) or state.get("user_id")
            if user_id is not None:
                values["user_id"] = user_id
        for name, value in values.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def _user_id(user: object | None) -> str | None:
    """The user's id without touching the database: after a rollback the row may be
    expired or gone, and a log line must never load (or fail on) it."""
    if user is None:
        return None
    state = sa_inspect(user, raiseerr=False)
    if state is None:
        return None
    identity = getattr(state, "identity", None)
    if identity:
        return str(identity[0])
    value = getattr(state, "dict", {}).get("id")
    return None if value is None else str(value)


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("request_id", "-")
        task = getattr(record, "task_id", None)
        record.__dict__["task_ref"] = f" task={task}" if task else ""
        return super().format(record)


# What every LogRecord carries. Anything else on a record is a field of its line:
# ``extra=`` values and the context filter's.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _jsonable(value: object) -> object:
    """A value json cannot write: a date or time in ISO 8601, anything else as text."""
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


# One encoder for every line (``json.dumps(default=...)`` would build one per call).
_ENCODER = json.JSONEncoder(default=_jsonable)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: ``level``, ``logger``, ``message``, ``process``,
    the record's own fields, ``exc_info`` / ``stack_info`` when present, and
    ``timestamp`` (UTC, ISO 8601).

    Every request writes a line, so a line is one dict encoded once; a
    general-purpose JSON log formatter cost each purchase measurably more CPU
    (docs/PERFORMANCE.md, "Figures behind the code's design choices").
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES:
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        line["timestamp"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        return _ENCODER.encode(line)


def json_formatter() -> logging.Formatter:
    return JsonLineFormatter()


def make_formatter(fmt: str) -> logging.Formatter:
    if fmt == "console":
        return _ConsoleFormatter(CONSOLE_FORMAT)
    if fmt == "json":
        return json_formatter()
    raise ValueError(f"LOG_FORMAT must be json or console, not {fmt!r}")


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """(Re)install the one root handler; safe to call again (e.g. by Celery's signal)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # No line shows the caller's file, line or function, so the frame walk that
    # finds them is skipped (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    # Library warnings (deprecations...) become log records too, so stderr stays JSON.
    logging.captureWarnings(True)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
