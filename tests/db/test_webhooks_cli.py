"""`flask --app wsgi billing webhooks ...`: JSON out, refusals with exit 2 and nothing changed."""

from __future__ import annotations

import base64
import json

import pytest

from app.extensions import db
from app.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.db


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["billing", "webhooks", *args])


def test_add_prints_the_endpoint_and_a_standard_secret(app, db_session):
    shown = cli(app, "add", "https://platform.example/hooks", "--events", "credit.granted")
    assert shown.exit_code == 0, shown.output
    created = json.loads(shown.stdout)
    assert set(created) == {"id", "url", "events", "secret"}
    assert created["events"] == ["credit.granted"]
    assert created["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(created["secret"].removeprefix("whsec_"))) <= 64
    listed = json.loads(cli(app, "list").stdout)
    assert [e["id"] for e in listed if e["id"] == created["id"]] == [created["id"]]
    assert "secret" not in listed[0]


def test_disable_enable_rotate_and_attempts(app, db_session):
    endpoint_id = json.loads(cli(app, "add", "https://platform.example/h").stdout)["id"]
    assert json.loads(cli(app, "disable", endpoint_id).stdout)["enabled"] is False
    assert json.loads(cli(app, "enable", endpoint_id).stdout)["enabled"] is True
    before = db.session.get_one(WebhookEndpoint, endpoint_id).secret
    db.session.rollback()
    rotated = json.loads(cli(app, "rotate", endpoint_id).stdout)
    assert rotated["secret"] != before and rotated["previous_secret_until"]
    assert json.loads(cli(app, "attempts", endpoint_id).stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "https://p.example/h", "--events", "credit.exploded"), "unknown event type"),
        (("add", "ftp://p.example/h"), "not an http(s) URL"),
        (("disable", "ep_nope"), "no webhook endpoint"),
        (("rotate", "ep_nope"), "no webhook endpoint"),
        (("attempts", "ep_nope"), "no webhook endpoint"),
        (("replay", "ep_nope", "--event", "msg_x"), "no webhook endpoint"),
    ],
)
def test_refusals_say_why_exit_2_and_change_nothing(app, db_session, args, message):
    count = db.session.query(WebhookEndpoint).count()
    db.session.rollback()
    shown = cli(app, *args)
    assert shown.exit_code == 2
    assert message in shown.stderr
    assert db.session.query(WebhookEndpoint).count() == count
    db.session.rollback()


def test_replay_without_a_selection_is_refused(app, db_session):
    endpoint_id = json.loads(cli(app, "add", "https://platform.example/h").stdout)["id"]
    shown = cli(app, "replay", endpoint_id)
    assert shown.exit_code == 2 and "--event EVENT_ID or --since" in shown.stderr
    bad = cli(app, "replay", endpoint_id, "--since", "yesterday")
    assert bad.exit_code == 2 and "ISO 8601" in bad.output + bad.stderr
