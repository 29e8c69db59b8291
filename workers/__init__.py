"""Celery entry point: `celery -A workers worker` and `celery -A workers beat`."""

from app import create_app
from app.config import ConfigError
from app.process_heap import freeze_startup_objects
from app.refusal import refuse

try:
    flask_app = create_app()
except ConfigError as exc:
    # One line and EX_CONFIG, not a traceback and Celery's usage error (2).
    refuse(str(exc))
celery = flask_app.extensions["celery"]
freeze_startup_objects()
