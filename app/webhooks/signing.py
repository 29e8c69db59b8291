"""Standard Webhooks v1 signatures: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 (the standard's prefix, not a secret)
SECRET_BYTES = 32  # the standard allows 24 to 64


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """The three headers of one attempt; one signature per live secret, space-separated."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
    }


def live_secrets(
    secret: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> list[str]:
    """The endpoint's secret, and the one ``rotate`` replaced while its overlap lasts."""
    if previous and previous_until is not None and now < previous_until:
        return [secret, previous]
    return [secret]
