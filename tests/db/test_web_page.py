"""The web client's page, its static files and the development sign-in, over the test client.

The page's behaviour in a browser is tested in tests/integration/test_web_paywall.py.
"""

import re
from pathlib import Path

import pytest

from app.auth.tokens import decode_token
from tests.conftest import JWT_SECRET

pytestmark = pytest.mark.db

STATIC_JS = Path(__file__).resolve().parents[2] / "app" / "web" / "static" / "js"


def test_page_is_served_with_its_script_and_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/web-static/js/main.js">' in html
    assert "Sign in as demo user" in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert client.get("/app").headers["Location"] == "/"
    # Static files are streamed from an open file: each response is closed after use.
    with client.get("/web-static/js/paywall.js") as script:
        assert script.status_code == 200 and b"Idempotency-Key" in script.data
        assert script.mimetype in ("text/javascript", "application/javascript")
    with client.get("/web-static/app.css") as style:
        assert style.status_code == 200


def test_every_module_is_served_and_small():
    """Plain ES modules, no build step: each a file of a few hundred lines at most."""
    modules = sorted(STATIC_JS.glob("*.js"))
    assert len(modules) >= 8
    sizes = {m.name: len(m.read_text(encoding="utf-8").splitlines()) for m in modules}
    assert max(sizes.values()) <= 300, sizes
    imported = set()
    for module in modules:
        imported |= set(re.findall(r'from "\./([\w-]+\.js)"', module.read_text(encoding="utf-8")))
    # Every module is reachable from an entry point's imports (main.js, the buyer's
    # page; ops.js, the operator console), and every import exists.
    assert imported | {"main.js", "ops.js"} == {m.name for m in modules}


def test_qr_code_of_a_payment_link(client):
    response = client.get("/web/qr.svg", query_string={"text": "http://127.0.0.1:9/pay/123"})
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg") and b"<path" in response.data


@pytest.mark.parametrize(
    "text", ["", "javascript:alert(1)", "not a link", "https://x/" + "a" * 600]
)
def test_qr_code_only_for_short_http_links(client, text):
    response = client.get("/web/qr.svg", query_string={"text": text})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_dev_token_signs_in_the_demo_user(client):
    response = client.post("/api/dev/token", json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user_id"] == "demo-user"
    assert decode_token(JWT_SECRET, body["token"])["sub"] == "demo-user"
    credits = client.get(
        "/api/billing/credits", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert credits.status_code == 200


def test_dev_token_validates_the_user_id(client):
    response = client.post("/api/dev/token", json={"user_id": "not a valid id!"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_without_dev_endpoints_there_is_no_demo_sign_in(make_app):
    app = make_app(BILLING_DEV_ENDPOINTS=False)
    client = app.test_client()
    assert client.post("/api/dev/token", json={}).status_code == 404
    page = client.get("/")
    assert page.status_code == 200
    assert "Sign in as demo user" not in page.get_data(as_text=True)
    assert 'data-dev-login="0"' in page.get_data(as_text=True)


def test_the_operator_console_is_served_with_the_same_policy(client):
    page = client.get("/ops")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/web-static/js/ops.js">' in html
    assert "Sign in as demo operator" in html
    # Its token is kept apart from the buyer's page.
    assert 'data-token-key="billing.ops.token"' in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self';" in policy
    with client.get("/web-static/ops.css") as style:
        assert style.status_code == 200


def test_dev_token_for_an_operator_carries_the_role(client):
    body = client.post("/api/dev/token", json={"user_id": "olga", "operator": True}).get_json()
    assert body["roles"] == ["billing_operator"]
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/ops/summary", headers=headers).status_code == 200
    buyer = client.post("/api/dev/token", json={"user_id": "bob"}).get_json()
    assert buyer["roles"] == [] and "roles" not in decode_token(JWT_SECRET, buyer["token"])
    headers = {"Authorization": f"Bearer {buyer['token']}"}
    assert client.get("/api/ops/summary", headers=headers).status_code == 403
