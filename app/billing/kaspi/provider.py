"""The payment provider the service talks to, built from configuration.

Pointing the service at the real Kaspi is a matter of KASPI_BASE_URL and
KASPI_API_KEY; nothing else knows whether it talks to the stub.
"""

from __future__ import annotations

from flask import current_app

from app.billing.kaspi.client import KaspiClient, PaymentProvider

PROVIDER_NAME = "kaspi"


def get_provider() -> PaymentProvider:
    """One client per process (built lazily, so forked workers each get their own)."""
    ext = current_app.extensions
    if "payment_provider" not in ext:
        ext["payment_provider"] = KaspiClient.from_config(current_app.config)
    provider: PaymentProvider = ext["payment_provider"]
    return provider
