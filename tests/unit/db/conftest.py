"""Database fixtures: the same tests on SQLite, PostgreSQL and MariaDB/MySQL.

SQLite gets a fresh file per test. Each server gets one database per run for
these tests alone, migrated once and emptied before each test.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from kingsync.db import clock as db_clock
from kingsync.db import migration, session
from kingsync.db.models import Base
from tests.services.fixtures import new_database


@pytest.fixture(scope="session")
def postgresql_jobs_url(postgresql_server: str) -> Iterator[str]:
    with new_database(postgresql_server, label="jobs") as url:
        yield url


@pytest.fixture(scope="session")
def mysql_jobs_url(mysql_server: str) -> Iterator[str]:
    with new_database(mysql_server, label="jobs") as url:
        yield url


def _emptied(url: str) -> str:
    migration.upgrade(url)  # a no-op once the run's database is at head
    with session.get_engine(url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return url


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty kingsync database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/kingsync.sqlite"
        migration.upgrade(url)
        yield url
        session.get_engine(url).dispose()
        return
    yield _emptied(request.getfixturevalue(f"{request.param}_jobs_url"))


@pytest.fixture(params=["postgresql", "mysql"])
def server_db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on a server, where engines really run in parallel."""
    return _emptied(request.getfixturevalue(f"{request.param}_jobs_url"))


class Clock:
    """The repository's clock, moved by hand (leases and retry delays)."""

    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 1, 1, 12, 0, 0)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(db_clock, "utcnow", fake)
    yield fake
