"""`GET /openapi.json` and the `/docs` reference page.

``/docs`` is Swagger UI from the ``swagger-ui-bundle-v2`` package's files, served
by this app (no CDN), with a strict Content-Security-Policy.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, make_response, url_for
from swagger_ui_bundle import swagger_ui_path

from app.openapi.document import build_document

bp = Blueprint(
    "openapi",
    __name__,
    static_folder=str(swagger_ui_path),
    static_url_path="/docs/assets",
)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(build_document())


# Swagger UI needs inline styles and data: images; its scripts are files of ours.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Billing service API reference</title>
  <link rel="stylesheet" href="{css}">
  <link rel="icon" type="image/png" href="{icon}">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec}"></div>
  <script src="{bundle}"></script>
  <script src="{init}"></script>
</body>
</html>
"""

DOCS_INIT = """(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null
  });
})();
"""


def _secure(response: Response, cache: str) -> Response:
    response.headers["Content-Security-Policy"] = DOCS_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = cache
    return response


@bp.get("/docs")
def docs_page() -> Response:
    html = DOCS_PAGE.format(
        css=url_for("openapi.static", filename="swagger-ui.css"),
        icon=url_for("openapi.static", filename="favicon-32x32.png"),
        bundle=url_for("openapi.static", filename="swagger-ui-bundle.js"),
        init=url_for("openapi.docs_init"),
        spec=url_for("openapi.openapi_document"),
    )
    response = make_response(html)
    response.mimetype = "text/html"
    return _secure(response, "no-cache")


@bp.get("/docs/init.js")
def docs_init() -> Response:
    response = make_response(DOCS_INIT)
    response.mimetype = "text/javascript"
    return _secure(response, "no-cache")
