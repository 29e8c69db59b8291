"""The one assertion every error answer must pass."""

from __future__ import annotations

from typing import Any


def error_of(response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is the error envelope with this status (and code); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]
