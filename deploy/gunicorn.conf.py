"""gunicorn settings for the API in production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

- Prometheus multiprocess mode: every worker writes its samples under
  ``PROMETHEUS_MULTIPROC_DIR`` (which the unit empties before start) and
  ``/metrics`` adds them up; a worker that exits is marked dead so its live
  gauges drop out.
- gunicorn's own log lines (boot, worker exits) go out as JSON like the app's;
  the access log is off because the app logs every request itself, with its
  request id, user and duration.
- Everything the project's own ``gunicorn.conf.py`` sets (request limits, refusals
  in the JSON error envelope) applies here too: gunicorn reads one config file.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

_SHARED = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"
exec(compile(_SHARED.read_text(), str(_SHARED), "exec"))  # noqa: S102 - our own config file

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# A purchase intent calls Kaspi within one time budget, retries included
# (KASPI_CALL_BUDGET_S, 10 s by default and at most; a status read or a refund has
# KASPI_TIMEOUT_S): leave room beyond it before killing a worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
control_socket_disable = True
accesslog = None

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # The app's own JSON lines: the same fields as its records.
        "json": {"()": "app.observability.logs.JsonLineFormatter"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    # The app installs its own root handler (app.observability.logs) when it loads.
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def child_exit(server: object, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
