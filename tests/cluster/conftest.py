"""The cluster tier runs under `make test-cluster` only (it sets BILLING_CLUSTER_TESTS=1;
tests/conftest.py does not collect this folder otherwise): several minutes of two hosts,
PgBouncer and HAProxy, too heavy for `make test`."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


# The integration tier's database (its own `…_it` one) and its cleaning between tests.
from tests.integration.conftest import (  # noqa: E402, F401
    app,
    app_config,
    catalog_snapshot,
    clean_db,
    database_url,
)
