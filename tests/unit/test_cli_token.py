import pytest

from app import create_app
from app.auth.tokens import decode_token

pytestmark = pytest.mark.unit


def test_auth_token_command_prints_a_valid_token():
    app = create_app({"PROFILE": "development", "AUTH_JWT_SECRET": "s" * 40})
    result = app.test_cli_runner().invoke(args=["auth", "token", "user-42", "--ttl", "60"])
    assert result.exit_code == 0, result.output
    claims = decode_token("s" * 40, result.output.strip())
    assert claims["sub"] == "user-42" and claims["exp"] - claims["iat"] == 60


def test_auth_token_operator_grants_the_operator_role_and_only_with_the_flag():
    app = create_app({"PROFILE": "development", "AUTH_JWT_SECRET": "s" * 40})
    runner = app.test_cli_runner()
    operator = runner.invoke(args=["auth", "token", "olga", "--operator"])
    buyer = runner.invoke(args=["auth", "token", "bob"])
    assert decode_token("s" * 40, operator.output.strip())["roles"] == ["billing_operator"]
    assert "roles" not in decode_token("s" * 40, buyer.output.strip())
