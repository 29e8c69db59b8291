"""Purchase intents in two short steps with nothing reloaded; the catalog cache."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from app.catalog import services as catalog
from app.db import step
from tests.conftest import ALONE, auth
from tests.support.statements import recording

pytestmark = pytest.mark.db


def test_purchase_intent_is_two_statements_with_no_reload(client, db_session):
    client.get("/api/billing/products")  # nothing to do with the count: warms imports
    with recording() as sql:
        response = client.post(
            "/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
            headers=auth("lean-buyer"),
        )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["payment"]["payment_url"]
    verbs = sql.verbs()
    # Step 1: one statement writes the pending row priced from the catalog rows, its
    # audit entry and the user row. Step 2: one UPDATE ... RETURNING. Each is sent
    # alone (write_alone): no session transaction around either (in this tier each
    # runs in a savepoint of its own, ALONE, where production needs none). Nothing
    # reads the transaction back.
    alone = [f"SAVEPOINT {ALONE}", f"RELEASE SAVEPOINT {ALONE}"]
    assert sql.savepoints == alone * 2, sql.savepoints
    assert verbs.count("UPDATE") == 1 and "RETURNING" in sql.statements[verbs.index("UPDATE")]
    assert not any(s.startswith("SELECT") and "FROM transactions" in s for s in sql.statements), (
        sql.statements
    )
    assert not any(s.startswith("SELECT") and "FROM users" in s for s in sql.statements)
    assert len(sql.statements) == 2, [s[:70] for s in sql.statements]
    first = sql.statements[0]
    assert all(f"INSERT INTO {table}" in first for table in ("transactions", "transaction_events"))
    assert "INSERT INTO users" in first and "catalog_version" not in first


def test_catalog_cache_follows_set_price_and_any_update(app, db_session):
    with step():
        before = catalog.get_product("EVENT_UPGRADE_500").price
    with step():
        catalog.set_price("EVENT_UPGRADE_500", before + 1)
    with step():
        assert catalog.get_product("EVENT_UPGRADE_500").price == before + 1
    with step():  # a hand-written UPDATE bumps the version through the trigger too
        db_session.execute(text("UPDATE billing_policy SET pending_ttl_minutes = 33 WHERE id = 1"))
    with step():
        assert catalog.get_policy().pending_ttl_minutes == 33
        assert catalog.get_product("EVENT_UPGRADE_500").price == before + Decimal(1)


def test_catalog_cache_reads_the_version_once_per_transaction(app, db_session):
    with step():
        catalog.get_product("EVENT_UPGRADE_500")
    with recording() as sql, step():
        catalog.get_product("EVENT_UPGRADE_500")
        catalog.get_policy()
        catalog.get_product("CLUB_50")
    assert len(sql.statements) == 1 and "catalog_version" in sql.statements[0]


def test_cached_catalog_entries_are_read_only(app, db_session):
    with step():
        product = catalog.get_product("EVENT_UPGRADE_500")
    with pytest.raises(AttributeError):
        product.price = Decimal("1.00")


def test_a_catalog_read_inside_a_rolled_back_change_is_never_current_again(app, db_session):
    from app.catalog.models import Product

    seen = []

    def abandoned_change() -> None:
        with step():
            db_session.get(Product, "EVENT_UPGRADE_500").price = Decimal("1.00")
            db_session.flush()
            seen.append(catalog.get_product("EVENT_UPGRADE_500").price)
            raise RuntimeError("the change is abandoned")

    with pytest.raises(RuntimeError, match="abandoned"):
        abandoned_change()
    assert seen == [Decimal("1.00")]
    with step():
        assert catalog.get_product("EVENT_UPGRADE_500").price != Decimal("1.00")


def test_purchase_intent_with_a_key_is_four_statements(client, db_session):
    client.get("/api/billing/products")
    with recording() as sql:
        response = client.post(
            "/api/billing/purchase-intent",
            json={"product_code": "EVENT_UPGRADE_500", "quantity": 1},
            headers={**auth("lean-keyed-buyer"), "Idempotency-Key": "lean-1"},
        )
    assert response.status_code == 201, response.get_json()
    # The claim (with the user row) and the pending row, its audit entry and the key's
    # link to it, each one statement sent alone; the payment link and the stored
    # reply, two statements in one step (in this tier, a savepoint; the statements sent
    # alone have one each, named ALONE).
    steps = [s for s in sql.savepoints if not s.endswith(ALONE)]
    assert sum(s.startswith("RELEASE") for s in steps) == 1, sql.savepoints
    assert sql.savepoints.count(f"RELEASE SAVEPOINT {ALONE}") == 2, sql.savepoints
    assert sql.verbs() == ["WITH", "WITH", "UPDATE", "UPDATE"], [s[:70] for s in sql.statements]
    assert all(f"INSERT INTO {t}" in sql.statements[0] for t in ("users", "idempotency_records"))
    assert "UPDATE idempotency_records" in sql.statements[1]
