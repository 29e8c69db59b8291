"""How an entry point (``wsgi.py``, ``workers``) refuses to start: one line, and an exit
code its supervisor does not answer with a restart.

- a gunicorn worker exits with gunicorn's ``WORKER_BOOT_ERROR`` (3): the master then
  stops every worker and exits with that code itself, instead of forking the same
  refusal again many times a second;
- a Celery worker or beat exits with ``EX_CONFIG`` (78, sysexits.h), not the 1 or 2 a
  crash or a bad command line gives;
- anything else (``flask --app wsgi ...``) exits with 1.

The systemd units list 3 and 78 in ``RestartPreventExitStatus``: a refusal stays
stopped until the configuration is fixed, while a crash is still restarted.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

EX_CONFIG = 78
GUNICORN_BOOT_ERROR = 3


def refusal_exit_code() -> int:
    arbiter = sys.modules.get("gunicorn.arbiter")
    if arbiter is not None:
        return int(arbiter.Arbiter.WORKER_BOOT_ERROR)
    if "celery.bin.celery" in sys.modules:
        return EX_CONFIG
    return 1


def refuse(message: str) -> NoReturn:
    """A configuration mistake is one line for whoever started us, not a traceback."""
    if "BILLING_ENV" not in os.environ:
        message += (
            " (BILLING_ENV is unset, so the production profile applies; for development run "
            "`make run` once, which writes .env, or export BILLING_ENV=development)"
        )
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(refusal_exit_code())
