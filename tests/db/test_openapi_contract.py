"""The API contract: /openapi.json is valid OpenAPI, complete, and /docs renders it locally."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Blueprint
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel

from app.api import ExtraResponse, HeaderParam, endpoint
from app.openapi.document import openapi_path
from tests.conftest import auth

pytestmark = pytest.mark.db

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document(app):
    with app.test_client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(doc, node):
    while "$ref" in node:
        _, _, pointer = node["$ref"].partition("#/")
        node = doc
        for part in pointer.split("/"):
            node = node[part]
    return node


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_api_route_and_method_is_documented(app, document):
    routed = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, method, _ in operations(document)}
    assert routed, "no /api routes at all"
    assert routed == documented
    assert len({op["operationId"] for _, _, op in operations(document)}) == len(documented)


def test_every_operation_has_errors_in_the_one_envelope(document):
    for path, method, op in operations(document):
        label = f"{method.upper()} {path}"
        statuses = {int(code) for code in op["responses"]}
        assert any(400 <= code < 500 for code in statuses), label
        assert any(200 <= code < 300 for code in statuses), label
        for code, response in op["responses"].items():
            if int(code) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (label, code)


def test_secured_operations_declare_bearer_and_401(document):
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    secured = [(p, m, op) for p, m, op in operations(document) if op.get("security")]
    assert secured
    for path, method, op in secured:
        assert op["security"] == [{"bearer": []}]
        assert "401" in op["responses"], f"{method.upper()} {path}"
    public = {(p, m) for p, m, op in operations(document) if not op.get("security")}
    assert ("/api/billing/products", "get") in public


def test_parameters_bodies_and_success_schemas_come_from_the_models(document):
    paths = document["paths"]
    by_id = paths["/api/billing/transactions/{transaction_id}"]["get"]
    assert by_id["parameters"] == [
        {
            "name": "transaction_id",
            "in": "path",
            "required": True,
            # Any text: one that is not a transaction id answers 404 TRANSACTION_NOT_FOUND.
            "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
        }
    ]
    assert "404" in by_id["responses"]
    status = paths["/api/billing/transactions/status"]["get"]
    (query,) = status["parameters"]
    assert query["in"] == "query" and query["required"] is True
    assert query["schema"]["format"] == "uuid"

    intent = paths["/api/billing/purchase-intent"]["post"]
    body = resolve(document, intent["requestBody"]["content"]["application/json"]["schema"])
    assert body["required"] == ["product_code"]
    assert body["additionalProperties"] is False
    assert body["properties"]["quantity"]["maximum"] == 100
    created = resolve(document, intent["responses"]["201"]["content"]["application/json"]["schema"])
    assert {"transaction_id", "status", "amount", "expires_at", "payment"} <= set(
        created["required"]
    )
    # Nullable fields are JSON Schema 2020-12 (OpenAPI 3.1), not 3.0's `nullable`.
    assert {"type": "null"} in created["properties"]["club_id"]["anyOf"]
    assert {"403", "404", "409", "413", "415", "422", "503"} <= set(intent["responses"])

    catalog = paths["/api/billing/products"]["get"]["responses"]["200"]
    assert resolve(document, catalog["content"]["application/json"]["schema"])["properties"]


def test_purchase_intent_documents_its_idempotency_header(document):
    intent = document["paths"]["/api/billing/purchase-intent"]["post"]
    headers = {p["name"]: p for p in intent.get("parameters", []) if p["in"] == "header"}
    assert "Idempotency-Key" in headers, "declare headers=(HeaderParam(...),) on the endpoint"
    key = headers["Idempotency-Key"]
    assert key["required"] is False
    assert key["schema"]["maxLength"] == 255
    assert "Idempotent-Replayed" in intent["responses"]["201"].get("headers", {})


def test_dev_settle_documents_both_answers(document):
    settle = document["paths"]["/api/dev/billing/settle"]["post"]
    assert {"202", "200"} <= set(settle["responses"]), "declare the ?wait=1 answer (200)"
    queued = resolve(document, settle["responses"]["202"]["content"]["application/json"]["schema"])
    settled = resolve(document, settle["responses"]["200"]["content"]["application/json"]["schema"])
    assert "task_id" in queued["properties"]
    assert "settled_at" in settled["properties"]
    wait = next(p for p in settle["parameters"] if p["name"] == "wait")
    assert wait["in"] == "query" and "1" in wait["schema"]["enum"]


def test_the_error_schema_describes_validation_details_and_extra_fields(document, client):
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["required"] == ["error"]
    body = schemas["ErrorBody"]
    assert body["required"] == ["code", "message"]
    assert body["additionalProperties"] is True  # PAYWALL, CREDIT_CONFIRMATION_REQUIRED, ...
    assert body["properties"]["details"]["items"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert set(schemas["ErrorDetail"]["required"]) == {"field", "message", "type"}

    response = client.post("/api/billing/purchase-intent", json={"quantity": 0}, headers=auth("u1"))
    err = response.get_json()["error"]
    assert response.status_code == 400 and err["code"] == "VALIDATION_ERROR"
    assert all(set(schemas["ErrorDetail"]["required"]) <= set(d) for d in err["details"])


def test_dev_endpoints_are_absent_from_the_document_when_switched_off(make_app):
    production_like = make_app(BILLING_DEV_ENDPOINTS=False)
    doc = production_like.test_client().get("/openapi.json").get_json()
    assert not [path for path in doc["paths"] if path.startswith("/api/dev/")]
    validate(doc, cls=OpenAPIV31SpecValidator)


class _In(BaseModel):
    name: str


class _Query(BaseModel):
    mode: str = "x"


class _Out(BaseModel):
    ok: bool


class _Queued(BaseModel):
    task_id: str


def test_endpoint_spec_fields_reach_the_document(make_app):
    """The decorator's documentation-only fields, on an endpoint of this test's own."""
    application = make_app()
    extra = Blueprint("contract_probe", __name__, url_prefix="/api/probe")

    @extra.route("/<int:number>/<name>", methods=["POST", "PUT"])
    @endpoint(
        summary="Probe",
        body=_In,
        query=_Query,
        response=_Queued,
        status=202,
        errors={400: "PROBE_REFUSED", 409: "Busy"},
        headers=(HeaderParam("X-Probe", "A probe header", required=True, max_length=8),),
        extra_responses={200: ExtraResponse("Done at once", _Out)},
        response_headers={"X-Probed": "Set when probed"},
    )
    def probe(number: int, name: str, body: _In, query: _Query):
        """Longer description from the docstring."""
        return {"task_id": "t"}

    application.register_blueprint(extra)
    doc = application.test_client().get("/openapi.json").get_json()
    validate(doc, cls=OpenAPIV31SpecValidator)
    item = doc["paths"]["/api/probe/{number}/{name}"]
    assert set(item) == {"post", "put"}
    op = item["post"]
    assert op["operationId"] == "contract_probe.probe.post"
    assert op["description"] == "Longer description from the docstring."
    params = {(p["in"], p["name"]): p for p in op["parameters"]}
    assert params["path", "number"]["schema"] == {"type": "integer", "minimum": 0}
    assert params["path", "name"]["schema"]["pattern"] == "^[^/]+$"
    assert params["query", "mode"]["required"] is False
    assert params["header", "X-Probe"]["required"] is True
    assert params["header", "X-Probe"]["schema"]["maxLength"] == 8
    assert set(op["responses"]) >= {"200", "202", "400", "401", "404", "409", "413", "415"}
    assert "VALIDATION_ERROR" in op["responses"]["400"]["description"]
    assert "PROBE_REFUSED" in op["responses"]["400"]["description"]
    assert op["responses"]["202"]["headers"]["X-Probed"]["description"] == "Set when probed"
    assert resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"]) == (
        resolve(doc, {"$ref": "#/components/schemas/_Out"})
    )
    assert "_Query" not in doc["components"]["schemas"]  # inlined as parameters


# Inputs that PostgreSQL cannot take, or json cannot parse, once answered 500.


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"product_code": "EVENT\\u0000"}', "VALIDATION_ERROR"),
        (b'{"product_code": "\\ud800"}', "VALIDATION_ERROR"),
        (b'{"product_code": "X", "\\u0000": 1}', "VALIDATION_ERROR"),
        (b"[" * 5000 + b"]" * 5000, "MALFORMED_JSON"),
    ],
)
def test_unstorable_or_too_deep_input_is_a_400(client, raw, code):
    response = client.post(
        "/api/billing/purchase-intent",
        data=raw,
        headers={**auth("u1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code


def test_nul_in_a_query_string_is_a_400(client):
    response = client.get("/api/billing/transactions/status?transaction_id=%00", headers=auth("u1"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "data-spec-url"):
            if attrs.get(name):
                self.urls.append(attrs[name])


def test_docs_page_serves_swagger_ui_from_this_app(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "no CDN or external asset"
    parser = _Assets()
    parser.feed(html)
    assert "/openapi.json" in parser.urls
    assert any(url.endswith("swagger-ui-bundle.js") for url in parser.urls)
    assert any(url.endswith("swagger-ui.css") for url in parser.urls)
    for url in parser.urls:
        # Static files are streamed from an open file: each response is closed after use.
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert asset.get_data(), url
            if url.endswith(".js"):
                assert "javascript" in asset.mimetype, url
            if url.endswith(".css"):
                assert asset.mimetype == "text/css", url
    init = client.get("/docs/init.js").get_data(as_text=True)
    assert "SwaggerUIBundle(" in init and "swagger-ui" in init
