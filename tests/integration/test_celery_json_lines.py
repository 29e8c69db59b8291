"""A Celery worker's own lines are JSON like the rest: "Warm shutdown", a pool process
killed by a signal, Celery's banner. Before, the first came from Celery's plain
``safe_say`` and the second from billiard's logger, which had no handler of ours."""

from __future__ import annotations

import json
import os
import signal

import psutil
import pytest

from tests.support.processes import start_celery_beat, start_celery_worker, wait_until

pytestmark = pytest.mark.integration


def lines_of(path) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def messages(path) -> list[str]:
    return [json.loads(line).get("message", "") for line in lines_of(path) if line.startswith("{")]


def test_shutdown_and_a_killed_pool_process_are_json_lines(worker_env, tmp_path):
    worker = start_celery_worker({**worker_env, "LOG_FORMAT": "json"}, name="json-lines")
    log = worker.log_path
    log.write_text("")  # this run's lines only
    try:
        wait_until(
            lambda: any("ready" in m for m in messages(log)), timeout=60, message="worker ready"
        )
        children = psutil.Process(worker.pid).children()
        assert children, "the prefork pool has processes"
        victim = children[0].pid
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: any(str(victim) in m and "SIGKILL" in m for m in messages(log)),
            timeout=30,
            message="the pool process's death to be logged as JSON",
        )
        os.kill(worker.pid, signal.SIGTERM)
        worker.proc.wait(30)
    finally:
        worker.stop()
    lines = lines_of(log)
    not_json = [line for line in lines if not line.startswith("{")]
    assert not not_json, not_json[:10]
    said = messages(log)
    assert any("Warm shutdown" in m for m in said), said[-10:]
    for line in lines:
        parsed = json.loads(line)
        assert {"level", "logger", "message", "timestamp"} <= parsed.keys(), line


def test_beat_starts_and_stops_in_json_lines(worker_env, tmp_path):
    beat = start_celery_beat(
        {**worker_env, "LOG_FORMAT": "json"}, tmp_path / "schedule", name="json-lines-beat"
    )
    log = beat.log_path
    log.write_text("")
    try:
        wait_until(
            lambda: any(m.startswith("celery beat:") for m in messages(log)),
            timeout=60,
            message="beat's startup line",
        )
        os.kill(beat.pid, signal.SIGTERM)
        beat.proc.wait(30)
    finally:
        beat.stop()
    not_json = [line for line in lines_of(log) if not line.startswith("{")]
    assert not not_json, not_json[:10]
    assert any("is starting" in m for m in messages(log))
