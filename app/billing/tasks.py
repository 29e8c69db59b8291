"""Celery tasks for billing (filled in by the payments pipeline)."""
