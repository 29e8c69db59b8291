"""The cluster tier runs under `make test-cluster` only (it sets BILLING_CLUSTER_TESTS=1):
several minutes of two hosts, PgBouncer and HAProxy, too heavy for `make test`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("BILLING_CLUSTER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="the cluster tier: run `make test-cluster`")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


# The integration tier's database (its own `…_it` one) and its cleaning between tests.
from tests.integration.conftest import (  # noqa: E402, F401
    app,
    app_config,
    catalog_snapshot,
    clean_db,
    database_url,
)
