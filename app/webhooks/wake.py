"""Waking the relay after a COMMIT that queued deliveries.

One relay task per burst, not one per COMMIT: the first COMMIT of a burst sets a
short-lived Redis flag and sends the task; the task clears the flag *before* it
claims, so any COMMIT after that sends a new one, and any COMMIT before it is
seen by its claim. The flag only saves broker messages: with Redis or the broker
down the wake-up is lost and the beat sweep (``webhooks.relay`` every
``WEBHOOK_RELAY_INTERVAL_S``) delivers it instead.
"""

from __future__ import annotations

import contextlib
import logging

import redis
from celery import current_app as current_celery
from flask import current_app
from kombu.exceptions import KombuError

from app.extensions import get_redis

log = logging.getLogger(__name__)

WAKE_FLAG = "webhooks:relay-woken"
RELAY_TASK = "webhooks.relay"


def wake_relay() -> None:
    ttl_ms = int(current_app.config["WEBHOOK_WAKE_TTL_S"] * 1000)
    try:
        if not get_redis().set(WAKE_FLAG, "1", nx=True, px=ttl_ms):
            return  # a relay is on its way and will claim what this COMMIT queued
    except redis.RedisError as exc:
        log.warning("webhook wake-up flag unavailable (%s); waking the relay anyway", exc)
    try:
        current_celery.send_task(RELAY_TASK)
    except (KombuError, OSError) as exc:
        log.warning("webhook relay not woken (%s); the beat sweep delivers", exc)


def relay_started() -> None:
    """Called by the relay before it claims: COMMITs from now on wake another one."""
    with contextlib.suppress(redis.RedisError):  # the flag expires by itself
        get_redis().delete(WAKE_FLAG)
