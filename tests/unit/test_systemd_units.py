"""The systemd units do not restart a refusal to start in a loop."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from app.refusal import EX_CONFIG, GUNICORN_BOOT_ERROR

pytestmark = pytest.mark.unit

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
RESTARTED = sorted(p for p in SYSTEMD.glob("*.service") if "Restart=" in p.read_text())


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_the_long_running_units_are_the_restarted_ones():
    names = {p.name for p in RESTARTED}
    assert {
        "billing-api.service",
        "billing-stream.service",
        "billing-worker@.service",
        "billing-beat.service",
    } <= names


@pytest.mark.parametrize("path", RESTARTED, ids=lambda p: p.name)
def test_a_refusal_is_not_restarted_and_starts_are_limited(path):
    parsed = unit(path)
    prevented = parsed["Service"].get("RestartPreventExitStatus", "").split()
    assert str(GUNICORN_BOOT_ERROR) in prevented and str(EX_CONFIG) in prevented
    assert int(parsed["Unit"]["StartLimitBurst"]) <= 10
    assert int(parsed["Unit"]["StartLimitIntervalSec"]) >= 30


ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="no systemd-analyze")
@pytest.mark.parametrize("path", RESTARTED, ids=lambda p: p.name)
def test_systemd_accepts_every_directive(path):
    done = subprocess.run(
        [str(ANALYZE), "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Paths of a real install (/opt/billing, the billing user) do not exist here;
    # an unknown or misplaced directive is what must not appear.
    problems = [
        line
        for line in done.stderr.splitlines()
        if "Unknown key" in line or "Unknown section" in line or "Failed to parse" in line
    ]
    assert not problems, done.stderr
