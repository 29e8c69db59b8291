"""Operability: structured logs with request context, Prometheus metrics, health checks.

``init_app`` wires everything into the Flask app; ``app.observability.celery_hooks``
does the same for Celery through signals.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.observability import http, transitions

    http.init_app(app)
    transitions.install()
