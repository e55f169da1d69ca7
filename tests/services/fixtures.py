"""Fixtures for the services kingsync runs on in production: PostgreSQL,
MariaDB/MySQL and RabbitMQ, on loopback as in CI.

Loaded for every test layer by ``pytest_plugins`` in tests/conftest.py. Each
service is checked once per run. When one is absent, the tests needing it
skip with a message naming it; under CI=true they fail instead, because CI
must prove the real thing.

Every run makes its own databases and RPC names (``RUN_ID``), so parallel
runs on one machine never meet. Other servers can be given as
KINGSYNC_TEST_POSTGRESQL and KINGSYNC_TEST_MYSQL (SQLAlchemy URLs of an
account that may create databases) and KINGSYNC_TEST_RABBIT (a transport URL).
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

# isort: off
# Loaded before any test module (tests/conftest.py's pytest_plugins): choose
# oslo.service's threading backend before oslo.messaging can choose eventlet.
from kingsync import backend  # noqa: F401

import kombu
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kingsync.db import session
from tests.conftest import IN_CI

# isort: on

POSTGRESQL = os.environ.get("KINGSYNC_TEST_POSTGRESQL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MYSQL = os.environ.get("KINGSYNC_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4")
RABBIT = os.environ.get("KINGSYNC_TEST_RABBIT", "rabbit://guest:guest@127.0.0.1:5672/")

RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"


def unavailable(service: str, why: object) -> NoReturn:
    message = f"{service} is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the service tests must run)", pytrace=False)
    pytest.skip(message)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _check_database(service: str, url: str) -> str:
    engine = sa.create_engine(
        url, connect_args={"connect_timeout": 5}, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            _drop_abandoned(connection)
    except sa.exc.SQLAlchemyError as error:
        unavailable(service, f"{_shown(url)}: {getattr(error, 'orig', error)}")
    finally:
        engine.dispose()
    return url


def _drop_abandoned(connection: sa.Connection) -> None:
    """Drop the databases of earlier runs on this machine that were killed before their teardown."""
    if connection.engine.url.host not in ("127.0.0.1", "localhost", "::1"):
        return  # another machine's runs may be alive there: their process ids mean nothing here
    mysql = connection.dialect.name == "mysql"
    listing = "SHOW DATABASES" if mysql else "SELECT datname FROM pg_database"
    for (name,) in connection.execute(sa.text(listing)):
        found = re.fullmatch(r"kingsync_test_(\d+)_[0-9a-f]{8}(_\w+)?", name)
        if found and not _alive(int(found.group(1))):
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}" + ("" if mysql else " WITH (FORCE)")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@pytest.fixture(scope="session")
def postgresql_server() -> str:
    """SQLAlchemy URL of a PostgreSQL account that may create databases."""
    return _check_database("PostgreSQL", POSTGRESQL)


@pytest.fixture(scope="session")
def mysql_server() -> str:
    """SQLAlchemy URL of a MariaDB/MySQL account that may create databases."""
    return _check_database("MariaDB/MySQL", MYSQL)


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    """oslo.messaging transport URL of a reachable RabbitMQ."""
    try:
        with kombu.Connection(amqp_url(RABBIT), connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # kombu raises whatever its transport raises
        where = urlsplit(RABBIT)
        unavailable("RabbitMQ", f"{where.hostname}:{where.port or 5672}: {error}")
    return RABBIT


def amqp_url(transport_url: str) -> str:
    """The kombu URL of an oslo.messaging rabbit:// transport URL."""
    return "amqp" + transport_url.removeprefix("rabbit")


@contextlib.contextmanager
def new_database(server: str, label: str = "") -> Iterator[str]:
    """A database of its own on ``server``, dropped afterwards; yields its URL."""
    name = f"kingsync_test_{RUN_ID}{'_' + label if label else ''}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    mysql = admin.dialect.name == "mysql"
    create = f"CREATE DATABASE {name}" + (" CHARACTER SET utf8mb4" if mysql else "")
    with admin.connect() as connection:
        connection.execute(sa.text(create))
    try:
        yield url
    finally:
        # kingsync keeps one pooled engine per URL; close its connections first.
        session.get_engine(url).dispose()
        drop = f"DROP DATABASE IF EXISTS {name}" + ("" if mysql else " WITH (FORCE)")
        with admin.connect() as connection:
            connection.execute(sa.text(drop))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url(postgresql_server: str) -> Iterator[str]:
    """An empty PostgreSQL database for this test run."""
    with new_database(postgresql_server) as url:
        yield url


@pytest.fixture(scope="session")
def mysql_url(mysql_server: str) -> Iterator[str]:
    """An empty MariaDB/MySQL database for this test run."""
    with new_database(mysql_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each kind with nothing in it, for this test alone."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/kingsync.sqlite"
        yield url
        session.get_engine(url).dispose()
        return
    server = request.getfixturevalue(f"{request.param}_server")
    with new_database(server, label=uuid.uuid4().hex[:8]) as url:
        yield url
