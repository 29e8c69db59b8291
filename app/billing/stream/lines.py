"""A status stream's opening and closing: its two log lines and its counters, written
the same way whether the stream waited parked (parked.py) or not (stream.py)."""

from __future__ import annotations

import json
import logging
import time
import uuid

from app.observability import metrics

# One logger for a stream's lines, whichever module holds the stream when it ends.
log = logging.getLogger("app.billing.stream.stream")


def opened(transaction_id: uuid.UUID, user_id: str, status: str, last_seen: str) -> None:
    log.info(
        "stream opened transaction=%s user=%s status=%s last_event_id=%s",
        transaction_id,
        user_id,
        status,
        json.dumps(last_seen[:40]),
    )
    metrics.PUSH_STREAMS_OPEN.inc()


def closed(transaction_id: uuid.UUID, reason: str, sent: int, started: float) -> None:
    metrics.PUSH_STREAMS_OPEN.dec()
    metrics.PUSH_STREAMS_ENDED.labels(reason).inc()
    metrics.PUSH_EVENTS_SENT.inc(sent)
    log.info(
        "stream closed transaction=%s reason=%s events=%d duration_s=%.1f",
        transaction_id,
        reason,
        sent,
        time.monotonic() - started,
    )
