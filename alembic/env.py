"""Alembic environment for kingsync's schema.

kingsync.db.migration configures Alembic in code and hands this script an open
connection (``config.attributes["connection"]``), so it depends neither on an
alembic.ini nor on the working directory. Run as plain ``alembic`` from a
checkout (alembic.ini, for writing new revisions: README.md), it connects to
``-x url=...``, else ``sqlalchemy.url``, else kingsync's [database] connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from kingsync.db.models import Base

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them; batch mode lets later
        # revisions use op.alter_column and friends there too.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from kingsync.conf import CONF

    return str(CONF.database.connection)


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(_url())
    try:
        with engine.begin() as own:
            _migrate(own)
    finally:
        engine.dispose()


run()
