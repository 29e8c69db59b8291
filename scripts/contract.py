"""`make contract` and `make contract-check`: the API contract outside the server.

``generate`` writes, from the app itself:

- ``openapi.json``: the OpenAPI document as production serves it (no development
  endpoints), with sorted keys and a fixed indentation, so the same code always gives
  the same bytes;
- ``clients/typescript/src/schema.d.ts``: its TypeScript types (``openapi-typescript``,
  pinned in clients/typescript/package-lock.json), the ``webhooks`` section included;
- ``clients/python/``: a pip-installable Python client (``openapi-python-client``,
  pinned in requirements-dev.txt).

``check`` (CI, before the tests) fails when any of that differs from what is committed
(the generation runs into a temporary directory: nothing in the checkout changes), when
the committed document breaks the previous commit's without saying so (``openapi-diff``,
see scripts/contract_gate.py), or when the web page's modules or the TypeScript client
do not type-check against the generated types (``tsc --noEmit``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = "openapi.json"
TS_DIR = "clients/typescript"
TS_SCHEMA = f"{TS_DIR}/src/schema.d.ts"
PY_DIR = "clients/python"
PY_CONFIG = "clients/python-config.yaml"
# What a generated tree may hold that is not part of it (an editable install, caches).
IGNORED = {"__pycache__", ".ruff_cache", ".mypy_cache"}
IGNORED_SUFFIXES = (".egg-info", ".pyc")


def document_text() -> str:
    """The document production serves, as the bytes committed in openapi.json."""
    from app import create_app
    from app.openapi.document import build_document

    # Development endpoints are never part of the contract, whatever the environment says.
    app = create_app({"PROFILE": "testing", "BILLING_DEV_ENDPOINTS": False})
    with app.app_context():
        document = build_document()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def node_bin(name: str) -> str:
    path = ROOT / TS_DIR / "node_modules" / ".bin" / name
    if not path.exists():
        sys.exit(f"contract: {path} is missing: run `make install` (npm ci in {TS_DIR})")
    return str(path)


def run(command: list[str], cwd: Path = ROOT) -> None:
    # The generators' post-hooks call `ruff`: the venv's, whichever shell this came from.
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"contract: {' '.join(command)} failed ({result.returncode})")


def generate(root: Path) -> None:
    """Write the document and both clients under ``root`` (the checkout, or a scratch copy)."""
    (root / DOCUMENT).write_text(document_text(), encoding="utf-8")
    schema = root / TS_SCHEMA
    schema.parent.mkdir(parents=True, exist_ok=True)
    # Optional means "not in `required`" only: a default the server fills in (club_id,
    # quantity) must not make a request field mandatory for the caller.
    run(
        [
            node_bin("openapi-typescript"),
            str(root / DOCUMENT),
            "--default-non-nullable=false",
            "--output",
            str(schema),
        ]
    )
    # The generator replaces its output directory whole: stage it, then swap it in.
    with tempfile.TemporaryDirectory(prefix="contract-py-") as scratch:
        staged = Path(scratch) / "python"
        run(
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--path",
                str(root / DOCUMENT),
                "--output-path",
                str(staged),
                "--config",
                str(ROOT / PY_CONFIG),
                "--meta",
                "setup",
                "--overwrite",
            ]
        )
        target = root / PY_DIR
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(staged, target)


def generated_files(root: Path) -> dict[str, Path]:
    """Every generated file under ``root``, by its path relative to it."""
    files = {DOCUMENT: root / DOCUMENT, TS_SCHEMA: root / TS_SCHEMA}
    python_root = root / PY_DIR
    if python_root.exists():
        for path in python_root.rglob("*"):
            parts = path.relative_to(root).parts
            if any(p in IGNORED or p.endswith(IGNORED_SUFFIXES) for p in parts):
                continue
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path
    return files


def drift(committed_root: Path, fresh_root: Path) -> list[str]:
    """What differs between the checkout's generated files and freshly generated ones."""
    committed = generated_files(committed_root)
    fresh = generated_files(fresh_root)
    problems = []
    for name in sorted(set(committed) | set(fresh)):
        if name not in fresh:
            problems.append(f"{name}: committed but no longer generated")
        elif name not in committed or not committed[name].exists():
            problems.append(f"{name}: generated but not committed")
        else:
            old = committed[name].read_text(encoding="utf-8").splitlines(keepends=True)
            new = fresh[name].read_text(encoding="utf-8").splitlines(keepends=True)
            if old != new:
                diff = difflib.unified_diff(old, new, f"committed/{name}", f"generated/{name}")
                problems.append(f"{name}: differs\n" + "".join(list(diff)[:40]))
    return problems


def check_drift() -> bool:
    with tempfile.TemporaryDirectory(prefix="contract-check-") as scratch:
        fresh = Path(scratch)
        generate(fresh)
        problems = drift(ROOT, fresh)
    if problems:
        print("contract: the committed contract differs from the app's:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("contract: run `make contract` and commit the result", file=sys.stderr)
        return False
    print("contract: openapi.json and clients/ match the app")
    return True


def check_types() -> bool:
    """The TypeScript client, its tests and the web page's modules against the types."""
    ok = True
    for project in ("tsconfig.json", "tsconfig.web.json"):
        result = subprocess.run(
            [node_bin("tsc"), "--noEmit", "-p", project],
            cwd=ROOT / TS_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            print(f"contract: tsc -p {TS_DIR}/{project} found type errors", file=sys.stderr)
            ok = False
        else:
            print(f"contract: tsc -p {TS_DIR}/{project}: no type errors")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["generate", "check"])
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(ROOT)
        print(f"contract: wrote {DOCUMENT}, {TS_SCHEMA} and {PY_DIR}/")
        return 0
    from scripts.contract_gate import check_breaking

    results = [check_drift(), check_breaking(ROOT), check_types()]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
