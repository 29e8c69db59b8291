"""The error envelope, authentication and the public catalog, over the Flask test client."""

import time

import pytest

from app.auth.models import User
from tests.conftest import auth, token_for
from tests.support.envelope import error_of as assert_envelope

pytestmark = pytest.mark.db


def test_catalog_lists_products_plans_and_policy_with_money_as_strings(client):
    body = client.get("/api/billing/products").get_json()
    products = {p["code"]: p for p in body["products"]}
    assert products["EVENT_UPGRADE_500"]["price"] == {"amount": "1000.00", "currency": "KZT"}
    assert products["EVENT_UPGRADE_500"]["constraints"]["max_participants"] == 500
    assert products["CLUB_500"]["plan_id"] == "club_500"
    plans = {p["id"]: p for p in body["plans"]}
    assert plans["free"]["max_event_participants"] == 15
    assert plans["club_unlimited"]["max_members"] is None
    assert plans["club_50"]["price"]["amount"] == "5000.00"
    assert body["policy"] == {"pending_ttl_minutes": 60, "grace_days": 7}


def test_catalog_follows_the_database(client, db_session):
    from app.catalog.models import Product

    db_session.get(Product, "EVENT_UPGRADE_500").price = 1234.5
    db_session.commit()
    body = client.get("/api/billing/products").get_json()
    price = next(p["price"] for p in body["products"] if p["code"] == "EVENT_UPGRADE_500")
    assert price == {"amount": "1234.50", "currency": "KZT"}


def test_unknown_route_is_enveloped_404(client):
    assert_envelope(client.get("/api/nope"), 404, "NOT_FOUND")


def test_wrong_method_is_enveloped_405(client):
    assert_envelope(client.delete("/api/billing/products"), 405, "METHOD_NOT_ALLOWED")


def test_oversized_body_is_enveloped_413(client):
    body = b'{"product_code": "' + b"x" * 100_000 + b'"}'
    response = client.post(
        "/api/billing/purchase-intent",
        data=body,
        headers={**auth("u1"), "Content-Type": "application/json"},
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_malformed_json_is_enveloped_400(client):
    response = client.post(
        "/api/billing/purchase-intent",
        data=b"{not json",
        headers={**auth("u1"), "Content-Type": "application/json"},
    )
    assert_envelope(response, 400, "MALFORMED_JSON")


def test_wrong_content_type_is_enveloped_415(client):
    response = client.post(
        "/api/billing/purchase-intent",
        data=b"product_code=X",
        headers={**auth("u1"), "Content-Type": "text/plain"},
    )
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_json_that_is_not_an_object_is_a_validation_error(client):
    response = client.post("/api/billing/purchase-intent", json=[1, 2], headers=auth("u1"))
    err = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert err["details"][0]["field"] == "body"


def test_validation_error_names_each_field(client):
    response = client.post(
        "/api/billing/purchase-intent", json={"quantity": "many", "surprise": 1}, headers=auth("u1")
    )
    err = assert_envelope(response, 400, "VALIDATION_ERROR")
    fields = {d["field"] for d in err["details"]}
    assert {"product_code", "quantity", "surprise"} <= fields


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        f"Bearer {token_for('u1', secret='another-secret-that-is-long-enough-000')}",
        f"Bearer {token_for('u1', ttl=-10)}",
    ],
)
def test_bad_tokens_are_401(client, header):
    headers = {"Authorization": header} if header else {}
    err = assert_envelope(
        client.get("/api/billing/credits", headers=headers), 401, "UNAUTHENTICATED"
    )
    assert err["message"]


def test_token_without_exp_is_refused(client):
    import jwt

    from tests.conftest import JWT_SECRET

    token = jwt.encode({"sub": "u1", "iat": int(time.time())}, JWT_SECRET, algorithm="HS256")
    assert_envelope(
        client.get("/api/billing/credits", headers={"Authorization": f"Bearer {token}"}), 401
    )


def test_users_are_provisioned_on_their_first_write_not_on_reads(client, db_session):
    assert db_session.get(User, "newcomer") is None
    response = client.get("/api/billing/credits", headers=auth("newcomer"))
    assert response.status_code == 200
    assert response.get_json() == {"credits": [], "available": {}}
    assert db_session.get(User, "newcomer") is None
    created = client.post(
        "/api/events", json={"title": "First", "max_participants": 10}, headers=auth("newcomer")
    )
    assert created.status_code == 201, created.get_json()
    assert db_session.get(User, "newcomer") is not None


def test_openapi_documents_every_api_route(client, app):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    documented = set(doc["paths"])
    import re

    expected = {re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule) for rule in api_rules}
    assert expected == documented
    intent = doc["paths"]["/api/billing/purchase-intent"]["post"]
    schema_name = intent["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_name.endswith("PurchaseIntentIn")
    assert "503" in intent["responses"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # Read in one pass by pydantic: the answers match the checked path's.
        (b'{"product_code": "EVENT_UPGRADE_500", "quantity": 1.0}', 400, "VALIDATION_ERROR"),
        (b'{"product_code": "EVENT_UPGRADE_500", "quantity": true}', 400, "VALIDATION_ERROR"),
        (b'{"product_code": "EVENT_UPGRADE_500", "quantity": NaN}', 400, "VALIDATION_ERROR"),
        (b'{"product_code": "EVENT_UPGRADE_500"} trailing', 400, "MALFORMED_JSON"),
        (b'{"product_code": "\xff"}', 400, "MALFORMED_JSON"),
        (b'{"product_code": "EVENT_\x00UPGRADE_500"}', 400, "MALFORMED_JSON"),
        # A backslash sends the body down the checked path.
        (b'{"product_code": "EVENT_UPGRADE_500\\u0000"}', 400, "VALIDATION_ERROR"),
        (b'{"product_code": "\\ud800"}', 400, "VALIDATION_ERROR"),
    ],
)
def test_json_bodies_are_refused_alike_whichever_way_they_are_read(client, body, status, code):
    response = client.post(
        "/api/billing/purchase-intent",
        data=body,
        headers={**auth("u1"), "Content-Type": "application/json"},
    )
    assert_envelope(response, status, code)


def test_a_repeated_key_counts_its_last_value_as_json_loads_does(client):
    response = client.post(
        "/api/billing/purchase-intent",
        data=b'{"product_code": "NOPE", "product_code": "EVENT_UPGRADE_500", "quantity": 2}',
        headers={**auth("u1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["amount"] == "2000.00"
