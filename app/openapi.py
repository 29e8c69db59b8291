"""`GET /openapi.json`, generated from the same pydantic models that validate requests."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel

from app.api import EndpointSpec

bp = Blueprint("openapi", __name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": True,
        }
    },
}


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for rule in current_app.url_map.iter_rules():
        view = current_app.view_functions.get(rule.endpoint)
        spec: EndpointSpec | None = getattr(view, "api_spec", None)
        if spec is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(spec, rule, components)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Billing service API", "version": "1.0.0"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _operation(spec: EndpointSpec, rule, components: dict[str, Any]) -> dict[str, Any]:
    error_ref = {"$ref": "#/components/schemas/Error"}
    op: dict[str, Any] = {"summary": spec.summary, "tags": list(spec.tags), "responses": {}}
    params = [
        {"name": arg, "in": "path", "required": True, "schema": {"type": "string"}}
        for arg in sorted(rule.arguments)
    ]
    if spec.query is not None:
        params += _query_params(spec.query)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(spec.body, components)}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(spec.response, components)}}
    op["responses"][str(spec.status)] = ok
    errors = {400: "Invalid request", **spec.errors}
    if spec.auth:
        op["security"] = [{"bearer": []}]
        errors.setdefault(401, "Missing, invalid or expired token")
    for status, description in sorted(errors.items()):
        op["responses"][str(status)] = {
            "description": description,
            "content": {"application/json": {"schema": error_ref}},
        }
    return op


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_document())
