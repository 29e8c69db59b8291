"""A RabbitMQ node owned by one test: its own node name, port and data directory.

The machine's RabbitMQ is never stopped or killed; a test that kills a broker
kills this one. It keeps its Mnesia directory across ``kill9()`` / ``start()``,
so durable queues and persistent messages survive as they would in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

from tests.support.processes import Process, free_port, wait_until

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def rabbitmq_binary() -> str | None:
    # The wrapper in /usr/sbin drops to the rabbitmq user, which cannot write our
    # temp directory; the real script runs as whoever starts it.
    if os.path.exists(SERVER):
        return SERVER
    return shutil.which("rabbitmq-server")


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class RabbitServer:
    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"billingtest{uuid.uuid4().hex[:8]}@localhost"
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text("loopback_users = none\n")
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.base),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbitmq.pid"),
        }

    def start(self, timeout: float = 60.0) -> RabbitServer:
        binary = rabbitmq_binary()
        if binary is None:
            raise RuntimeError("rabbitmq-server is not installed")
        self.process = Process(f"rabbitmq-{self.port}", [binary], self.env()).start()
        wait_until(
            lambda: port_answers(self.port) or not self.process.alive(),
            timeout=timeout,
            interval=0.2,
            message=f"RabbitMQ node {self.node} to listen",
        )
        if not self.process.alive():
            raise RuntimeError(f"RabbitMQ node did not start:\n{self.process.tail()}")
        return self

    def kill9(self) -> None:
        """Kill the Erlang VM (and its helpers) at once, as a crash would."""
        if self.process is not None:
            self.process.kill9()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)

    def list_queues(self, *columns: str) -> list[list[str]]:
        """``rabbitmqctl list_queues`` of this node: one row of ``columns`` per queue."""
        ctl = Path(rabbitmq_binary() or "").with_name("rabbitmqctl")
        done = subprocess.run(
            [str(ctl), "-n", self.node, "-q", "list_queues", "--no-table-headers", *columns],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return [line.split("\t") for line in done.stdout.splitlines() if line.strip()]
