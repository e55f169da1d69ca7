"""Engines and transactions. One SQLAlchemy engine per database URL per process."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from kingsync.conf import CONF


@functools.cache
def get_engine(url: str | None = None) -> Engine:
    url = url or CONF.database.connection
    if url.startswith("sqlite"):
        # One writer at a time; wait for the lock rather than fail at once.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_size=CONF.database.pool_size, pool_timeout=CONF.database.pool_timeout, pool_pre_ping=True, future=True
    )


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@functools.cache
def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextlib.contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    session = _factory(url or CONF.database.connection)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
