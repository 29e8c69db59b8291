"""The db tier: each test's in-process tasks run in the tier's own app."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _tasks_run_in_the_session_app(request: pytest.FixtureRequest) -> None:
    """create_app makes its Celery app the process's current one, and a task run in-process
    (``task.apply()``) runs in that app's Flask app. Tests elsewhere build apps of their own
    (unit tests, ``make_app``): whatever ran before, a db test's tasks run in ``app``."""
    if "app" not in request.fixturenames:
        return
    celery = request.getfixturevalue("app").extensions["celery"]
    celery.set_current()
    celery.set_default()
