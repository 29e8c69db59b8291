"""Registering endpoints and managing their secrets (the CLI's services; the CLI commits)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.webhooks import locks
from app.webhooks.catalogue import EVENT_TYPES
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.webhooks.sender import UrlRefused, check_url
from app.webhooks.signing import new_secret


class EndpointRefused(ValueError):
    """A request about endpoints that cannot be carried out (a clear message, nothing changed)."""


@dataclass(frozen=True)
class EndpointView:
    id: str
    url: str
    events: list[str] | None
    enabled: bool
    disabled_reason: str | None
    failing_since: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_events(text: str | None) -> list[str] | None:
    """``TYPE,TYPE``; empty or absent: every type."""
    if not text:
        return None
    wanted = sorted({part.strip() for part in text.split(",") if part.strip()})
    unknown = [name for name in wanted if name not in EVENT_TYPES]
    if unknown:
        known = ", ".join(sorted(EVENT_TYPES))
        raise EndpointRefused(f"unknown event type(s): {', '.join(unknown)} (known: {known})")
    return wanted or None


def add(url: str, events: list[str] | None) -> WebhookEndpoint:
    try:
        check_url(url, allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE_URLS"])
    except UrlRefused as exc:
        raise EndpointRefused(str(exc)) from exc
    endpoint = WebhookEndpoint(
        id=f"ep_{uuid.uuid4().hex}", url=url, event_types=events, secret=new_secret()
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def _locked(endpoint_id: str) -> WebhookEndpoint:
    endpoint = locks.lock_endpoint(endpoint_id)
    if endpoint is None:
        raise EndpointRefused(f"no webhook endpoint {endpoint_id}")
    return endpoint


def disable(endpoint_id: str, now: datetime) -> WebhookEndpoint:
    endpoint = _locked(endpoint_id)
    if endpoint.disabled_at is None:
        endpoint.disabled_at = now
        endpoint.disabled_reason = "disabled by an operator"
    return endpoint


def enable(endpoint_id: str, now: datetime) -> WebhookEndpoint:
    """Deliveries resume where they stopped, in order, at once (a retry hours away is
    brought forward); its failure clock starts again."""
    endpoint = _locked(endpoint_id)
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    endpoint.failing_since = None
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )
    return endpoint


def rotate(endpoint_id: str, now: datetime) -> WebhookEndpoint:
    """A new secret; the old one signs too for ``WEBHOOK_ROTATION_OVERLAP_S``."""
    endpoint = _locked(endpoint_id)
    overlap = timedelta(seconds=current_app.config["WEBHOOK_ROTATION_OVERLAP_S"])
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + overlap
    endpoint.secret = new_secret()
    return endpoint


def get(endpoint_id: str) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointRefused(f"no webhook endpoint {endpoint_id}")
    return endpoint


def listing() -> list[EndpointView]:
    rows = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at))
    return [view(endpoint) for endpoint in rows]


def view(endpoint: WebhookEndpoint) -> EndpointView:
    failing = endpoint.failing_since.isoformat() if endpoint.failing_since else None
    return EndpointView(
        endpoint.id,
        endpoint.url,
        endpoint.event_types,
        endpoint.disabled_at is None,
        endpoint.disabled_reason,
        failing,
    )


def recent_attempts(endpoint_id: str, limit: int) -> list[WebhookAttempt]:
    get(endpoint_id)
    return list(
        db.session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint_id)
            .order_by(WebhookAttempt.id.desc())
            .limit(limit)
        )
    )
