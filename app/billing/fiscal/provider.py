"""The process's register, built from configuration; None when fiscalization is off."""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from app.billing.fiscal.register import Register
from app.billing.fiscal.webkassa import WebkassaRegister

log = logging.getLogger(__name__)

_KEY = "fiscal_register"
_lock = threading.Lock()

OFF_MESSAGE = "fiscalization is off: FISCAL_BASE_URL is not set, no receipt is issued"


def enabled(app: Flask | None = None) -> bool:
    config = (app or current_app).config
    return bool(config.get("FISCAL_BASE_URL"))


def get_register() -> Register | None:
    """The register of this process (one token cache per process), or None when off."""
    app = current_app
    if not enabled(app):
        return None
    with _lock:
        register = app.extensions.get(_KEY)
        if register is None:
            register = app.extensions[_KEY] = WebkassaRegister(
                app.config["FISCAL_BASE_URL"],
                app.config["FISCAL_LOGIN"],
                app.config["FISCAL_PASSWORD"],
                app.config["FISCAL_CASHBOX"],
                timeout_s=float(app.config["FISCAL_TIMEOUT_S"]),
            )
    return register


def announce(app: Flask) -> None:
    """At start-up: say whether receipts are issued, never leave it silent."""
    if enabled(app):
        log.info(
            "fiscalization on: register %s, cashbox %s",
            app.config["FISCAL_BASE_URL"],
            app.config["FISCAL_CASHBOX"],
        )
    else:
        log.warning(OFF_MESSAGE)
