"""The committed contract: openapi.json is the app's document, the drift check sees
every kind of difference, and the breaking-change gate (openapi-diff) tells a break
from an addition and lets an announced break through."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scripts import contract, contract_gate

ROOT = contract.ROOT
needs_node_tools = pytest.mark.skipif(
    not (ROOT / contract_gate.TOOLS / "openapi-diff").exists(),
    reason="clients/typescript/node_modules is missing: `make install` runs npm ci",
)


def test_committed_document_is_the_apps_document_with_sorted_keys() -> None:
    committed = (ROOT / contract.DOCUMENT).read_text(encoding="utf-8")
    assert committed == contract.document_text(), "run `make contract` and commit openapi.json"
    document = json.loads(committed)
    assert list(document) == sorted(document)
    assert list(document["components"]["schemas"]) == sorted(document["components"]["schemas"])
    # The contract is production's: the development endpoints are never in it.
    assert not [path for path in document["paths"] if path.startswith("/api/dev")]
    assert "transaction.completed" in document["webhooks"]


def test_committed_typescript_types_cover_paths_and_webhooks() -> None:
    types = (ROOT / contract.TS_SCHEMA).read_text(encoding="utf-8")
    assert '"/api/billing/purchase-intent": {' in types
    assert "export interface webhooks {" in types
    assert '"transaction.completed": {' in types


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_drift_names_a_changed_a_missing_and_an_extra_file(tmp_path: Path) -> None:
    base = {
        contract.DOCUMENT: "{}\n",
        contract.TS_SCHEMA: "export {};\n",
        f"{contract.PY_DIR}/billing_client/a.py": "A = 1\n",
    }
    committed = _tree(tmp_path / "committed", base)
    same = _tree(tmp_path / "same", base)
    # An editable install's metadata and caches are not generated files.
    _tree(same, {f"{contract.PY_DIR}/billing_client.egg-info/PKG-INFO": "x"})
    assert contract.drift(committed, same) == []

    fresh = _tree(
        tmp_path / "fresh",
        {
            contract.DOCUMENT: '{"paths": {}}\n',
            contract.TS_SCHEMA: "export {};\n",
            f"{contract.PY_DIR}/billing_client/b.py": "B = 2\n",
        },
    )
    problems = contract.drift(committed, fresh)
    [changed] = [p for p in problems if p.startswith(f"{contract.DOCUMENT}: differs")]
    assert '+{"paths": {}}' in changed
    assert f"{contract.PY_DIR}/billing_client/a.py: committed but no longer generated" in problems
    assert f"{contract.PY_DIR}/billing_client/b.py: generated but not committed" in problems
    assert len(problems) == 3


def _document() -> dict[str, Any]:
    """A small 3.1 document with what ours has: a nullable field, a webhook."""
    item = {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": ["pending", "completed"]},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    order_in = {
        "type": "object",
        # As pydantic's request models (extra="forbid"): a new optional field widens.
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": {"type": "string"},
            "club_id": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
    }
    ok = {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "post": {
                    "operationId": "items.create",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ItemIn"}}
                        },
                    },
                    "responses": {"201": {"description": "ok", "content": ok}},
                }
            },
            "/items/{id}": {
                "get": {
                    "operationId": "items.get",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok", "content": ok}},
                }
            },
        },
        "webhooks": {
            "item.completed": {
                "post": {
                    "operationId": "webhook.item.completed",
                    "requestBody": {"content": ok},
                    "responses": {"2XX": {"description": "delivered"}},
                }
            }
        },
        "components": {"schemas": {"Item": item, "ItemIn": order_in}},
    }


def _changed(change: str) -> dict[str, Any]:
    document = copy.deepcopy(_document())
    schemas = document["components"]["schemas"]
    if change == "removed path":
        del document["paths"]["/items/{id}"]
    elif change == "removed response field":
        del schemas["Item"]["properties"]["status"]
        schemas["Item"]["required"].remove("status")
    elif change == "retyped response field":
        schemas["Item"]["properties"]["status"] = {"type": "integer"}
    elif change == "new required request field":
        schemas["ItemIn"]["properties"]["seats"] = {"type": "integer"}
        schemas["ItemIn"]["required"].append("seats")
    elif change == "response field now nullable":
        schemas["Item"]["properties"]["id"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    elif change == "nullable field no longer nullable":
        schemas["ItemIn"]["properties"]["club_id"] = {"type": "string"}
    elif change == "added response field and optional request field":
        schemas["Item"]["properties"]["seats"] = {"type": "integer"}
        schemas["ItemIn"]["properties"]["seats"] = {"type": "integer"}
    return document


@needs_node_tools
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("response field now nullable", "response.body.scope.add at paths./items/{id}.get"),
        ("removed path", "path.remove at paths./items/{id}"),
        ("removed response field", "response.body.scope.add at paths./items.post.responses.201"),
        ("retyped response field", "response.body.scope.add at paths./items/{id}.get.responses"),
        ("new required request field", "request.body.scope.remove at paths./items.post"),
        ("nullable field no longer nullable", "request.body.scope.remove at paths./items.post"),
    ],
)
def test_gate_reports_each_breaking_change(change: str, expected: str) -> None:
    found = contract_gate.breaking_changes(_document(), _changed(change), ROOT)
    assert any(line.startswith(expected) for line in found), found


@needs_node_tools
def test_gate_passes_additions_and_an_unchanged_document() -> None:
    assert contract_gate.breaking_changes(_document(), _document(), ROOT) == []
    added = _changed("added response field and optional request field")
    assert contract_gate.breaking_changes(_document(), added, ROOT) == []


@needs_node_tools
def test_gate_treats_a_webhook_body_as_what_receivers_read() -> None:
    document = _changed("removed response field")
    # Only the webhook keeps reading Item: the API's answers get their own schema.
    kept = copy.deepcopy(_document()["components"]["schemas"]["Item"])
    document["components"]["schemas"]["ItemOut"] = kept
    for path in document["paths"].values():
        for operation in path.values():
            for answer in operation["responses"].values():
                answer["content"]["application/json"]["schema"]["$ref"] = (
                    "#/components/schemas/ItemOut"
                )
    webhook = document["webhooks"]["item.completed"]["post"]
    webhook["requestBody"] = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}
    }
    found = contract_gate.breaking_changes(_document(), document, ROOT)
    assert found == [
        "response.body.scope.add at paths./webhooks/item.completed.get.responses.200"
        ".content.application/json.schema"
    ], found


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        [contract_gate.GIT, "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose last commit removes a path from openapi.json."""
    repo = tmp_path / "repo"
    repo.mkdir()
    tools = repo / contract_gate.TOOLS
    tools.parent.parent.mkdir(parents=True)
    # The gate runs the checkout's pinned tools: these are this checkout's.
    (tools.parent).symlink_to(ROOT / contract_gate.TOOLS.parent, target_is_directory=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "openapi.json").write_text(json.dumps(_document()), encoding="utf-8")
    (repo / "CHANGELOG.md").write_text("# Changelog\n", encoding="utf-8")
    _git(repo, "add", "openapi.json", "CHANGELOG.md")
    _git(repo, "commit", "-q", "-m", "first")
    (repo / "openapi.json").write_text(json.dumps(_changed("removed path")), encoding="utf-8")
    return repo


