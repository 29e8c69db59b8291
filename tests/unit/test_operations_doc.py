"""docs/OPERATIONS.md answers every alert: each rule is in its Alerts table, each
runbook link lands on an anchor there, and every exported metric is in its tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.unit.test_deploy_files import exported

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"


def rules() -> list[dict]:
    text = (ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
    return yaml.safe_load(text)["groups"][0]["rules"]


def alerts_table(doc: str) -> str:
    section = doc.split("\n## Alerts\n", 1)[1]
    return section.split("\n## ", 1)[0]


def test_every_alert_rule_is_in_the_alerts_table():
    table = alerts_table(OPERATIONS.read_text())
    missing = [rule["alert"] for rule in rules() if f"`{rule['alert']}`" not in table]
    assert not missing, missing


def test_every_runbook_link_lands_on_an_anchor():
    doc = OPERATIONS.read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', doc))
    runbooks = [r["annotations"]["runbook"] for r in rules() if "runbook" in r["annotations"]]
    assert runbooks, "no rule links a runbook"
    for link in runbooks:
        path, _, anchor = link.partition("#")
        assert (ROOT / path).exists(), link
        assert anchor in anchors, link


def test_every_webhook_metric_is_documented():
    doc = OPERATIONS.read_text()
    webhook_metrics = {name for name in exported() if name.startswith("billing_webhook_")}
    assert webhook_metrics
    # A counter's family name drops the `_total` its samples carry.
    missing = {name for name in webhook_metrics if not re.search(f"`{name}(_total)?`", doc)}
    assert not missing, missing
