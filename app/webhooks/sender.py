"""One POST of a webhook: no redirects followed, one time budget, never raises."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3

# One pool per process: threads of the relay share it (urllib3 pools are thread-safe).
_HTTP = urllib3.PoolManager(num_pools=64, maxsize=8, retries=False)


@dataclass(frozen=True)
class Sent:
    status: int | None  # None: no HTTP answer (refused, timed out, not allowed)
    latency_ms: int
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class UrlRefused(ValueError):
    """A URL the service will not deliver to."""


def check_url(url: str, *, allow_private: bool) -> None:
    """http(s) with a host; with ``allow_private`` off (production), no host that
    resolves to a loopback, private, link-local or otherwise internal address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused(f"not an http(s) URL with a host: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UrlRefused(f"{parts.hostname} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UrlRefused(f"{parts.hostname} resolves to a non-public address ({address})")


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_private: bool
) -> Sent:
    started = time.perf_counter()
    try:
        # Again at each attempt: a name may come to resolve elsewhere after it was added.
        check_url(url, allow_private=allow_private)
        response = _HTTP.request(
            "POST",
            url,
            body=body,
            headers=headers,
            redirect=False,
            timeout=urllib3.Timeout(total=timeout_s),
            preload_content=False,
        )
        try:
            response.read(64 * 1024)  # enough to reuse the connection; the body is not used
        finally:
            response.release_conn()
    except UrlRefused as exc:
        return Sent(None, _ms(started), f"refused: {exc}")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Sent(None, _ms(started), f"{type(exc).__name__}: {exc}"[:500])
    error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
    retry_after = _retry_after(response.headers.get("Retry-After"))
    return Sent(response.status, _ms(started), error, retry_after)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _retry_after(value: str | None) -> float | None:
    """Seconds, or an HTTP date; anything else is ignored."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
