"""Several engines on one database share the work and never run an item twice."""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from kingsync.db import migration, session
from kingsync.db.models import CREATED, SUCCESS
from kingsync.sync import kinds
from kingsync.sync.task import Outcome, Task
from tests.functional.engine.conftest import EngineFactory, Env

KEYPAIRS = 15
TARGETS = ["RegionTwo", "RegionThree"]


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, fresh_env: Env) -> Iterator[Env]:
    """fresh_env on SQLite (its file) or on a PostgreSQL database of this run."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgresql_url")
        migration.upgrade(url)
        with session.get_engine(url).begin() as connection:
            connection.execute(sa.text("DELETE FROM sync_items"))
            connection.execute(sa.text("DELETE FROM sync_jobs"))
        fresh_env.db_url = url
        fresh_env.overrides.set("database", connection=url)
    yield fresh_env


class Counted:
    """The keypair kind, noting (item id, engine id) of every item any engine runs."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        real = kinds.KINDS.get("keypair")
        self.kinds = kinds.Registry([dataclasses.replace(real, sync=self._sync(real.sync))])

    def _sync(self, real: Callable[[Task], Outcome]) -> Callable[[Task], Outcome]:
        def counted(task: Task) -> Outcome:
            # Worker threads are named after their engine and loop ("engine-a-sync_0").
            engine_id = threading.current_thread().name.rsplit("-sync", 1)[0]
            with self._lock:
                self.runs.append((task.item.id, engine_id))
            return real(task)

        return counted


@pytest.fixture
def counted() -> Counted:
    return Counted()


def test_two_engines_on_one_database_never_run_an_item_twice(
    shared_db: Env, engine: EngineFactory, counted: Counted
) -> None:
    env = shared_db
    env.control.set_faults("RegionTwo", latency_ms=20)
    env.control.set_faults("RegionThree", latency_ms=20)
    env.engine_options(workers=3, per_region_concurrency=2, poll_interval=0.1)
    names = [env.create_keypair("RegionOne") for _ in range(KEYPAIRS)]
    env.control.reset_stats()
    job_id = env.create_job(names, TARGETS)

    with engine(engine_id="engine-a", kinds=counted.kinds), engine(engine_id="engine-b", kinds=counted.kinds):
        job = env.wait_for(job_id, timeout=60)

    assert job.status == SUCCESS
    assert {(item.status, item.result) for item in job.items} == {(SUCCESS, CREATED)}
    per_item = collections.Counter(item_id for item_id, _ in counted.runs)
    assert sorted(per_item.values()) == [1] * len(job.items)  # every item, run once
    assert set(per_item) == {item.id for item in job.items}
    stats = env.control.stats()
    assert [stats[region].get("compute POST", 0) for region in TARGETS] == [KEYPAIRS, KEYPAIRS]


def test_two_engines_on_one_database_share_the_work(shared_db: Env, engine: EngineFactory, counted: Counted) -> None:
    env = shared_db
    env.control.set_faults("RegionTwo", latency_ms=50)
    env.engine_options(workers=2, per_region_concurrency=2, poll_interval=0.1)
    names = [env.create_keypair("RegionOne") for _ in range(12)]
    job_id = env.create_job(names, ["RegionTwo"])

    with engine(engine_id="engine-a", kinds=counted.kinds), engine(engine_id="engine-b", kinds=counted.kinds):
        env.wait_for(job_id, timeout=60)

    per_engine = collections.Counter(engine_id for _, engine_id in counted.runs)
    # Alone, an engine with 2 workers would need 6 rounds of 100+ ms; the
    # other one finds work at its first poll.
    assert set(per_engine) == {"engine-a", "engine-b"}
    assert sum(per_engine.values()) == 12
