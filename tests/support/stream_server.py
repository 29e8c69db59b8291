"""The stream process (Procfile ``stream``) for tests: its own gunicorn settings, on a free port."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.processes import Process, bin_path, http_ready, start_server


def stream_argv(port: int) -> list[str]:
    return [
        bin_path("gunicorn"),
        "--config",
        "python:app.billing.stream.gunicorn_stream",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        "--no-control-socket",
        "wsgi:app",
    ]


def start_stream_server(
    name: str, env: dict[str, str], *, started: Callable[[Process], object] | None = None
) -> tuple[Process, str]:
    """The stream process on a free port, once /healthz answers (``started``: see start_server)."""
    return start_server(
        name,
        stream_argv,
        env,
        lambda base_url: http_ready(base_url + "/healthz")(),
        started=started,
    )
