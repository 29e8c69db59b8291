"""The sweeps' plans stay index scans when the table is large (seeded cheaply)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from benchmarks.plans import explain_all, seed_sql
from tests.support.factories import make_user

pytestmark = pytest.mark.db

ROWS = 200_000  # the bench step (benchmarks/plans.py) checks the same at 1M


def test_sweep_queries_are_index_scans_at_a_large_table(app, db_session):
    make_user("plan-owner")
    for sql, params in seed_sql(ROWS):
        db_session.execute(text(sql), {**params, "user_id": "plan-owner"})
    db_session.commit()
    scans = explain_all(app, datetime.now(UTC), connection=db_session.connection())
    assert scans and all(relations == [] for relations in scans.values()), scans
