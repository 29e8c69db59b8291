"""The supervisor behind `make run`: a crash restarts that process with backoff, alone."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading

import psutil
import pytest

from scripts.supervisor import Program, Supervisor, running_supervisor, stop_leftovers
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def test_a_crashing_program_is_restarted_with_backoff_and_the_others_keep_running(tmp_path):
    out = io.BytesIO()
    sup = Supervisor(tmp_path / "run.json", out=out)
    steady = sup.start(Program("steady", [sys.executable, "-c", "import time; time.sleep(60)"]))
    crashy = sup.start(
        Program("crashy", [sys.executable, "-c", "print('boom', flush=True); raise SystemExit(3)"])
    )
    steady_pid = steady.proc.pid
    loop = threading.Thread(target=sup.supervise, daemon=True)
    loop.start()
    try:
        wait_until(
            lambda: out.getvalue().count(b"restarting crashy") >= 2,
            timeout=30,
            message="two restarts of the crashing program",
        )
    finally:
        sup.stop_requested = 15
        loop.join(10)
        sup.stop_all(grace_s=5)
    text = out.getvalue().decode()
    assert re.search(r"crashy +\| boom", text)
    assert "crashy exited with code 3" in text
    assert "restarting in 1s" in text and "restarting in 2s" in text  # the backoff grows
    assert steady.proc.pid == steady_pid  # never restarted, never stopped by the crash
    assert "stopping steady" in text
    assert steady.proc.poll() is not None and crashy.proc.poll() is not None
    assert not (tmp_path / "run.json").exists()


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )


def test_what_a_killed_supervisor_left_is_stopped_and_nothing_else(tmp_path):
    left, stranger = _sleeper(), _sleeper()
    state = tmp_path / "run.json"
    try:
        state.write_text(
            json.dumps(
                {
                    "supervisor": {"pid": 2**22 + 7, "create_time": 0},  # never a live pid
                    "children": [
                        {
                            "name": "api",
                            "pid": left.pid,
                            "create_time": psutil.Process(left.pid).create_time(),
                        },
                        # A recorded pid now used by another process (other start time).
                        {"name": "worker", "pid": stranger.pid, "create_time": 1.0},
                    ],
                }
            )
        )
        assert running_supervisor(state) is None
        stopped = stop_leftovers(state, grace_s=5)
        assert stopped == [f"api (pid {left.pid})"]
        assert left.wait(10) is not None
        assert stranger.poll() is None  # not ours: left alone
        assert not state.exists()
    finally:
        for proc in (left, stranger):
            proc.kill()
            proc.wait(5)
