"""The connection pool's size and wait, from the environment.

Each process has its own SQLAlchemy pool (two: ``db.engine`` and the autocommit one,
``app.db.autocommit_engine``). Behind PgBouncer the sum over every process of every
host is what PgBouncer's ``max_client_conn`` must admit (docs/OPERATIONS.md), so
the sizes are settings:

- ``DATABASE_POOL_SIZE`` (SQLAlchemy's default 5): connections kept open;
- ``DATABASE_MAX_OVERFLOW`` (10): more opened under load and closed after;
- ``DATABASE_POOL_TIMEOUT_S`` (30): how long a checkout waits when all are taken,
  before the request answers 503 with ``Retry-After`` (app/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SETTINGS = (
    ("DATABASE_POOL_SIZE", "pool_size", int),
    ("DATABASE_MAX_OVERFLOW", "max_overflow", int),
    ("DATABASE_POOL_TIMEOUT_S", "pool_timeout", float),
)


def pool_options(env: Mapping[str, str]) -> dict[str, Any]:
    """The engine options the environment sets (none when it sets none)."""
    options: dict[str, Any] = {}
    for variable, option, kind in _SETTINGS:
        if env.get(variable):
            value = kind(env[variable])
            if value < 0:
                raise ValueError(f"{variable} must not be negative, not {env[variable]!r}")
            options[option] = value
    return options