@needs_node_tools
def test_gate_fails_an_unannounced_break(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _git(repo, "commit", "-q", "-am", "Drop the item lookup")
    assert contract_gate.check_breaking(repo) is False
    err = capsys.readouterr().err
    assert "path.remove at paths./items/{id}" in err and "BREAKING CHANGE" in err


@needs_node_tools
def test_gate_lets_a_break_announced_in_the_commit_message_through(repo: Path) -> None:
    _git(repo, "commit", "-q", "-am", "Drop the item lookup\n\nBREAKING CHANGE: GET /items/{id}")
    assert contract_gate.announcement(repo) == "commit message: BREAKING CHANGE: GET /items/{id}"
    assert contract_gate.check_breaking(repo) is True


@needs_node_tools
def test_gate_lets_a_break_announced_in_the_changelog_through(repo: Path) -> None:
    changelog = repo / "CHANGELOG.md"
    changelog.write_text("# Changelog\n- BREAKING: GET /items/{id} is gone\n", encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "Drop the item lookup")
    assert contract_gate.check_breaking(repo) is True


def test_gate_without_a_previous_document_has_nothing_to_compare(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    shutil.copy(ROOT / contract.DOCUMENT, tmp_path / "openapi.json")
    _git(tmp_path, "add", "openapi.json")
    _git(tmp_path, "commit", "-q", "-m", "first")
    assert contract_gate.previous_document(tmp_path) is None
    assert contract_gate.check_breaking(tmp_path) is True


@needs_node_tools
def test_web_modules_fail_the_type_check_when_a_field_they_read_is_renamed(
    tmp_path: Path,
) -> None:
    """The page's `// @ts-check` and JSDoc imports bind it to the generated types."""
    web = ROOT / "app" / "web" / "static" / "js"
    shutil.copytree(web, tmp_path / "app" / "web" / "static" / "js")
    shutil.copy(ROOT / "app" / "web" / "api-types.d.ts", tmp_path / "app" / "web")
    ts = tmp_path / "clients" / "typescript"
    (ts / "src").mkdir(parents=True)
    shutil.copy(ROOT / contract.TS_DIR / "tsconfig.web.json", ts)
    (ts / "node_modules").symlink_to(ROOT / contract.TS_DIR / "node_modules")
    schema = (ROOT / contract.TS_SCHEMA).read_text(encoding="utf-8")
    start = schema.index("        PaymentOut: {")
    end = schema.index("\n        };", start)
    renamed = schema[start:end].replace("payment_url: string", "checkout_url: string")
    assert renamed != schema[start:end]
    (ts / "src" / "schema.d.ts").write_text(schema[:start] + renamed + schema[end:])

    result = subprocess.run(
        [str(ts / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "tsconfig.web.json"],
        cwd=ts,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "store.js" in result.stdout and "'payment_url' does not exist" in result.stdout, (
        result.stdout
    )
