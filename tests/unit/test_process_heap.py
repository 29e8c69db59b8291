"""The API's and the worker's entry points freeze what their start-up made."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
import {module}
frozen = gc.get_freeze_count()
gc.collect()
print(frozen, gc.get_freeze_count(), len(gc.get_objects()))
"""


@pytest.mark.parametrize("module", ["wsgi", "workers"])
def test_an_entry_point_leaves_its_start_up_objects_frozen(module, tmp_path):
    env = {**os.environ, "BILLING_ENV": "testing", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frozen, still_frozen, tracked = (int(n) for n in result.stdout.split())
    # The app's objects are frozen and stay so; the collector tracks only what came later.
    assert frozen > 50_000 and still_frozen == frozen
    assert tracked < frozen / 10
