"""Statements sent to psycopg directly: the SQL SQLAlchemy compiled, the caller's
connection and transaction, the same Python types back, no forgotten parameter."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, column, create_engine, exc, select, table, text

from app.driver_statements import DriverStatement
from app.extensions import db

pytestmark = pytest.mark.db

_ITEMS = table("driver_items", column("id"), column("price"), column("kind"))


@pytest.fixture
def conn(db_session):
    """The test's connection, inside its outer transaction (rolled back at the end)."""
    connection = db_session.connection()
    connection.exec_driver_sql(
        "CREATE TEMP TABLE driver_items (id uuid PRIMARY KEY, price numeric(12, 2), kind text)"
    )
    return connection


def test_a_text_statement_runs_with_its_named_parameters(conn):
    insert = DriverStatement.of(
        text("INSERT INTO driver_items VALUES (:id, :price, :kind) RETURNING id, price, kind")
    )
    item_id = uuid.uuid4()
    row = insert.first(conn, {"id": item_id, "price": Decimal("12.50"), "kind": "a"})
    # psycopg's own loaders, as under SQLAlchemy: UUID and Decimal, read by attribute.
    assert (row.id, row.price, row.kind) == (item_id, Decimal("12.50"), "a")
    # In the caller's transaction: SQLAlchemy's connection sees the row.
    assert conn.execute(select(_ITEMS.c.kind).where(_ITEMS.c.id == item_id)).scalar_one() == "a"


def test_a_compared_literal_is_sent_with_every_call(conn):
    conn.exec_driver_sql(
        "INSERT INTO driver_items VALUES (gen_random_uuid(), 1, 'a'), (gen_random_uuid(), 2, 'b')"
    )
    # "kind = 'b'" is a bound literal SQLAlchemy names itself (kind_1): not the caller's.
    cheapest_b = DriverStatement.of(
        select(_ITEMS.c.price)
        .where(_ITEMS.c.kind == "b", _ITEMS.c.price >= bindparam("least"))
        .order_by(_ITEMS.c.price)
    )
    assert cheapest_b.required == {"least"}
    assert cheapest_b.first(conn, {"least": 0}).price == 2
    assert cheapest_b.first(conn, {"least": 3}) is None


def test_a_forgotten_parameter_is_an_error_not_a_null(conn):
    insert = DriverStatement.of(text("INSERT INTO driver_items VALUES (:id, :price, :kind)"))
    with pytest.raises(KeyError, match="kind"):
        insert.first(conn, {"id": uuid.uuid4(), "price": 1})
    assert conn.exec_driver_sql("SELECT count(*) FROM driver_items").scalar_one() == 0


def test_an_in_list_parameter_is_refused_when_built():
    with pytest.raises(ValueError, match="expanding"):
        DriverStatement.of(select(_ITEMS.c.id).where(_ITEMS.c.kind.in_(bindparam("kinds"))))


def test_a_broken_constraint_is_raised_as_sqlalchemy_raises_it(conn):
    insert = DriverStatement.of(text("INSERT INTO driver_items (id) VALUES (:id)"))
    item_id = uuid.uuid4()
    conn.exec_driver_sql(f"INSERT INTO driver_items (id) VALUES ('{item_id}')")
    with pytest.raises(exc.IntegrityError) as raised:
        insert.first(conn, {"id": item_id})
    assert not raised.value.connection_invalidated


def test_a_connection_that_died_is_an_outage_and_is_not_handed_out_again(app, db_session):
    """A killed backend: SQLAlchemy's OperationalError (the API answers it with 503),
    the connection invalidated, and the pool's next connection a fresh one."""
    engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT", pool_size=1)
    backend = DriverStatement.of(text("SELECT pg_backend_pid() AS pid"))
    try:
        with engine.connect() as victim:
            pid = backend.first(victim, {}).pid
            db_session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(exc.OperationalError) as raised:
                backend.first(victim, {})
            assert raised.value.connection_invalidated
            assert victim.invalidated
        with engine.connect() as fresh:
            assert backend.first(fresh, {}).pid != pid
    finally:
        engine.dispose()


def test_each_statement_keeps_one_cursor_per_connection_and_its_own_rows(conn, monkeypatch):
    """The cursor is made once and reused; two statements on one connection never share
    one, so each answers its own columns however their calls interleave."""
    import psycopg

    made = []
    real_cursor = psycopg.Connection.cursor

    def counting(self, *args, **kwargs):
        cursor = real_cursor(self, *args, **kwargs)
        if kwargs.get("row_factory") is not None:
            made.append(cursor)
        return cursor

    monkeypatch.setattr(psycopg.Connection, "cursor", counting)
    insert = DriverStatement.of(
        text("INSERT INTO driver_items VALUES (:id, :price, :kind) RETURNING id, kind")
    )
    price = DriverStatement.of(text("SELECT price FROM driver_items WHERE id = :id"))
    for n in range(3):
        item_id = uuid.uuid4()
        row = insert.first(conn, {"id": item_id, "price": Decimal(n), "kind": f"k{n}"})
        assert (row._fields, row.id, row.kind) == (("id", "kind"), item_id, f"k{n}")
        assert price.first(conn, {"id": item_id})._fields == ("price",)
        assert price.first(conn, {"id": item_id}).price == Decimal(n)
        assert price.first(conn, {"id": uuid.uuid4()}) is None
    assert len(made) == 2 and made[0] is not made[1]
