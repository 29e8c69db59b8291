"""The venv bootstrap: an old Python changes nothing; a broken venv is detected."""

from __future__ import annotations

import os
import types

import pytest

from scripts import bootstrap

pytestmark = pytest.mark.unit


def fake_venv(root, python_body: str | None):
    (root / "bin").mkdir(parents=True)
    if python_body is not None:
        python = root / "bin" / "python"
        python.write_text(f"#!/bin/sh\n{python_body}\n")
        python.chmod(0o755)
    return str(root)


def test_an_old_python_is_told_what_to_do(monkeypatch, capsys, tmp_path):
    old = types.SimpleNamespace(version_info=(3, 10, 12), executable="/usr/bin/python3")
    monkeypatch.setattr(bootstrap, "sys", old)
    venv = fake_venv(tmp_path / "venv", "exit 0")
    assert bootstrap.main([venv, "requirements.txt"]) == 1
    said = capsys.readouterr().out
    assert "needs Python 3.11 or newer" in said and "3.10.12" in said
    assert "Nothing was changed" in said and "make PYTHON=python3.11" in said
    assert os.path.exists(venv)  # nothing removed


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "no working bin/python"),
        ("exit 3", "older than 3.11"),
        ("exit 1", "cannot import pip"),
    ],
)
def test_broken_venvs_are_recognised(tmp_path, body, reason):
    venv = fake_venv(tmp_path / "venv", body)
    assert reason in bootstrap.venv_problem(venv)


def test_an_install_that_died_half_way_is_not_reused(tmp_path):
    venv = fake_venv(tmp_path / "venv", "exit 0")
    (tmp_path / "venv" / bootstrap.INCOMPLETE).touch()
    assert bootstrap.venv_problem(venv) == "its last install did not finish"


def test_a_healthy_venv_is_reused(tmp_path):
    venv = fake_venv(tmp_path / "venv", "exit 0")
    assert bootstrap.venv_problem(venv) is None


def test_removing_a_linked_venv_drops_the_link_only(tmp_path):
    target = tmp_path / "shared"
    target.mkdir()
    (target / "keep").touch()
    link = tmp_path / "venv"
    link.symlink_to(target)
    bootstrap.remove_venv(str(link))
    assert not link.exists() and (target / "keep").exists()


def test_a_dev_install_covers_the_runtime_requirements(tmp_path):
    (tmp_path / "requirements.txt").write_text("Flask==3.1.3\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.0\n")
    covered = bootstrap.included(str(tmp_path / "requirements-dev.txt"))
    assert [os.path.basename(p) for p in covered] == ["requirements-dev.txt", "requirements.txt"]
