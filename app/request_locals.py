"""The current app, request and ``g`` as the objects themselves, for per-request code.

``flask.current_app``, ``flask.request`` and ``flask.g`` are context-local proxies:
each attribute read through one first fails an ordinary lookup inside the proxy
(an AttributeError made and caught), then looks the context up again. That is
some 10 k instructions a read, as much as a few lines of a handler; code that
runs on every request resolves a proxy once and reads the plain object.
"""

from __future__ import annotations

from flask import Flask, Request, current_app, g, request
from flask.ctx import _AppCtxGlobals


# Type-check exemptions below: Flask types each proxy as the object it stands for,
# so the proxy's own _get_current_object is unknown to the checker (``g``'s type
# answers any attribute).
def flask_app() -> Flask:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def current_request() -> Request:
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return req


def request_globals() -> _AppCtxGlobals:
    state: _AppCtxGlobals = g._get_current_object()
    return state
