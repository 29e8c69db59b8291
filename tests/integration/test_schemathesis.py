"""Schemathesis against the running API (gunicorn): no 5xx, and every answer fits the document.

The schema is read from the server's own ``/openapi.json``, so every operation
declared with ``@endpoint`` (billing, catalog, events, clubs, dev) is exercised
as soon as it exists. Each operation gets schemathesis' deterministic coverage
cases plus a bounded number of generated ones (valid and invalid inputs) from a
fixed seed, once with a valid Bearer token and once without one.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import (  # resolved by name from schemathesis' check registry
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth.roles import OPERATOR
from app.auth.tokens import issue_token
from tests.conftest import JWT_SECRET

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
USER_ID = "schemathesis-user"
# The user is an operator too, so the operator console's API (/api/ops/...) is exercised
# past its role check; a buyer's 403 there is tested in tests/db/test_ops_api.py.
HEADERS = {"Authorization": f"Bearer {issue_token(JWT_SECRET, USER_ID, 3600, roles=(OPERATOR,))}"}
# Codes of the seeded catalog, so that some purchase intents get past "product not found".
PRODUCT_CODES = ("EVENT_UPGRADE_500", "CLUB_50", "CLUB_500", "CLUB_UNLIMITED")

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260601,
        "generation": {
            "mode": "all",
            "max-examples": 30,
            "deterministic": True,
            "database": "none",
        },
        # Stateful links are not declared; examples, coverage and fuzzing phases run.
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": 10,
    }
)

# (run, "METHOD /path") -> cases sent, and (run, "METHOD /path", status) -> answers.
SENT: Counter[tuple[str, str]] = Counter()
ANSWERS: Counter[tuple[str, str, int]] = Counter()
# Ids the API handed USER_ID, by path parameter name; operations run in path order, so
# POST /api/events (and /clubs, /billing/purchase-intent) fill these before their ids are used.
KNOWN_IDS: defaultdict[str, list[str]] = defaultdict(list)
CREATED_BY = {"/api/events": "event_id", "/api/clubs": "club_id"}


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis' lazy schemas read ``node._nodeid``, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def _real_product_codes_too(context, strategy):
    """Purchase-intent bodies: besides generated ones, real products (the success path)."""
    if context.operation is None or not context.operation.path.endswith("/purchase-intent"):
        return strategy
    real = st.fixed_dictionaries(
        {"product_code": st.sampled_from(PRODUCT_CODES)},
        optional={"quantity": st.integers(min_value=1, max_value=3)},
    )
    return st.one_of(real, strategy)


def _known_ids_too(context, path_parameters):
    """Half of the generated ids (chosen by value, deterministically) become real ones."""
    for name, value in list((path_parameters or {}).items()):
        ids = KNOWN_IDS.get(name)
        if ids and isinstance(value, str):
            pick = zlib.crc32(value.encode("utf-8", "replace"))
            if pick % 2 == 0:
                path_parameters[name] = ids[pick // 2 % len(ids)]
    return path_parameters


def _known_transactions_too(context, body):
    """Dev settle: half of the bodies name a real transaction (settled, refused or queued)."""
    ids = KNOWN_IDS.get("transaction_id")
    if (
        context.operation is not None
        and context.operation.path.endswith("/settle")
        and ids
        and isinstance(body, dict)
        and isinstance(body.get("transaction_id"), str)
    ):
        pick = zlib.crc32(body["transaction_id"].encode("utf-8", "replace"))
        if pick % 2 == 0:
            body = {**body, "transaction_id": ids[pick // 2 % len(ids)]}
    return body


def _remember_ids(case, response) -> None:
    if response.status_code not in (200, 201):
        return
    try:
        body = response.json()
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    if case.method.upper() == "POST" and case.operation.path in CREATED_BY and "id" in body:
        KNOWN_IDS[CREATED_BY[case.operation.path]].append(body["id"])
    if isinstance(body.get("transaction_id"), str):
        KNOWN_IDS["transaction_id"].append(body["transaction_id"])


@pytest.fixture
def api_schema(api_server):
    loaded = schemathesis.openapi.from_url(f"{api_server}/openapi.json", config=CONFIG)
    loaded.hook("before_generate_body")(_real_product_codes_too)
    loaded.hook("map_path_parameters")(_known_ids_too)
    loaded.hook("map_body")(_known_transactions_too)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api_with_a_token(case):
    SENT["token", case.operation.label] += 1
    response = case.call_and_validate(headers=HEADERS, checks=CHECKS)
    ANSWERS["token", case.operation.label, response.status_code] += 1
    _remember_ids(case, response)


@schema.parametrize()
def test_api_without_a_token(case):
    SENT["anonymous", case.operation.label] += 1
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call_and_validate(checks=CHECKS)
    ANSWERS["anonymous", case.operation.label, response.status_code] += 1
    secured = bool(case.operation.definition.raw.get("security"))
    if secured and case.method.upper() == case.operation.method.upper():
        # 401 before anything else; only a path no route matches (e.g. a non-UUID id) is 404.
        unrouted = response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
        assert response.status_code == 401 or unrouted, (case.operation.label, response.text)


def test_every_operation_was_exercised(request, api_server):
    """Runs after the two above (file order): each operation got cases, and real answers."""
    selected = {getattr(item, "originalname", item.name) for item in request.session.items}
    if not {"test_api_with_a_token", "test_api_without_a_token"} <= selected:
        pytest.skip("the schemathesis runs were not both selected")
    doc = requests.get(f"{api_server}/openapi.json", timeout=10).json()
    operations = {f"{m.upper()} {path}" for path, item in doc["paths"].items() for m in item}
    assert len(operations) >= 5
    for run in ("token", "anonymous"):
        unexercised = sorted(op for op in operations if SENT[run, op] == 0)
        assert not unexercised, f"{run}: no case was sent to {unexercised}"

    def answered(run: str, label: str, status: int) -> int:
        return ANSWERS[run, label, status]

    # With a token the API did real work, not only rejections.
    assert answered("token", "GET /api/billing/credits", 200) > 0
    assert answered("token", "POST /api/billing/purchase-intent", 201) > 0
    assert answered("token", "GET /api/ops/summary", 200) > 0
    assert answered("token", "GET /api/ops/transactions/{transaction_id}", 200) > 0
    assert sum(n for (run, _, status), n in ANSWERS.items() if run == "token" and status < 300)
    # Without one, every secured operation said 401 (asserted per case above).
    assert answered("anonymous", "GET /api/billing/credits", 401) > 0
