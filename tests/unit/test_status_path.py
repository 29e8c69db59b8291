"""One status path per entity: nothing but its own module changes a status or writes an
audit row (app/billing/core/status.py for transactions, credits and refund attempts;
app/clubs/transitions.py for club subscriptions; app/webhooks/states.py for webhook
deliveries; app/billing/fiscal/states.py for fiscal receipts)."""

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
STATUS_PATHS = {
    ROOT / "app" / "billing" / "core" / "status.py",
    ROOT / "app" / "clubs" / "transitions.py",
    ROOT / "app" / "webhooks" / "states.py",
    ROOT / "app" / "billing" / "fiscal" / "states.py",
}
# An Idempotency-Key's claim (in_progress → done) is a request's lock on its key, kept
# by the module that claims it, not the status of a billing entity.
EXEMPT = {("app/billing/purchase/idempotency.py", "UPDATE … values(state=…)")}
# SQL that changes a status or appends to the audit log, written as text.
SQL_WRITES = re.compile(
    r"INSERT\s+INTO\s+transaction_events|\bSET\b[^;]*\bstatus\s*=", re.IGNORECASE | re.DOTALL
)
AUDIT_ROW = "TransactionEvent"


def _sources():
    # The Kaspi stub is another service (Kaspi's own payments), not one of ours.
    for path in sorted((ROOT / "app").rglob("*.py")):
        if "kaspi_stub" not in path.parts:
            yield path


def writes(source: str) -> list[tuple[int, str]]:
    """Where ``source`` changes a status or writes an audit row, as (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            # ``self.status`` is an object's own field (an HTTP error's status code).
            if (
                isinstance(target, ast.Attribute)
                and target.attr in ("status", "state")
                and not (isinstance(target.value, ast.Name) and target.value.id == "self")
            ):
                found.append((node.lineno, f"assigns .{target.attr}"))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == AUDIT_ROW:
                found.append((node.lineno, "adds an audit row"))
            if name == "values" and any(k.arg in ("status", "state") for k in node.keywords):
                field = next(k.arg for k in node.keywords if k.arg in ("status", "state"))
                found.append((node.lineno, f"UPDATE … values({field}=…)"))
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_WRITES.search(node.value)
        ):
            found.append((node.lineno, "SQL that writes a status or an audit row"))
    return found


def test_only_the_status_paths_change_a_status_or_write_the_audit_log():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _sources()
        if path not in STATUS_PATHS
        for line, what in writes(path.read_text())
        if (str(path.relative_to(ROOT)), what) not in EXEMPT
    ]
    assert offenders == []


def test_the_status_path_is_where_the_writes_are():
    # The check must see what it forbids, or the test above proves nothing.
    status_module = (ROOT / "app" / "billing" / "core" / "status.py").read_text()
    kinds = {what for _, what in writes(status_module)}
    assert {
        "assigns .status",
        "assigns .state",
        "adds an audit row",
        "UPDATE … values(status=…)",
        "SQL that writes a status or an audit row",
    } <= kinds


@pytest.mark.parametrize(
    "snippet",
    [
        "tx.status = 'completed'",
        "credit.status: str = 'revoked'",
        "db.session.add(TransactionEvent(to_status='x'))",
        "update(Credit).values(status='consumed')",
        "text('UPDATE transactions SET settled_at = now(), status = :s')",
        "'INSERT INTO transaction_events (transaction_id) VALUES (1)'",
    ],
)
def test_each_kind_of_write_is_seen(snippet):
    assert writes(snippet) != []


def test_reads_and_an_objects_own_fields_are_not_writes():
    assert writes("self.status = 404\nif tx.status == 'pending': pass") == []
    assert writes("select(Transaction).where(Transaction.status == 'pending')") == []
