"""INSERT ... ON CONFLICT on every database kingsync runs on, for any mapped
model: PostgreSQL and SQLite say ON CONFLICT DO NOTHING / DO UPDATE, MySQL
and MariaDB say ON DUPLICATE KEY UPDATE. One statement, so rows that several
engines insert at once are neither an error nor a read-then-write race.

    statement = upsert.insert(session, Model).values(...)
    session.execute(upsert.on_conflict(statement, ["key"], None))
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from kingsync.db.models import Base


def insert(session: Session, model: type[Base]) -> Insert:
    """The dialect's INSERT, which knows that dialect's ON CONFLICT form."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    return mysql.insert(model)


def on_conflict(statement: Insert, keys: list[str], values: dict[str, Any] | None) -> Insert:
    """On a duplicate of ``keys``, update ``values`` (None: keep the stored row).

    ``statement`` comes from ``insert``; ``keys`` are the columns of the
    primary key or unique index that conflicts (MySQL finds it on its own).
    """
    if isinstance(statement, mysql.Insert):
        # MySQL has no "do nothing": set the key to itself.
        return statement.on_duplicate_key_update(values or {keys[0]: statement.inserted[keys[0]]})
    assert isinstance(statement, (postgresql.Insert, sqlite.Insert))
    if values is None:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=values)
