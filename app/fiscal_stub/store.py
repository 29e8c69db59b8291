"""The register stub's state in SQLite: tokens, the shift, receipts and faults.

One file, so every gunicorn worker and a restart see the same receipts: the
idempotency of ``ExternalCheckNumber`` must hold across processes, as at the real
register. Read-check-write sequences take the write lock up front (``BEGIN
IMMEDIATE``); times are UTC ISO text, comparable as strings.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shift (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    number      INTEGER NOT NULL DEFAULT 1,
    opened_at   TEXT,
    checks      INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO shift (id) VALUES (1);
CREATE TABLE IF NOT EXISTS receipts (
    check_number    TEXT PRIMARY KEY,
    external_number TEXT NOT NULL UNIQUE,
    operation_type  INTEGER NOT NULL,
    total           TEXT NOT NULL,
    offline         INTEGER NOT NULL,
    shift_number    INTEGER NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS zreports (
    number      INTEGER PRIMARY KEY,
    checks      INTEGER NOT NULL,
    closed_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    latency_ms  INTEGER NOT NULL DEFAULT 0,
    fail_next   INTEGER NOT NULL DEFAULT 0,
    down        INTEGER NOT NULL DEFAULT 0,
    offline     INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO faults (id) VALUES (1);
"""

FAULT_FIELDS = ("latency_ms", "fail_next", "down", "offline")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def init_db(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.executescript(SCHEMA)
    finally:
        conn.close()


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    fail_next: int = 0
    down: int = 0
    offline: int = 0


@dataclass(frozen=True)
class Stored:
    check_number: str
    external_number: str
    offline: bool
    shift_number: int
    body: dict[str, Any]
    created_at: str


class Store:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- tokens -----------------------------------------------------------------

    def new_token(self) -> str:
        token = secrets.token_hex(16)
        self.conn.execute(
            "INSERT INTO tokens (token, created_at) VALUES (?, ?)", (token, to_text(utcnow()))
        )
        return token

    def token_valid(self, token: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM tokens WHERE token = ?", (token,)).fetchone()
        return row is not None

    def expire_tokens(self) -> int:
        return self.conn.execute("DELETE FROM tokens").rowcount

    # -- the shift --------------------------------------------------------------

    def shift(self) -> sqlite3.Row:
        row: sqlite3.Row = self.conn.execute("SELECT * FROM shift WHERE id = 1").fetchone()
        return row

    def age_shift(self, hours: float) -> None:
        """Tests: the open shift (opened now if none is) was opened ``hours`` ago."""
        opened = to_text(utcnow() - timedelta(hours=hours))
        self.conn.execute("UPDATE shift SET opened_at = ? WHERE id = 1", (opened,))

    def close_shift(self) -> dict[str, Any]:
        with self._write() as conn:
            shift = conn.execute("SELECT * FROM shift WHERE id = 1").fetchone()
            closed_at = to_text(utcnow())
            conn.execute(
                "INSERT INTO zreports (number, checks, closed_at) VALUES (?, ?, ?)",
                (shift["number"], shift["checks"], closed_at),
            )
            conn.execute(
                "UPDATE shift SET number = number + 1, opened_at = NULL, checks = 0 WHERE id = 1"
            )
        return {"ReportNumber": shift["number"], "Checks": shift["checks"], "DateTime": closed_at}

    def zreports(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM zreports").fetchone()[0])

    # -- receipts ---------------------------------------------------------------

    def by_external(self, external_number: str) -> Stored | None:
        row = self.conn.execute(
            "SELECT * FROM receipts WHERE external_number = ?", (external_number,)
        ).fetchone()
        return _stored(row) if row else None

    def by_number(self, check_number: str) -> Stored | None:
        row = self.conn.execute(
            "SELECT * FROM receipts WHERE check_number = ?", (check_number,)
        ).fetchone()
        return _stored(row) if row else None

    def add_receipt(
        self,
        external_number: str,
        operation_type: int,
        total: str,
        offline: bool,
        body: dict[str, Any],
    ) -> tuple[Stored | None, str | None]:
        """Answers (the new receipt, None), or (None, why): ``duplicate`` when the external
        number was used, ``shift_expired`` when the open shift is over 24 h old."""
        now = utcnow()
        with self._write() as conn:
            if conn.execute(
                "SELECT 1 FROM receipts WHERE external_number = ?", (external_number,)
            ).fetchone():
                return None, "duplicate"
            shift = conn.execute("SELECT * FROM shift WHERE id = 1").fetchone()
            opened = shift["opened_at"]
            if opened is not None and opened < to_text(now - timedelta(hours=24)):
                return None, "shift_expired"
            if opened is None:
                conn.execute("UPDATE shift SET opened_at = ? WHERE id = 1", (to_text(now),))
            conn.execute("UPDATE shift SET checks = checks + 1 WHERE id = 1")
            # Fiscal numbers are long random digits, never reused across a reset state.
            check_number = str(secrets.randbelow(9 * 10**11) + 10**11)
            conn.execute(
                "INSERT INTO receipts (check_number, external_number, operation_type, total,"
                " offline, shift_number, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    check_number,
                    external_number,
                    operation_type,
                    total,
                    int(offline),
                    shift["number"],
                    json.dumps(body, default=str),
                    to_text(now),
                ),
            )
        return self.by_number(check_number), None

    def receipts(self) -> list[Stored]:
        rows = self.conn.execute("SELECT * FROM receipts ORDER BY created_at").fetchall()
        return [_stored(row) for row in rows]

    # -- faults -----------------------------------------------------------------

    def get_faults(self) -> Faults:
        row = self.conn.execute("SELECT * FROM faults WHERE id = 1").fetchone()
        return Faults(**{name: row[name] for name in FAULT_FIELDS})

    def set_faults(self, **changes: int) -> Faults:
        for name, value in changes.items():
            if name not in FAULT_FIELDS:
                raise ValueError(name)
            self.conn.execute(f"UPDATE faults SET {name} = ? WHERE id = 1", (value,))  # noqa: S608
        return self.get_faults()

    def take_fail_next(self) -> bool:
        return (
            self.conn.execute(
                "UPDATE faults SET fail_next = fail_next - 1 WHERE id = 1 AND fail_next > 0"
            ).rowcount
            == 1
        )

    def reset_faults(self) -> Faults:
        self.conn.execute(
            "UPDATE faults SET latency_ms = 0, fail_next = 0, down = 0, offline = 0 WHERE id = 1"
        )
        return self.get_faults()


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(
        check_number=row["check_number"],
        external_number=row["external_number"],
        offline=bool(row["offline"]),
        shift_number=row["shift_number"],
        body=json.loads(row["body"]),
        created_at=row["created_at"],
    )
