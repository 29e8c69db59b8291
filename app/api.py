"""Endpoint declaration: request validation, auth, the commit, and OpenAPI metadata.

Handlers stay thin: they receive validated pydantic models and the current
user, call a service, and return a dict. This decorator is the request's edge:
its work runs in ``app.db.edge`` — one step that commits on success and rolls back
on any error, or, for a multi-step handler (one that calls the payment provider),
the service's own visible steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Response, g, jsonify, request
from pydantic import BaseModel, ValidationError

from app.db import edge, step
from app.errors import ApiError, validation_error
from app.read_retry import once_more_on_lost_connection
from app.request_locals import current_request, flask_app, request_globals


@dataclass(frozen=True)
class HeaderParam:
    """A request header the handler reads; documented as an OpenAPI header parameter."""

    name: str
    description: str
    required: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class ExtraResponse:
    """Another success answer besides ``status`` (e.g. 200 next to 202), for the document."""

    description: str
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class EndpointSpec:
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: dict[int, str] = field(default_factory=dict)
    # Documentation only: the handler reads these headers and may answer these statuses.
    headers: tuple[HeaderParam, ...] = ()
    extra_responses: dict[int, ExtraResponse] = field(default_factory=dict)
    # Headers the success response may carry: name -> description.
    response_headers: dict[str, str] = field(default_factory=dict)
    # The handler calls the provider between database steps of its own.
    multi_step: bool = False
    # The handler only reads: no user row is read or written (the token's subject
    # is the owner filter) and no write transaction is opened.
    read_only: bool = False
    # Create the caller's user row on first sight. Read-only handlers never do;
    # a multi-step handler that writes may do it in its own first step instead.
    provision: bool = True
    # The success body's media type; for a stream (text/event-stream) ``response``
    # documents the JSON each event carries.
    media_type: str = "application/json"
    # A role the caller's token must grant (``app.auth.roles``); checked right after
    # authentication, before the body is read: anyone else gets 403 FORBIDDEN.
    role: str | None = None


def pydantic_details(err: ValidationError) -> list[dict[str, Any]]:
    details = []
    for item in err.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": loc, "message": item["msg"], "type": item["type"]})
    return details


def _parse_json_body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True)
    if raw.strip():
        if not request.is_json:
            raise ApiError(
                415, "UNSUPPORTED_MEDIA_TYPE", "Request body must be JSON (application/json)"
            )
        # Without a backslash or a NUL byte no string in the body can hold a NUL or a
        # lone surrogate, so pydantic may parse and validate it in one pass. Any
        # failure there takes the path below, which words every error.
        if b"\\" not in raw and b"\x00" not in raw:
            try:
                return model.model_validate_json(raw)
            except ValidationError:
                pass
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "MALFORMED_JSON", "Request body is not valid JSON") from exc
        except RecursionError as exc:
            raise ApiError(400, "MALFORMED_JSON", "Request body is nested too deeply") from exc
    else:
        data = {}
    if not isinstance(data, dict):
        raise validation_error(
            [{"field": "body", "message": "must be a JSON object", "type": "object_type"}]
        )
    _reject_unstorable_text(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(pydantic_details(exc)) from exc


def _text_problem(value: str) -> str | None:
    """Why PostgreSQL could not store ``value`` (NUL, lone surrogates), or None."""
    if "\x00" in value:
        return "must not contain NUL (\\u0000) characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


def _reject_unstorable_text(data: Any) -> None:
    """400 for any string (key or value) that PostgreSQL text and jsonb cannot hold.

    Without this, such a string reaches a query and fails there as a 500.
    """
    details = []
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        loc, node = stack.pop()
        items: list[tuple[Any, Any]] = []
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                details.append({"field": loc or "body", "message": problem, "type": "string_text"})
            continue
        for key, value in items:
            key_loc = f"{loc}.{key}" if loc else str(key)
            if isinstance(key, str) and (problem := _text_problem(key)):
                details.append({"field": key_loc, "message": problem, "type": "string_text"})
                continue
            stack.append((key_loc, value))
    if details:
        for item in details:
            item["field"] = _printable(item["field"])
        raise validation_error(sorted(details, key=lambda d: d["field"]))


def _printable(text: str) -> str:
    """A field path safe to echo: NUL and lone surrogates as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _parse_query(model: type[BaseModel]) -> BaseModel:
    args = current_request().args
    data = {key: args.get(key) for key in args}
    _reject_unstorable_text(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(pydantic_details(exc)) from exc


def endpoint(
    *,
    summary: str,
    tags: tuple[str, ...] = (),
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = True,
    errors: dict[int, str] | None = None,
    headers: tuple[HeaderParam, ...] = (),
    extra_responses: dict[int, ExtraResponse] | None = None,
    response_headers: dict[str, str] | None = None,
    multi_step: bool = False,
    read_only: bool = False,
    provision: bool | None = None,
    media_type: str = "application/json",
    role: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    if provision is None:
        provision = not read_only
    if read_only and (multi_step or provision):
        raise ValueError("a read-only endpoint neither runs steps nor provisions users")
    spec = EndpointSpec(
        summary,
        tags,
        body,
        query,
        response,
        status,
        auth,
        errors or {},
        tuple(headers),
        extra_responses or {},
        response_headers or {},
        multi_step,
        read_only,
        provision,
        media_type,
        role,
    )

    def decorate(fn: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            return _handle(spec, fn, args, kwargs)

        wrapper.api_spec = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _handle(
    spec: EndpointSpec, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Response:
    """One request through its edge: authenticate, parse, call the handler, serialise.

    A read-only request whose connection died is run once more (app/read_retry.py)."""
    if spec.read_only:
        return once_more_on_lost_connection(lambda: _handle_once(spec, fn, args, dict(kwargs)))
    return _handle_once(spec, fn, args, kwargs)


def _handle_once(
    spec: EndpointSpec, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Response:
    with edge(multi_step=spec.multi_step, read_only=spec.read_only):
        if spec.auth:
            _authenticate_caller(spec)
            if spec.role is not None:
                _require_role(spec.role)
        # Path segments are URL-decoded: `%00` would reach a query as NUL.
        _reject_unstorable_text({k: v for k, v in kwargs.items() if isinstance(v, str)})
        if spec.body is not None:
            kwargs["body"] = _parse_json_body(spec.body)
        if spec.query is not None:
            kwargs["query"] = _parse_query(spec.query)
        # Serialised inside the edge: ORM rows expire at COMMIT.
        return _to_response(fn(*args, **kwargs), spec.status)


def _authenticate_caller(spec: EndpointSpec) -> None:
    # Imported here: auth depends on models, which depend on the app package.
    from app.auth.services import authenticate_request, authenticate_token

    if not spec.provision:
        state = request_globals()
        state.user, state.user_id = None, authenticate_token()
    elif spec.multi_step:
        with step():
            _authenticate(authenticate_request)
    else:
        _authenticate(authenticate_request)


def _require_role(role: str) -> None:
    from app.auth.roles import require_role

    require_role(request_globals().auth_claims, role)


def _authenticate(authenticate_request: Callable[[], Any]) -> None:
    user = authenticate_request()
    g.user, g.user_id = user, user.id


def _to_response(result: Any, default_status: int) -> Response:
    if isinstance(result, Response):
        return result
    status = default_status
    headers: dict[str, str] = {}
    if isinstance(result, tuple):
        if len(result) == 3:
            result, status, headers = result
        else:
            result, status = result
    if isinstance(result, BaseModel):
        # Straight to JSON text: one pass instead of a dict that jsonify walks again.
        response = flask_app().response_class(result.model_dump_json(), mimetype="application/json")
        response.status_code = status
        response.headers.update(headers)
        return response
    response = jsonify(result)
    response.status_code = status
    response.headers.update(headers)
    return response
