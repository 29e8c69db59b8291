"""The late-payment sweep is on the beat schedule, at least once a minute in development."""

import os
from datetime import timedelta

import pytest
from celery import _state as celery_state

from app import create_app

pytestmark = pytest.mark.unit


@pytest.fixture
def dev_app(monkeypatch):
    """A development app that leaves the process's default Celery app as it found it
    (create_app makes its own the default, and later tests must not send to it)."""
    previous = celery_state.default_app

    def build():
        return create_app(
            {
                "PROFILE": "development",
                "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            }
        )

    yield build
    if previous is not None:
        previous.set_default()


def test_development_runs_the_late_payment_sweep_at_least_once_a_minute(dev_app, monkeypatch):
    monkeypatch.delenv("LATE_SWEEP_INTERVAL_S", raising=False)
    app = dev_app()
    entry = app.extensions["celery"].conf.beat_schedule["late-payment-sweep"]
    assert entry["task"] == "billing.sweep_late_payments"
    assert entry["schedule"] <= timedelta(seconds=60)
    assert app.config["LATE_RECHECK_S"] <= 60


def test_the_sweep_interval_comes_from_the_environment(dev_app, monkeypatch):
    monkeypatch.setenv("LATE_SWEEP_INTERVAL_S", "5")
    entry = dev_app().extensions["celery"].conf.beat_schedule["late-payment-sweep"]
    assert entry["schedule"] == timedelta(seconds=5)
