"""The payment provider the service talks to, built from configuration.

Pointing the service at the real Kaspi is a matter of KASPI_BASE_URL and
KASPI_API_KEY; nothing else knows whether it talks to the stub.
"""

from __future__ import annotations

from flask import current_app

from app.billing.kaspi.client import KaspiClient, PaymentProvider
from app.catalog.services import PAYMENT_PROVIDER

PROVIDER_NAME = PAYMENT_PROVIDER


def get_provider() -> PaymentProvider:
    """The client for purchases, cancels and refunds (one per process)."""
    return _client("payment_provider", {})


def get_poll_provider() -> PaymentProvider:
    """The client the settle batch asks, with its shorter read timeout (one per process)."""
    return _client("poll_provider", {"KASPI_TIMEOUT_S": current_app.config["KASPI_POLL_TIMEOUT_S"]})


def _client(name: str, overrides: dict[str, object]) -> PaymentProvider:
    """Built lazily, so forked workers each get their own."""
    ext = current_app.extensions
    if name not in ext:
        ext[name] = KaspiClient.from_config({**current_app.config, **overrides})
    provider: PaymentProvider = ext[name]
    return provider
