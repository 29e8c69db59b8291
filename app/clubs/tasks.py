"""Celery tasks for club subscriptions."""
