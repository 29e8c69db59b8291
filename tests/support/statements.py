"""Record the SQL a block of code sends, at the driver: whatever psycopg cursor runs
it, so statements sent past SQLAlchemy (``app.driver_statements``) are seen too.

Savepoint statements are the db tier's stand-in for BEGIN/COMMIT/ROLLBACK (each
test runs inside an outer transaction), so they are kept apart: ``releases``
counts committed steps, ``rollbacks`` steps that ended with a rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg


@dataclass
class Recorded:
    statements: list[str] = field(default_factory=list)  # everything but savepoint control
    savepoints: list[str] = field(default_factory=list)

    @property
    def releases(self) -> int:
        return sum(s.startswith("RELEASE SAVEPOINT") for s in self.savepoints)

    @property
    def begins(self) -> int:
        return sum(s.startswith("SAVEPOINT") for s in self.savepoints)

    def verbs(self) -> list[str]:
        return [s.split(None, 1)[0].upper() for s in self.statements]


@contextmanager
def recording() -> Iterator[Recorded]:
    recorded = Recorded()

    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def note(cursor: psycopg.Cursor, query: Any) -> None:
        if isinstance(query, bytes):
            query = query.decode()
        elif not isinstance(query, str):  # psycopg.sql.Composed
            query = query.as_string(cursor)
        text = " ".join(query.split())
        if "SAVEPOINT" in text.upper().split(None, 3)[:3]:
            recorded.savepoints.append(text)
        else:
            recorded.statements.append(text)

    def recorded_execute(self: psycopg.Cursor, query: Any, *args: Any, **kwargs: Any) -> Any:
        note(self, query)
        return execute(self, query, *args, **kwargs)

    def recorded_executemany(self: psycopg.Cursor, query: Any, *args: Any, **kwargs: Any) -> Any:
        note(self, query)
        return executemany(self, query, *args, **kwargs)

    psycopg.Cursor.execute = recorded_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = recorded_executemany  # type: ignore[method-assign]
    try:
        yield recorded
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
