"""Statements of the hottest paths, sent to psycopg directly.

SQLAlchemy still writes their SQL: it is built from the table metadata (or is a
``text()`` whose ``:name`` parameters SQLAlchemy rewrites) and compiled once, for
psycopg, when the module loads. What a :class:`DriverStatement` skips is the work
SQLAlchemy repeats on every execution: the compiled-cache lookup, the execution
context, the result's metadata and its row processing. Inside a purchase intent that
work is a noticeable share of the API's CPU per intent (docs/PERFORMANCE.md,
"Figures behind the code's design choices").

Nothing else changes: the statement runs on the caller's SQLAlchemy connection (in
its transaction, if it has one), psycopg adapts the values both ways exactly as it
does under SQLAlchemy (a ``uuid`` column comes back as a ``UUID``, ``numeric`` as a
``Decimal``), and psycopg prepares a statement it sees repeatedly as it does for
any other. Rows are named tuples, read by attribute like SQLAlchemy's. A failure
is raised as SQLAlchemy would raise it, after the same bookkeeping: a connection
that died is invalidated, so the next request gets a fresh one, and the API's
error handler answers an outage with 503 (``app.errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import RowMaker, namedtuple_row, no_result
from sqlalchemy import ClauseElement, Connection
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.compiler import SQLCompiler

# Type-check exemption: SQLAlchemy's dialect constructors carry no annotations.
_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]
# Key, in a pooled connection's info: (driver connection, {sql: its cursor}).
_CURSORS = "driver_statement_cursors"


@dataclass(frozen=True)
class DriverStatement:
    sql: str
    # Values fixed in the statement itself (a compared literal): sent with every call.
    fixed: Mapping[str, Any]
    # What the caller must give: a forgotten one is an error, never a silent NULL.
    required: frozenset[str]
    # The named-tuple class of the statement's rows, made from its first result:
    # the same SQL always answers the same columns, so later results reuse it
    # instead of reading every column's name again.
    _row_maker: list[RowMaker[Any]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def of(cls, statement: ClauseElement) -> DriverStatement:
        compiled = statement.compile(dialect=_DIALECT)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError(f"not a SQL statement: {statement!r}")
        # By the names the SQL uses: a compared literal's is made up (status_1).
        names = compiled.bind_names
        if any(bind.expanding for bind in names):
            raise ValueError("expanding (IN list) parameters need SQLAlchemy's execution")
        return cls(
            str(compiled),
            {name: bind.effective_value for bind, name in names.items() if not bind.required},
            frozenset(name for bind, name in names.items() if bind.required),
        )

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        """The first row the statement answers (a named tuple), or None."""
        missing = self.required.difference(params)
        if missing:
            raise KeyError(f"parameters not given: {', '.join(sorted(missing))}")
        pooled = conn.connection
        driver = pooled.driver_connection
        if driver is None:  # only a connection already closed has none
            raise RuntimeError("the connection is closed")
        values = {**self.fixed, **params}
        try:
            cursor = self._cursor(pooled.info, driver)
            cursor.execute(self.sql, values)
            return cursor.fetchone()
        except psycopg.Error as error:
            raise _as_sqlalchemy_raises(conn, self.sql, values, error) from error

    def _cursor(self, info: dict[Any, Any], driver: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
        """This statement's cursor on ``driver``, made once and kept with the pooled
        connection: a cursor keeps what psycopg learnt adapting its values and rows,
        which a new cursor learns again on every execution (docs/PERFORMANCE.md,
        "Figures behind the code's design choices"). ``info`` lives as long as
        the pooled connection; a cursor of a previous driver connection is never used.
        """
        held = info.get(_CURSORS)
        if held is None or held[0] is not driver:
            held = info[_CURSORS] = (driver, {})
        cursors: dict[str, psycopg.Cursor[Any]] = held[1]
        cursor = cursors.get(self.sql)
        if cursor is None or cursor.closed:
            cursor = cursors[self.sql] = driver.cursor(row_factory=self._rows)
        return cursor

    def _rows(self, cursor: psycopg.Cursor[Any]) -> RowMaker[Any]:
        if self._row_maker:
            return self._row_maker[0]
        maker = namedtuple_row(cursor)
        if maker is not no_result:
            self._row_maker.append(maker)
        return maker


def _as_sqlalchemy_raises(
    conn: Connection,
    sql: str,
    values: Mapping[str, Any],
    error: psycopg.Error,
) -> BaseException:
    """The error SQLAlchemy raises for ``error`` (an ``OperationalError`` for a lost
    connection, an ``IntegrityError`` for a broken constraint...), with the pool told
    when the connection is dead, as SQLAlchemy's own execution does."""
    # Type-check exemption: SQLAlchemy types the error as an abstract DBAPI module's;
    # psycopg.Error is that class for this dialect.
    lost = conn.dialect.is_disconnect(error, conn.connection, None)  # type: ignore[arg-type]
    if lost and not conn.invalidated:
        conn.invalidate(error)
    return sa_exc.DBAPIError.instance(
        sql,
        dict(values),
        error,
        psycopg.Error,
        hide_parameters=conn.engine.hide_parameters,  # as the engine's own errors do
        connection_invalidated=lost,
        dialect=conn.dialect,
    )
