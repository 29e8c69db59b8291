"""A restart loop for test processes: what systemd's ``Restart=always`` does in production.

The worker and beat must survive losing their broker by themselves; where the
library still crashes, production's supervisor starts the process again
(deploy/systemd/*.service: ``Restart=always``, ``RestartSec=2``). Tests run the
same policy here and report every restart, so a crash is visible, not hidden.
"""

from __future__ import annotations

import threading
import time

from tests.support.processes import Process


class Supervised:
    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], restart_delay_s: float = 1.0
    ) -> None:
        self.process = Process(name, argv, env)
        self.restart_delay_s = restart_delay_s
        self.restarts: list[dict] = []  # {"at": epoch, "exit_code": int}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    @property
    def log_path(self):
        return self.process.log_path

    def start(self) -> Supervised:
        self.process.start()
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self.process.proc
            if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                self.restarts.append({"at": time.time(), "exit_code": proc.returncode})
                if self._stopping.wait(self.restart_delay_s):
                    return
                self.process.start()
            self._stopping.wait(0.2)

    def alive(self) -> bool:
        return self.process.alive()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.process.stop()

    def tail(self, lines: int = 40) -> str:
        return self.process.tail(lines)
