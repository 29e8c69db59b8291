"""Only app/db.py commits or rolls back: every other module goes through its steps."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"\.(commit|rollback)\(\)|\b(commit|rollback)\(\)")
TEST_ONLY = re.compile(r"_test_pause|BILLING_TEST_|\bTESTING\b.*\bif\b|if .*\bTESTING\b")


def _sources():
    for folder in ("app", "workers"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_commit_or_rollback_outside_the_db_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        if path != ROOT / "app" / "db.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CALL.search(line)
    ]
    assert offenders == []


def test_no_test_only_branches_in_production_code():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if TEST_ONLY.search(line)
    ]
    assert offenders == []


def test_the_grep_finds_what_it_looks_for():
    # The patterns must catch what they forbid, or the tests above prove nothing.
    assert CALL.search("db.session.commit()") and CALL.search("    rollback()")
    assert not CALL.search("def commit_message(): pass")
    assert TEST_ONLY.search("if current_app.config.get('TESTING'):")
