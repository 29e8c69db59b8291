"""The stream process (Procfile ``stream``) for tests: its own gunicorn settings, on a free port."""

from __future__ import annotations

from tests.support.processes import Process, bin_path, free_port, http_ready, wait_until


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


def start_stream_server(name: str, env: dict[str, str]) -> tuple[Process, str]:
    port = free_port()
    proc = Process(name, stream_argv(port), env).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_ready(base + "/healthz"), timeout=30, message=f"{name} to answer")
    except TimeoutError:
        proc.stop()
        raise RuntimeError(f"{name} did not start:\n{proc.tail()}") from None
    return proc, base
