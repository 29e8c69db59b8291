"""What a stream writes: a status event, and a piece of text as it goes on the wire."""

from __future__ import annotations

from app.billing.stream.snapshot import Snapshot


def format_event(snap: Snapshot) -> str:
    return f"id: {snap.event_id}\nevent: status\ndata: {snap.body}\n\n"


def frame(text: str, chunked: bool) -> bytes:
    """``text`` as sent: one chunk of a chunked body, or as it is (HTTP/1.0, no chunks)."""
    data = text.encode()
    if not chunked:
        return data
    return b"%x\r\n%s\r\n" % (len(data), data)
