"""The web client (plain HTML, CSS and JavaScript modules; no build step), the QR
code of a payment link, and the development sign-in.

The page is static apart from a few settings in data attributes; everything it
shows comes from the JSON API, called by the ES modules under ``static/js/``
(entry point ``main.js``) with a Bearer token kept in the browser's localStorage.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.wrappers import Response as BaseResponse

from app.api import endpoint
from app.auth.roles import OPERATOR
from app.auth.tokens import issue_token
from app.errors import ApiError

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/web-static",
)

# Only registered when BILLING_DEV_ENDPOINTS is on (see app._register_blueprints).
dev_bp = Blueprint("web_dev", __name__, url_prefix="/api/dev")

DEMO_USER_ID = "demo-user"

# Same-origin only: the page's script is a file of ours, the API is this app, and
# the Kaspi link opens in another tab (navigation is not restricted by CSP). The
# status stream may be served from another origin (PUSH_PUBLIC_URL): that one too.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'{stream}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def stream_origin(url: str) -> str:
    """The origin of an absolute PUSH_PUBLIC_URL, for the CSP ("" for a path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


@bp.get("/")
def index() -> Response:
    stream_url = str(current_app.config["PUSH_PUBLIC_URL"])
    return _page(
        render_template(
            "web/index.html",
            dev_login=bool(current_app.config["BILLING_DEV_ENDPOINTS"]),
            stream_url=stream_url,
        ),
        stream_origin(stream_url),
    )


@bp.get("/ops")
def operator_console() -> Response:
    """The operator console: the review queue, a transaction's story, resolve and
    refund (``/api/ops/...``, which checks the operator role on every call)."""
    return _page(
        render_template(
            "web/ops.html", dev_login=bool(current_app.config["BILLING_DEV_ENDPOINTS"])
        ),
        "",
    )


def _page(html: str, stream: str) -> Response:
    """A page of ours with its headers: same-origin scripts only, never cached."""
    response = make_response(html)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        stream=f" {stream}" if stream else ""
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# A payment link is short; the cap keeps the endpoint from drawing arbitrary text.
MAX_QR_TEXT = 512


@bp.get("/web/qr.svg")
def payment_qr() -> Response:
    """The QR code of a payment link, as SVG, for desktop buyers to scan with the Kaspi app.

    Drawn here (segno, no JavaScript library, nothing fetched from elsewhere).
    Only http(s) links are drawn: this is not a general QR service.
    """
    text = request.args.get("text", "")
    parts = urlsplit(text)
    if (
        not text
        or len(text) > MAX_QR_TEXT
        or parts.scheme not in ("http", "https")
        or not parts.netloc
    ):
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            f"text must be an http(s) link of at most {MAX_QR_TEXT} characters",
            details=[{"field": "text", "message": "must be an http(s) link", "type": "url"}],
        )
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/app")
def app_alias() -> BaseResponse:
    return redirect("/", 302)


class DevTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(default=DEMO_USER_ID, pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    # A token of the operator console (the billing_operator role).
    operator: bool = False


class DevTokenOut(BaseModel):
    token: str
    user_id: str
    expires_in: int
    roles: list[str]


@dev_bp.post("/token")
@endpoint(
    summary="Development only: a Bearer token for a user (the demo user by default), "
    "or for an operator of the console",
    tags=("dev",),
    body=DevTokenIn,
    response=DevTokenOut,
    auth=False,
)
def dev_token(body: DevTokenIn) -> DevTokenOut:
    ttl = int(current_app.config["AUTH_TOKEN_TTL_S"])
    name = "Demo user" if body.user_id == DEMO_USER_ID else None
    roles = (OPERATOR,) if body.operator else ()
    token = issue_token(
        current_app.config["AUTH_JWT_SECRET"], body.user_id, ttl, name=name, roles=roles
    )
    return DevTokenOut(token=token, user_id=body.user_id, expires_in=ttl, roles=list(roles))
