"""A validly signed token is still client input: claims PostgreSQL cannot store are 401."""

import time

import jwt
import pytest

from app.auth.models import User
from tests.conftest import JWT_SECRET
from tests.support.envelope import error_of as assert_envelope

pytestmark = pytest.mark.db


def bearer(claims: dict) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({"iat": now, "exp": now + 600, **claims}, JWT_SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "user\x00nul"},
        {"sub": "u" * 201},
        {"sub": "u" * 129},
        {"sub": "lone-\ud800-surrogate"},
        {"sub": "ok-user", "email": "a\x00@example.com"},
        {"sub": "ok-user", "email": "a" * 190 + "@example.com"},
        {"sub": "ok-user", "name": "x" * 201},
        {"sub": "ok-user", "name": "nul\x00name"},
    ],
)
def test_signed_token_with_unstorable_claims_is_401_and_provisions_nobody(
    client, db_session, claims
):
    response = client.get("/api/billing/credits", headers=bearer(claims))

    assert_envelope(response, 401, "UNAUTHENTICATED")
    assert db_session.get(User, "ok-user") is None


def test_claims_at_the_limits_are_accepted(client, db_session):
    claims = {"sub": "s" * 128, "email": "e" * 188 + "@example.com", "name": "n" * 200}

    # Reads provision nobody; the first write stores the claims.
    assert client.get("/api/billing/credits", headers=bearer(claims)).status_code == 200
    response = client.post(
        "/api/events",
        json={"title": "At the limits", "max_participants": 10},
        headers=bearer(claims),
    )

    assert response.status_code == 201, response.get_json()
    user = db_session.get(User, "s" * 128)
    assert user.email == claims["email"] and user.name == claims["name"]
