"""The web client's page, its static files and the development sign-in, over the test client.

The page's behaviour in a browser is tested in tests/integration/test_web_paywall.py.
"""

import pytest

from app.auth.tokens import decode_token
from tests.conftest import JWT_SECRET

pytestmark = pytest.mark.db


def test_page_is_served_with_its_script_and_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'src="/web-static/app.js"' in html
    assert "Sign in as demo user" in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert client.get("/app").headers["Location"] == "/"
    # Static files are streamed from an open file: each response is closed after use.
    with client.get("/web-static/app.js") as script:
        assert script.status_code == 200 and b"Idempotency-Key" in script.data
    with client.get("/web-static/app.css") as style:
        assert style.status_code == 200


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
