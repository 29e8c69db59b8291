"""The billing service's application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from app.config import PROFILES, broker_url, check_production
from app.observability.logs import configure_logging


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the app.

    ``config`` is a profile name (development, testing, production) or a dict of
    overrides applied last; by default the profile comes from ``BILLING_ENV``, and
    without it is ``production``: an unconfigured deploy fails closed (it refuses to
    start with default secrets) instead of opening development conveniences.
    """
    overrides: dict[str, Any] = {}
    if isinstance(config, dict):
        overrides = dict(config)
        profile = overrides.pop("PROFILE", None) or os.environ.get("BILLING_ENV", "production")
    else:
        profile = config or os.environ.get("BILLING_ENV", "production")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")

    app = Flask(__name__)
    app.config.from_object(PROFILES[profile])
    app.config.update(PROFILES[profile].from_env())
    app.config.update(overrides)
    if isinstance(app.json, DefaultJSONProvider):  # always Flask's default provider here
        app.json.sort_keys = False
    if profile == "production":
        check_production(app.config)

    app.config["CELERY_BROKER_URL"] = broker_url(app.config)
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    from app import (
        models,  # noqa: F401  (registers every table on the metadata)
        observability,
    )
    from app.celery_app import celery_init_app
    from app.errors import register_error_handlers
    from app.extensions import db, init_redis, migrate

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations")),
    )
    init_redis(app)
    celery_init_app(app)
    register_error_handlers(app)
    observability.init_app(app)
    _register_gauges(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from app.billing.ops_views import bp as ops_bp
    from app.billing.views import bp as billing_bp
    from app.catalog.views import bp as catalog_bp
    from app.clubs.views import bp as clubs_bp
    from app.events.views import bp as events_bp
    from app.health import bp as health_bp
    from app.openapi.views import bp as openapi_bp
    from app.renewals.views import bp as renewals_bp
    from app.web.views import bp as web_bp

    app.register_blueprint(catalog_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(clubs_bp)
    app.register_blueprint(renewals_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    if app.config["BILLING_DEV_ENDPOINTS"]:
        from app.billing.dev_views import bp as dev_bp
        from app.web.views import dev_bp as web_dev_bp

        app.register_blueprint(dev_bp)
        app.register_blueprint(web_dev_bp)


def _register_gauges(app: Flask) -> None:
    from app.billing.core.gauges import read_transaction_gauges
    from app.observability.metrics import register_database_gauges
    from app.webhooks.gauges import read_webhook_gauges

    register_database_gauges(app, read_transaction_gauges)
    register_database_gauges(app, read_webhook_gauges)
    from app.billing.fiscal.gauges import gauge_reader
    from app.billing.fiscal.provider import announce

    register_database_gauges(app, gauge_reader(app))
    announce(app)  # fiscalization on or off: said at start-up, never silent


def _register_cli(app: Flask) -> None:
    from app.auth.cli import auth_cli
    from app.billing.cli import billing_cli
    from app.webhooks.cli import webhooks_cli

    billing_cli.add_command(webhooks_cli)
    from app.billing.fiscal_cli import receipts_cli

    billing_cli.add_command(receipts_cli)
    app.cli.add_command(auth_cli)
    app.cli.add_command(billing_cli)
