"""The OpenAPI 3.1 document, generated from the ``endpoint`` specs.

The document is generated from the same pydantic models and ``endpoint`` specs
that validate requests (app/api.py), so it cannot drift from the code: a route
declared with ``@endpoint`` appears here with its parameters, body, success
schemas and error statuses. It is OpenAPI 3.1, whose schema dialect is the JSON
Schema 2020-12 that pydantic emits (nullable fields are ``anyOf [..., null]``).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from app.api import EndpointSpec
from app.openapi.webhooks import TAG as WEBHOOKS_TAG
from app.openapi.webhooks import webhooks_section

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# The envelope of every failure (app/errors.py). Codes with more fields (PAYWALL,
# CREDIT_CONFIRMATION_REQUIRED, ...) add them beside `code` and `message`.
ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "title": "Error",
        "description": 'Every failure: `{"error": {"code", "message", ...}}`.',
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
        "additionalProperties": False,
    },
    "ErrorBody": {
        "title": "ErrorBody",
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {
                "type": "string",
                "description": "Stable machine-readable code, e.g. VALIDATION_ERROR, "
                "UNAUTHENTICATED, NOT_FOUND, PAYWALL.",
            },
            "message": {"type": "string", "description": "Human-readable explanation."},
            "request_id": {
                "type": "string",
                "description": "The request's id (the X-Request-ID header), for support.",
            },
            "details": {
                "type": "array",
                "description": "VALIDATION_ERROR only: one entry per invalid field.",
                "items": {"$ref": "#/components/schemas/ErrorDetail"},
            },
        },
        # Codes such as PAYWALL (402) and CREDIT_CONFIRMATION_REQUIRED (409) carry more.
        "additionalProperties": True,
    },
    "ErrorDetail": {
        "title": "ErrorDetail",
        "type": "object",
        "required": ["field", "message", "type"],
        "properties": {
            "field": {"type": "string", "description": "Dotted location, e.g. `quantity`."},
            "message": {"type": "string"},
            "type": {"type": "string", "description": "pydantic's error type."},
        },
    },
}

# Werkzeug converters -> parameter schemas.
_RULE_ARG = re.compile(
    r"<(?:(?P<conv>[A-Za-z_]\w*)(?:\((?P<args>[^)]*)\))?:)?(?P<name>[A-Za-z_]\w*)>"
)
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
    "string": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
    "path": {"type": "string", "minLength": 1},
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
}


def openapi_path(rule: str) -> str:
    """``/api/x/<uuid:item_id>`` -> ``/api/x/{item_id}``."""
    return _RULE_ARG.sub(lambda m: "{" + m.group("name") + "}", rule)


def _path_params(rule: Rule) -> list[dict[str, Any]]:
    params = []
    for match in _RULE_ARG.finditer(rule.rule):
        converter = match.group("conv") or "default"
        schema = dict(_CONVERTER_SCHEMAS.get(converter, _CONVERTER_SCHEMAS["default"]))
        if converter == "any" and match.group("args"):
            values = [v.strip().strip("'\"") for v in match.group("args").split(",")]
            schema = {"type": "string", "enum": [v for v in values if v]}
        params.append(
            {"name": match.group("name"), "in": "path", "required": True, "schema": schema}
        )
    return params


class _Schemas:
    """Collects every model first, then renders them in one pass.

    One pass lets pydantic name a model used both as input and output consistently
    (``Model-Input`` / ``Model-Output`` only where the two schemas differ).
    """

    def __init__(self) -> None:
        self.wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
        # Keyed by model class (pydantic's own key type also admits pydantic dataclasses).
        self.refs: dict[tuple[type[Any], JsonSchemaMode], dict[str, Any]] = {}
        self.components: dict[str, Any] = {}

    def want(self, model: type[BaseModel] | None, mode: JsonSchemaMode) -> None:
        if model is not None and (model, mode) not in self.wanted:
            self.wanted.append((model, mode))

    def render(self) -> None:
        if not self.wanted:
            return
        self.refs, defs = models_json_schema(self.wanted, ref_template=REF)
        self.components = defs.get("$defs", {})

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return self.refs[(model, mode)]

    def resolve(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        ref = self.ref(model, mode)
        if "$ref" not in ref:
            return ref
        resolved: dict[str, Any] = self.components[ref["$ref"].rsplit("/", 1)[1]]
        return resolved


def _documented_routes() -> list[tuple[Rule, str, EndpointSpec, Any]]:
    found = []
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        spec: EndpointSpec | None = getattr(view, "api_spec", None)
        if spec is None:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, spec, view))
    return found


def build_document() -> dict[str, Any]:
    routes = _documented_routes()
    schemas = _Schemas()
    for _, _, spec, _ in routes:
        schemas.want(spec.body, "validation")
        schemas.want(spec.query, "validation")
        schemas.want(spec.response, "serialization")
        for extra in spec.extra_responses.values():
            schemas.want(extra.model, "serialization")
    schemas.render()

    paths: dict[str, Any] = {}
    tags: set[str] = set()
    for rule, method, spec, view in routes:
        op = _operation(spec, rule, method, view, schemas)
        paths.setdefault(openapi_path(rule.rule), {})[method.lower()] = op
        tags.update(spec.tags)

    # Query models are inlined as parameters; drop their now unreferenced components.
    components = dict(schemas.components)
    inlined = {spec.query for _, _, spec, _ in routes if spec.query is not None}
    referenced = _referenced_names(paths, components)
    for model in inlined:
        ref = schemas.ref(model, "validation").get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if name and name not in referenced:
            components.pop(name, None)

    webhooks, webhook_schemas = webhooks_section()
    clashes = set(webhook_schemas) & (set(components) | set(ERROR_SCHEMAS))
    if clashes:
        raise RuntimeError(f"webhook schemas named like API schemas: {sorted(clashes)}")

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Billing service API",
            "version": "1.0.0",
            "description": (
                "Kaspi purchase intents, transaction status, credits, and paid publishing "
                "of events and clubs. Authenticate with `Authorization: Bearer <JWT>`. "
                'Every error has the shape `{"error": {"code": "...", "message": "..."}}`. '
                "The service also POSTs signed webhooks (Standard Webhooks v1) to the "
                "platform's registered endpoints: see `webhooks` and docs/WEBHOOKS.md."
            ),
        },
        "tags": [{"name": name} for name in sorted(tags | {WEBHOOKS_TAG})],
        "paths": dict(sorted(paths.items())),
        "webhooks": webhooks,
        "components": {
            "schemas": {
                **dict(sorted(components.items())),
                **dict(sorted(webhook_schemas.items())),
                **ERROR_SCHEMAS,
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _referenced_names(*parts: Any) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                names.add(ref.rsplit("/", 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for part in parts:
        walk(part)
    return names


def _query_params(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = schemas.resolve(model, "validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _event_stream(event_data: dict[str, Any]) -> dict[str, Any]:
    """A Server-Sent Events body. Before OpenAPI 3.2's ``itemSchema``, ``schema`` of an
    event stream describes each event: ``event``, ``id``, ``data`` (and ``retry``)."""
    return {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "description": "One event. `event: status` carries the JSON of "
                "`data` (its `contentSchema`); `id` grows with every change. Lines "
                "starting with `:` are heartbeats; a `retry:` line precedes a close at "
                "the maximum stream duration.",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "const": "status"},
                    "id": {"type": "string", "pattern": "^[0-9]+$"},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": event_data,
                    },
                    "retry": {"type": "integer", "minimum": 0},
                },
            },
            "example": 'id: 42\nevent: status\ndata: {"transaction_id": "...", '
            '"status": "pending", ...}\n\n',
        }
    }


# Examples of the envelope for the statuses every endpoint shares.
_ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "code": "VALIDATION_ERROR",
        "message": "Invalid request",
        "details": [
            {
                "field": "quantity",
                "message": "Input should be greater than or equal to 1",
                "type": "greater_than_equal",
            }
        ],
    },
    401: {"code": "UNAUTHENTICATED", "message": "A Bearer token is required"},
    413: {"code": "PAYLOAD_TOO_LARGE", "message": "Request Entity Too Large"},
    415: {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Request body must be JSON (application/json)",
    },
    500: {"code": "INTERNAL_ERROR", "message": "Internal server error"},
}


def _error(status: int, description: str, **extra: Any) -> dict[str, Any]:
    content = _json(ERROR_REF)
    if status in _ERROR_EXAMPLES:
        content["application/json"]["example"] = {"error": _ERROR_EXAMPLES[status]}
    return {"description": description, "content": content, **extra}


def _operation(
    spec: EndpointSpec, rule: Rule, method: str, view: Any, schemas: _Schemas
) -> dict[str, Any]:
    methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
    op: dict[str, Any] = {
        # The Flask endpoint name is unique; a rule serving several methods adds the method.
        "operationId": rule.endpoint if len(methods) == 1 else f"{rule.endpoint}.{method.lower()}",
        "summary": spec.summary,
        "tags": list(spec.tags),
    }
    description = inspect.getdoc(view)
    if description:
        op["description"] = description
    params = _parameters(spec, rule, schemas)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        body_schema = schemas.resolve(spec.body, "validation")
        op["requestBody"] = {
            # An empty body is read as {}: it is only "required" when some field is.
            "required": bool(body_schema.get("required")),
            "content": _json(schemas.ref(spec.body, "validation")),
        }
    if spec.auth:
        op["security"] = [{"bearer": []}]
    responses = _success_responses(spec, schemas)
    for status, description in _error_texts(spec, params).items():
        error_extra: dict[str, Any] = {}
        if status == 401:
            error_extra["headers"] = {
                "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}
            }
        responses[str(status)] = _error(status, description, **error_extra)
    op["responses"] = dict(sorted(responses.items()))
    return op


def _parameters(spec: EndpointSpec, rule: Rule, schemas: _Schemas) -> list[dict[str, Any]]:
    params = _path_params(rule)
    if spec.query is not None:
        params += _query_params(spec.query, schemas)
    for header in spec.headers:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if header.max_length is not None:
            schema["maxLength"] = header.max_length
        params.append(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "description": header.description,
                "schema": schema,
            }
        )
    return params


def _success_responses(spec: EndpointSpec, schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": "Success"}
    if spec.response is not None and spec.media_type == "text/event-stream":
        ok["content"] = _event_stream(schemas.ref(spec.response, "serialization"))
    elif spec.response is not None:
        ok["content"] = _json(schemas.ref(spec.response, "serialization"))
    if spec.response_headers:
        ok["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in spec.response_headers.items()
        }
    responses[str(spec.status)] = ok
    for status, extra in spec.extra_responses.items():
        answer: dict[str, Any] = {"description": extra.description}
        if extra.model is not None:
            answer["content"] = _json(schemas.ref(extra.model, "serialization"))
        responses[str(status)] = answer
    return responses


def _error_texts(spec: EndpointSpec, params: list[dict[str, Any]]) -> dict[int, str]:
    """Every error status the operation may answer, with what it means."""
    errors: dict[int, str] = {}
    if spec.body is not None or spec.query is not None or params:
        errors[400] = "Invalid request: VALIDATION_ERROR with per-field `details`"
        if spec.body is not None:
            errors[400] += ", or MALFORMED_JSON"
    else:
        errors[400] = "Bad request"
    if any(p["in"] == "path" for p in params):
        errors[404] = "Not found"
    if spec.body is not None:
        errors[413] = "PAYLOAD_TOO_LARGE: the body exceeds the size limit"
        errors[415] = "UNSUPPORTED_MEDIA_TYPE: a non-empty body must be application/json"
    for status, description in spec.errors.items():
        # The endpoint's own 400 codes (e.g. PRODUCT_INACTIVE) add to the validation ones.
        joined = status == 400 and 400 in errors and description not in errors[400]
        errors[status] = f"{errors[status]}; {description}" if joined else description
    if spec.auth:
        errors.setdefault(401, "UNAUTHENTICATED: missing, invalid or expired Bearer token")
    errors.setdefault(500, "INTERNAL_ERROR: unexpected failure (no internals are exposed)")
    return errors
