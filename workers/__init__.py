"""Celery entry point: `celery -A workers worker` and `celery -A workers beat`."""

from app import create_app
from app.process_heap import freeze_startup_objects

flask_app = create_app()
celery = flask_app.extensions["celery"]
freeze_startup_objects()
