"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import os

from app import create_app
from app.config import PROFILES, ConfigError
from app.process_heap import freeze_startup_objects
from app.refusal import refuse

if os.environ.get("BILLING_ENV", "production") not in PROFILES:
    refuse(f"BILLING_ENV={os.environ['BILLING_ENV']!r} is not one of {', '.join(PROFILES)}")
try:
    app = create_app()
except ConfigError as exc:
    refuse(str(exc))
freeze_startup_objects()
