"""Extension singletons, bound to the app in the factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Deterministic constraint names keep Alembic migrations reviewable and reversible.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()

if TYPE_CHECKING:
    from sqlalchemy.orm import DeclarativeBase

    class Model(DeclarativeBase):
        """How the type checker sees `db.Model`.

        Flask-SQLAlchemy builds `db.Model` at runtime (a declarative base plus its
        `__tablename__` and bind-key mixins), so mypy cannot use the attribute as a base
        class; a `DeclarativeBase` gives it the same typed-ORM view of the mapped columns.
        """

else:
    Model = db.Model


def init_redis(app: Flask) -> None:
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2
    )


def get_redis() -> redis.Redis:
    client: redis.Redis = current_app.extensions["redis"]
    return client
