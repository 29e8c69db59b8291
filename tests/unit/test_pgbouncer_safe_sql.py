"""What PgBouncer's transaction mode breaks is not used: session-level advisory locks,
LISTEN, session SET, WITH HOLD cursors. A transaction-level advisory lock is fine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SESSION_STATE = re.compile(
    r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\("
    r"|(?-i:\bLISTEN\s+\w)"  # SQL upper case only: prose says "listen on"
    r"|\bSET\s+SESSION\b"
    r"|\bWITH\s+HOLD\b",
    re.IGNORECASE,
)


def sources() -> list[Path]:
    return sorted(
        p for folder in ("app", "workers", "migrations") for p in (ROOT / folder).rglob("*.py")
    )


def test_the_pattern_finds_what_it_looks_for():
    assert SESSION_STATE.search("SELECT pg_advisory_lock(42)")
    assert SESSION_STATE.search("select pg_try_advisory_lock (1)")
    assert not SESSION_STATE.search("SELECT pg_advisory_xact_lock(42)")


def test_no_session_state_in_the_code():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if SESSION_STATE.search(line)
    ]
    assert not found, found
