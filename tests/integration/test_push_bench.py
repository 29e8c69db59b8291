"""The push benchmark's plumbing at a small N (benchmarks/push_bench.py): it opens its
streams against a real stream process, times the notices and writes the keys `make bench`
reports. No figure is judged here: the benchmarks are not tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_the_push_bench_opens_its_streams_and_reports_the_capacity_keys(tmp_path):
    out, latest = tmp_path / "push.json", tmp_path / "latest.json"
    latest.write_text(json.dumps({"kept": 1}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.push_bench",
            "--streams",
            "30",
            "--samples",
            "5",
            "--skip-scenario",
            "--hold-s",
            "1",
            "--out",
            str(out),
            "--latest",
            str(latest),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["push_open_streams"] == 30
    assert results["push_streams_failed"] == 0
    assert results["push_notify_samples"] == 5
    assert results["push_notify_p50_ms"] <= results["push_notify_p99_ms"]
    assert results["push_stream_rss_mb"] > 0
    assert isinstance(results["push_stream_kb_per_stream"], float)
    # A standalone run updates its own keys in the JSON and keeps the others.
    merged = json.loads(latest.read_text())
    assert merged["kept"] == 1
    assert merged["push_open_streams"] == 30
