"""The breaking-change gate of `make contract-check`.

The committed openapi.json is compared with the previous commit's (``HEAD~1``, the
main line's parent after a merge) by ``openapi-diff`` (npm, pinned in
clients/typescript/package-lock.json). It reports a removed path or operation, a
response that may now carry what a client did not expect (a removed or retyped
field) and a request that accepts less than before (a new required field, a
narrowed type) as breaking. A breaking change passes only when it is announced:
a commit since ``HEAD~1`` whose message has a ``BREAKING CHANGE`` line, or a line
added to CHANGELOG.md that says ``BREAKING``.

openapi-diff reads OpenAPI 3.0, and our document is 3.1. ``openapi-down-convert``
(npm, pinned beside it) converts it; two things it leaves alone are prepared here
first, without changing what is compared:

- pydantic's nullable fields, ``anyOf: [X, {"type": "null"}]``, become
  ``anyOf: [X, {"enum": [null]}]``: 3.0 has no null type, and openapi-diff ignores
  3.0's ``nullable``, while it does compare enums, so a field that stops (or starts)
  being nullable is still seen;
- 3.1's ``contentSchema`` of the event stream's ``data`` (a JSON string) is kept as an
  extension: that body is TransactionStatusOut, which the JSON endpoints already gate.

The ``webhooks`` section has no 3.0 form, so each webhook becomes a GET path
``/webhooks/<type>`` whose 200 answer is its body: what the service sends is what a
receiver reads, and a removed or retyped field of it breaks receivers exactly as it
would break the callers of a response.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DOCUMENT = "openapi.json"
CHANGELOG = "CHANGELOG.md"
TOOLS = Path("clients/typescript/node_modules/.bin")
NULL = {"type": "null"}
NULL_30 = {"enum": [None]}
RENAMED_KEYWORDS = ("contentSchema", "contentMediaType")
WEBHOOK_PATH = "/webhooks/{name}"


GIT = shutil.which("git") or "/usr/bin/git"


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GIT, *args], cwd=root, capture_output=True, text=True, check=False)


def previous_document(root: Path) -> str | None:
    """The document as the previous commit had it; None without one."""
    shown = _git(root, "show", f"HEAD~1:{DOCUMENT}")
    return shown.stdout if shown.returncode == 0 else None


def announcement(root: Path) -> str | None:
    """Where a breaking change since HEAD~1 is announced, or None."""
    messages = _git(root, "log", "--format=%B", "HEAD~1..HEAD")
    for line in messages.stdout.splitlines():
        if line.strip().upper().startswith("BREAKING CHANGE"):
            return f"commit message: {line.strip()}"
    changed = _git(root, "diff", "--unified=0", "HEAD~1", "HEAD", "--", CHANGELOG)
    for line in changed.stdout.splitlines():
        if line.startswith("+") and not line.startswith("+++") and "BREAKING" in line:
            return f"{CHANGELOG}: {line[1:].strip()}"
    return None


def _for_openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_for_openapi_30(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {
        (f"x-{key}" if key in RENAMED_KEYWORDS else key): _for_openapi_30(value)
        for key, value in node.items()
    }
    if node == NULL:
        return NULL_30
    return node


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document as openapi-down-convert can take it (see the module's docstring)."""
    prepared: dict[str, Any] = _for_openapi_30(document)
    paths = dict(prepared.get("paths", {}))
    for name, item in prepared.pop("webhooks", {}).items():
        body = item["post"]["requestBody"]["content"]
        paths[WEBHOOK_PATH.format(name=name)] = {
            "get": {
                "operationId": item["post"]["operationId"],
                "responses": {"200": {"description": "The webhook's body", "content": body}},
            }
        }
    prepared["paths"] = paths
    return prepared


def _converted(document: dict[str, Any], scratch: Path, name: str, root: Path) -> Path:
    prepared = scratch / f"{name}-3.1.json"
    prepared.write_text(json.dumps(comparable(document)), encoding="utf-8")
    converted = scratch / f"{name}-3.0.json"
    result = subprocess.run(
        [
            str(root / TOOLS / "openapi-down-convert"),
            "--input",
            str(prepared),
            "--output",
            str(converted),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"openapi-down-convert failed: {result.stderr or result.stdout}")
    return converted


def breaking_changes(old: dict[str, Any], new: dict[str, Any], root: Path) -> list[str]:
    """openapi-diff's breaking differences from ``old`` to ``new``, one line each."""
    with tempfile.TemporaryDirectory(prefix="contract-gate-") as scratch:
        before = _converted(old, Path(scratch), "before", root)
        after = _converted(new, Path(scratch), "after", root)
        result = subprocess.run(
            [str(root / TOOLS / "openapi-diff"), str(before), str(after)],
            capture_output=True,
            text=True,
            check=False,
        )
    first, _, rest = result.stdout.partition("\n")
    if first.startswith(("No changes", "Non breaking")) and result.returncode == 0:
        return []
    if not first.startswith("Breaking changes"):
        raise RuntimeError(f"openapi-diff failed: {result.stdout[:2000]}{result.stderr[:2000]}")
    found = json.loads(rest)["breakingDifferences"]
    lines = []
    for difference in found:
        where = difference.get("sourceSpecEntityDetails") or difference.get(
            "destinationSpecEntityDetails"
        )
        location = where[0]["location"] if where else "?"
        lines.append(f"{difference['code']} at {location}")
    return lines


def check_breaking(root: Path) -> bool:
    """The gate: True when nothing breaks, or the break is announced."""
    previous = previous_document(root)
    if previous is None:
        has_parent = _git(root, "rev-parse", "--verify", "--quiet", "HEAD~1").returncode == 0
        why = f"no {DOCUMENT} in HEAD~1" if has_parent else "no HEAD~1 (a shallow clone?)"
        print(f"contract: {why}: nothing to compare with")
        return True
    current = json.loads((root / DOCUMENT).read_text(encoding="utf-8"))
    try:
        found = breaking_changes(json.loads(previous), current, root)
    except RuntimeError as error:
        print(f"contract: the breaking-change gate could not run: {error}", file=sys.stderr)
        return False
    if not found:
        print(f"contract: {DOCUMENT} breaks nothing of HEAD~1's")
        return True
    said = announcement(root)
    stream = sys.stdout if said else sys.stderr
    print(f"contract: {DOCUMENT} has breaking changes since HEAD~1:", file=stream)
    for line in found:
        print(f"  {line}", file=stream)
    if said:
        print(f"contract: announced ({said}): allowed", file=stream)
        return True
    print(
        "contract: announce it with a `BREAKING CHANGE: ...` line in the commit message "
        f"or a line saying BREAKING in {CHANGELOG}, or keep the old shape",
        file=stream,
    )
    return False
