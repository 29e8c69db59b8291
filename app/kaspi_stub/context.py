"""Per-request glue: one SQLite connection per request, closed when it ends."""

from __future__ import annotations

from flask import Flask, current_app, g

from app.kaspi_stub.store import Store, connect


def get_store() -> Store:
    if "kaspi_store" not in g:
        g.kaspi_store = Store(connect(current_app.config["KASPI_STUB_DB"]))
    store: Store = g.kaspi_store
    return store


def close_store(_exc: BaseException | None = None) -> None:
    store = g.pop("kaspi_store", None)
    if store is not None:
        store.conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_store)
