"""Celery's own lines as JSON, like every other line of the worker and beat.

Celery writes a few lines past logging: the worker's banner (``print``), "worker:
Warm shutdown (MainProcess)" (``safe_say``, a raw ``os.write`` from a signal
handler), beat's banner (``print``); and billiard logs "Process 'ForkPoolWorker-1'
pid:… exited with 'signal 9 (SIGKILL)'" on a logger that does not propagate, so
it reached stderr through logging's last-resort handler, as plain text. With
``LOG_FORMAT=json`` each becomes one JSON line here; the console format keeps
Celery's own output.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from typing import Any

from app.observability.logs import JsonLineFormatter

log = logging.getLogger("celery.worker")
beat_log = logging.getLogger("celery.beat")
_installed: dict[str, bool] = {}


def install(fmt: str) -> None:
    """Once per process, for the JSON format only."""
    if fmt != "json" or _installed.get("done"):
        return
    _installed["done"] = True
    _worker_lines()
    _beat_lines()


def pool_process_exits_propagate() -> None:
    """billiard's logger up to the root's JSON handler.

    Called from Celery's ``setup_logging`` signal: Celery drops billiard's logger just
    before sending it, and billiard turns propagation off whenever it makes one anew,
    so it is made here, after the drop, and turned on.
    """
    from billiard import util  # type: ignore[import-untyped]

    util.get_logger().propagate = True


def say_as_json(message: str, f: Any = sys.__stderr__) -> None:
    """``celery.apps.worker.safe_say`` as one JSON line.

    Called from a signal handler: no logging locks, only a formatter and the raw
    ``os.write`` Celery uses (gevent/eventlet leave it unpatched).
    """
    from celery import _original_os_write

    record = logging.LogRecord(
        "celery.worker", logging.WARNING, __file__, 0, message.strip(), None, None
    )
    fileno = getattr(f, "fileno", None)
    if fileno is None:
        return
    # As in Celery: losing this line must never abort the shutdown.
    with contextlib.suppress(OSError):
        _original_os_write(fileno(), (JsonLineFormatter().format(record) + "\n").encode())


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _worker_lines() -> None:
    from celery.apps import worker

    worker.safe_say = say_as_json

    def emit_banner(self: Any) -> None:
        tasks = sorted(name for name in self.app.tasks if not name.startswith("celery."))
        log.info(
            "celery worker starting: %s",
            _one_line(self.startup_info(artlines=False)),
            extra={"tasks": tasks},
        )

    worker.Worker.emit_banner = emit_banner


def _beat_lines() -> None:
    from celery import VERSION_BANNER
    from celery.apps import beat

    original_run = beat.Beat.run
    original_handler = beat.Beat.install_sync_handler

    def run(self: Any) -> None:
        if not self.quiet:
            beat_log.info("celery beat v%s is starting", VERSION_BANNER)
            self.said_startup = False
            self.quiet = True  # Celery's own banner print is replaced by the line below
        original_run(self)

    def install_sync_handler(self: Any, service: Any) -> None:
        if getattr(self, "said_startup", True) is False:
            beat_log.info("celery beat: %s", _one_line(self.startup_info(service)))
        original_handler(self, service)

    beat.Beat.run = run
    beat.Beat.install_sync_handler = install_sync_handler
