"""The cluster tier's parts: a "host" (API, stream process and worker on a loopback
address of its own, 127.0.0.2, 127.0.0.3 …) and an HAProxy of the test's own in front
of the hosts, routing status streams to the stream processes.

Linux routes all of 127.0.0.0/8 to the loopback interface, so each host binds its own
address with no setup. Killing a host kills every process of it with SIGKILL at once.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.processes import (
    Process,
    bin_path,
    free_port,
    http_ready,
    start_celery_beat,
    start_celery_worker,
    wait_until,
)

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_available() -> bool:
    return os.access(HAPROXY, os.X_OK)


@dataclass
class Host:
    name: str
    address: str
    env: dict[str, str]
    beat_schedule: Path | None = None
    api_port: int = field(default_factory=free_port)
    stream_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://{self.address}:{self.api_port}"

    @property
    def stream(self) -> str:
        return f"http://{self.address}:{self.stream_port}"

    def start(self) -> Host:
        api = Process(
            f"{self.name}-api",
            [
                bin_path("gunicorn"),
                "--no-control-socket",
                "--bind",
                f"{self.address}:{self.api_port}",
                "--workers",
                "2",
                "--graceful-timeout",
                "2",
                "wsgi:app",
            ],
            self.env,
        ).start()
        stream = Process(
            f"{self.name}-stream",
            [
                bin_path("gunicorn"),
                "--config",
                "python:app.billing.stream.gunicorn_stream",
                "--bind",
                f"{self.address}:{self.stream_port}",
                "--graceful-timeout",
                "2",
                "--no-control-socket",
                "wsgi:app",
            ],
            self.env,
        ).start()
        worker = start_celery_worker(self.env, name=f"{self.name}-worker")
        self.processes = [api, stream, worker]
        if self.beat_schedule is not None:
            self.processes.append(
                start_celery_beat(self.env, self.beat_schedule, f"{self.name}-beat")
            )
        wait_until(http_ready(self.api + "/healthz"), timeout=60, message=f"{self.name}'s API")
        wait_until(
            http_ready(self.stream + "/healthz"), timeout=60, message=f"{self.name}'s stream"
        )
        return self

    def kill9(self) -> None:
        """Every process of the host at once, as a power cut would."""
        for proc in self.processes:
            proc.kill9()

    def stop(self) -> None:
        for proc in self.processes:
            proc.stop(timeout=10)


class Balancer:
    """HAProxy: ``/api/billing/transactions/<id>/events`` to the stream processes, the rest
    to the APIs; a backend whose /healthz fails is taken out within two seconds."""

    def __init__(self, where: Path, hosts: list[Host]) -> None:
        self.where = where
        self.hosts = hosts
        self.port = free_port()
        self.proc: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        api = "\n".join(
            f"    server {h.name} {h.address}:{h.api_port} check inter 500 fall 2 rise 2"
            for h in self.hosts
        )
        streams = "\n".join(
            f"    server {h.name} {h.address}:{h.stream_port} check inter 500 fall 2 rise 2"
            for h in self.hosts
        )
        return f"""global
    maxconn 9000

defaults
    mode http
    timeout connect 2s
    timeout client 330s
    timeout server 330s
    timeout tunnel 330s
    option redispatch
    retries 2
    # A request that failed on a dead backend is tried on another one only when
    # nothing was sent to it (HAProxy's default): a purchase is never sent twice.

frontend billing
    bind 127.0.0.1:{self.port}
    # The state of each server, for tests: GET /haproxy-stats;csv
    stats enable
    stats uri /haproxy-stats
    stats refresh 1s
    acl is_stream path_reg ^/api/billing/transactions/[^/]+/events$
    use_backend streams if is_stream
    default_backend api

backend api
    balance roundrobin
    option httpchk GET /healthz
{api}

backend streams
    balance leastconn
    option httpchk GET /healthz
    # Events must pass as they are written.
    no option http-buffer-request
{streams}
"""

    def start(self) -> Balancer:
        self.where.mkdir(parents=True, exist_ok=True)
        cfg = self.where / "haproxy.cfg"
        cfg.write_text(self.config())
        self.proc = Process(
            f"haproxy-{self.port}", [HAPROXY, "-db", "-f", str(cfg)], dict(os.environ)
        ).start()
        wait_until(http_ready(self.url + "/healthz"), timeout=30, message="haproxy")
        return self

    def server_up(self, name: str) -> bool:
        """Both backends see server ``name`` as UP (HAProxy's CSV statistics)."""
        csv = requests.get(self.url + "/haproxy-stats;csv", timeout=5).text
        states = [row.split(",")[17] for row in csv.splitlines() if row.split(",")[1:2] == [name]]
        return len(states) == 2 and all(state == "UP" for state in states)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
