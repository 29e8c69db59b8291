"""`flask --app wsgi billing webhooks ...`: endpoints, secrets, replays, attempts.

Every command prints JSON (one object, or one array) so scripts can read it; a
refused request prints its reason to stderr and exits 2, changing nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click
from flask.cli import AppGroup

from app.db import edge

webhooks_cli = AppGroup("webhooks", help="Webhook endpoints of the platform (Standard Webhooks).")


def _echo(value: Any) -> None:
    click.echo(json.dumps(value, default=str, sort_keys=True))


@contextmanager
def _refusals() -> Iterator[None]:
    from app.webhooks.endpoints import EndpointRefused

    try:
        yield
    except EndpointRefused as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc


@webhooks_cli.command("add")
@click.argument("url")
@click.option("--events", default=None, help="TYPE,TYPE (default: every type).")
def add_command(url: str, events: str | None) -> None:
    """Register an endpoint; prints its id and signing secret (shown only here and by rotate)."""
    from app.webhooks import endpoints

    with _refusals(), edge():
        endpoint = endpoints.add(url, endpoints.parse_events(events))
        created = {
            "id": endpoint.id,
            "url": endpoint.url,
            "events": endpoint.event_types,
            "secret": endpoint.secret,
        }
    _echo(created)


@webhooks_cli.command("list")
def list_command() -> None:
    """Every endpoint: events, enabled, why disabled, failing since."""
    from app.webhooks import endpoints

    with edge(read_only=True):
        _echo([item.as_dict() for item in endpoints.listing()])


@webhooks_cli.command("disable")
@click.argument("endpoint_id")
def disable_command(endpoint_id: str) -> None:
    """Stop deliveries to an endpoint (they wait, in order, until it is enabled)."""
    from app.webhooks import endpoints

    with _refusals(), edge():
        shown = endpoints.view(endpoints.disable(endpoint_id, datetime.now(UTC))).as_dict()
    _echo(shown)


@webhooks_cli.command("enable")
@click.argument("endpoint_id")
def enable_command(endpoint_id: str) -> None:
    """Resume deliveries to an endpoint."""
    from app.webhooks import endpoints

    with _refusals(), edge():
        shown = endpoints.view(endpoints.enable(endpoint_id, datetime.now(UTC))).as_dict()
    _echo(shown)


@webhooks_cli.command("rotate")
@click.argument("endpoint_id")
def rotate_command(endpoint_id: str) -> None:
    """A new secret; the old one also signs for 24 hours (both signatures are sent)."""
    from app.webhooks import endpoints

    with _refusals(), edge():
        endpoint = endpoints.rotate(endpoint_id, datetime.now(UTC))
        shown = {
            "id": endpoint.id,
            "secret": endpoint.secret,
            "previous_secret_until": endpoint.previous_secret_until,
        }
    _echo(shown)


@webhooks_cli.command("replay")
@click.argument("endpoint_id")
@click.option("--event", "event_id", default=None, help="One event, by its id (webhook-id).")
@click.option("--since", default=None, help="Every event of the endpoint's types since ISO_TIME.")
def replay_command(endpoint_id: str, event_id: str | None, since: str | None) -> None:
    """Send events again once each, with their original ids and the current secret."""
    from app.webhooks import replay

    start = _iso_time(since) if since else None
    with _refusals(), edge(multi_step=True):
        results = replay.replay(endpoint_id, event_id=event_id, since=start)
    _echo(
        [
            {
                "event": event,
                "status": sent.status,
                "latency_ms": sent.latency_ms,
                "error": sent.error,
            }
            for event, sent in results
        ]
    )


def _iso_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--since") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@webhooks_cli.command("attempts")
@click.argument("endpoint_id")
@click.option("--limit", default=50, show_default=True)
def attempts_command(endpoint_id: str, limit: int) -> None:
    """Recent attempts, newest first: event, status code, latency, error, replay."""
    from app.webhooks import endpoints

    with _refusals(), edge(read_only=True):
        rows = [
            {
                "event": a.event_id,
                "at": a.attempted_at,
                "status": a.status_code,
                "latency_ms": a.latency_ms,
                "outcome": a.outcome,
                "error": a.error,
                "replay": a.replay,
            }
            for a in endpoints.recent_attempts(endpoint_id, limit)
        ]
    _echo(rows)


@webhooks_cli.command("dead")
@click.option("--limit", default=100, show_default=True)
def dead_command(limit: int) -> None:
    """Deliveries that exhausted their retries, oldest first (replay them once fixed)."""
    from app.webhooks import review

    with edge(read_only=True):
        _echo([item.as_dict() for item in review.dead(limit)])
