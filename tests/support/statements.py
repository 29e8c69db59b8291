"""Record the SQL a block of code sends, through SQLAlchemy's engine events.

Savepoint statements are the db tier's stand-in for BEGIN/COMMIT/ROLLBACK (each
test runs inside an outer transaction), so they are kept apart: ``releases``
counts committed steps, ``rollbacks`` steps that ended with a rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event

from app.extensions import db


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

    def before(conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split())
        if "SAVEPOINT" in text.upper().split(None, 3)[:3]:
            recorded.savepoints.append(text)
        else:
            recorded.statements.append(text)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield recorded
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
