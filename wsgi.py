"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import os
import sys

from app import create_app
from app.config import PROFILES, ConfigError
from app.process_heap import freeze_startup_objects


def _refuse(message: str) -> None:
    """A configuration mistake is one line for whoever started us, not a traceback."""
    if "BILLING_ENV" not in os.environ:
        message += (
            " (BILLING_ENV is unset, so the production profile applies; for development run "
            "`make run` once, which writes .env, or export BILLING_ENV=development)"
        )
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


if os.environ.get("BILLING_ENV", "production") not in PROFILES:
    _refuse(f"BILLING_ENV={os.environ['BILLING_ENV']!r} is not one of {', '.join(PROFILES)}")
try:
    app = create_app()
except ConfigError as exc:
    _refuse(str(exc))
freeze_startup_objects()
