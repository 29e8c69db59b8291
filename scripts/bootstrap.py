"""Make the virtualenv ready: `python3 scripts/bootstrap.py VENV REQUIREMENTS...`.

Run by the Makefile with the system's python3 before anything else, so it is written
for any Python 3.7+ (no third-party imports, annotations never evaluated):

1. The Python must be 3.11 or newer. If it is not, nothing is touched and the
   message says what to do.
2. A venv that is broken — no working interpreter, an interpreter older than 3.11
   (made by an earlier, older python3), or an install that died half-way — is
   removed and made again rather than reused.
3. The requirements are installed when they changed since the last install, with
   pip's own output visible. The stamp file records what was installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

MINIMUM = (3, 11)
INCOMPLETE = ".install-incomplete"


def say(message: str) -> None:
    print("bootstrap: " + message, flush=True)


def check_python() -> bool:
    if sys.version_info[:2] >= MINIMUM:
        return True
    have = ".".join(str(part) for part in sys.version_info[:3])
    need = ".".join(str(part) for part in MINIMUM)
    say(
        f"this project needs Python {need} or newer; {sys.executable} is Python {have}.\n"
        "  Nothing was changed.\n"
        "  Install a newer Python (Debian/Ubuntu: apt-get install python3.11 python3.11-venv)\n"
        "  and run make with it: make PYTHON=python3.11 <target>"
    )
    return False


def venv_problem(venv: str) -> str | None:
    """None when the venv can be reused, else why it cannot."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.lexists(venv):
        return "missing"
    if not os.path.exists(python):
        return "it has no working bin/python"
    if os.path.exists(os.path.join(venv, INCOMPLETE)):
        return "its last install did not finish"
    probe = f"import sys, pip; sys.exit(0 if sys.version_info[:2] >= {MINIMUM!r} else 3)"
    try:
        code = subprocess.call([python, "-c", probe], stderr=subprocess.DEVNULL)
    except OSError:
        return "its bin/python does not run"
    if code == 3:
        return "it was made by a Python older than " + ".".join(str(p) for p in MINIMUM)
    if code != 0:
        return "its Python cannot import pip"
    return None


def remove_venv(venv: str) -> None:
    if os.path.islink(venv):
        os.unlink(venv)  # a link to a shared venv: drop the link, never the target
    else:
        shutil.rmtree(venv)


def included(path: str) -> list[str]:
    """The file and every file it pulls in with `-r other.txt`."""
    files = [path]
    with open(path) as handle:
        lines = handle.read().splitlines()
    for line in lines:
        if line.startswith("-r "):
            files += included(os.path.join(os.path.dirname(path), line[3:].strip()))
    return files


def stamp(venv: str, path: str) -> str:
    """A stamp per requirements file and content: dev's install also covers the runtime's."""
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    return os.path.join(venv, f".installed-{os.path.basename(path)}-{digest}")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        say("usage: bootstrap.py VENV REQUIREMENTS...")
        return 2
    if not check_python():
        return 1
    venv, requirements = argv[0], argv[1:]
    problem = venv_problem(venv)
    if problem and problem != "missing":
        say(f"{venv} is broken ({problem}): making it again")
        remove_venv(venv)
    if problem:
        say(f"creating {venv} with {sys.executable}")
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    covered = [f for path in requirements for f in included(path)]
    if all(os.path.exists(stamp(venv, f)) for f in covered):
        return 0
    marker = os.path.join(venv, INCOMPLETE)
    open(marker, "w").close()
    python = os.path.join(venv, "bin", "python")
    say("installing {} into {} (pip's output follows)".format(" ".join(requirements), venv))
    if problem:
        subprocess.check_call([python, "-m", "pip", "install", "--upgrade", "pip"])
    for path in requirements:
        subprocess.check_call([python, "-m", "pip", "install", "-r", path])
    os.unlink(marker)
    for f in covered:
        open(stamp(venv, f), "w").close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        say(
            "failed: {} (exit {}). Fix the cause and run make again: the venv will be "
            "checked and the install resumed.".format(" ".join(exc.cmd), exc.returncode)
        )
        sys.exit(1)
