"""The checked-in alert rules and dashboard only use metrics the service exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from app.observability import metrics

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def exported() -> set[str]:
    names = set(metrics.DATABASE_GAUGES)
    for value in vars(metrics).values():
        if hasattr(value, "describe") and hasattr(value, "_name"):
            for family in value.describe():
                names.add(family.name)
    return names


def referenced(text: str) -> set[str]:
    found = set()
    for raw in re.findall(r"\bbilling_[a-z_]+", text):
        name = raw
        for suffix in SUFFIXES:
            if raw.endswith(suffix):
                name = raw[: -len(suffix)]
                break
        found.add(name)
    return found


def test_alert_rules_parse_and_cover_what_operators_must_know():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    names = {rule["alert"] for rule in rules}
    assert {
        "BillingPendingTooOld",
        "BillingNeedsReview",
        "BillingWorkerDown",
        "BillingKaspiErrorRate",
        "BillingHttp5xxRate",
    } <= names
    assert all(rule["expr"] and rule["labels"]["severity"] for rule in rules)
    unknown = referenced(json.dumps(rules)) - exported()
    assert not unknown, unknown


def test_dashboard_is_json_using_exported_metrics_only():
    dashboard = json.loads((DEPLOY / "grafana" / "billing.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = referenced("\n".join(exprs))
    assert not used - exported(), used - exported()
    # Every metric the service exports is on the dashboard.
    assert exported() <= used, exported() - used
