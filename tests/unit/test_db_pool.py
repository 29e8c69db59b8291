"""Pool settings from the environment, and the full-pool check the stream process uses."""

from __future__ import annotations

import pytest

from app.db_pool import pool_options

pytestmark = pytest.mark.unit


def test_pool_options_come_from_the_environment_only_when_set():
    assert pool_options({}) == {}
    assert pool_options(
        {"DATABASE_POOL_SIZE": "3", "DATABASE_MAX_OVERFLOW": "0", "DATABASE_POOL_TIMEOUT_S": "2.5"}
    ) == {"pool_size": 3, "max_overflow": 0, "pool_timeout": 2.5}
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE"):
        pool_options({"DATABASE_POOL_SIZE": "-1"})
