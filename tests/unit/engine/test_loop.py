"""The engine's leased loop on a real SQLite database, over the sync items'
queue, with stand-in work instead of regions."""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kingsync.db import jobs, migration
from kingsync.db.models import IN_PROGRESS, SUCCESS, SyncItem
from kingsync.db.session import transaction
from kingsync.engine.loop import Lease, LeasedLoop

ENGINE = "engine-under-test"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    return url


def _job(db_url: str, keypairs: int, targets: list[str]) -> jobs.Job:
    entry = jobs.Entry("keypair", [f"key{n}" for n in range(keypairs)], "R0", targets)
    with transaction(db_url) as session:
        return jobs.create_job(session, "project", "user", [entry])


def _rows(db_url: str) -> list[SyncItem]:
    with transaction(db_url) as session:
        return list(session.scalars(select(SyncItem)))


def _wait(probe: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Items:
    """The sync items' queue, as kingsync.engine.worker.SyncWork claims it, running ``run`` on each."""

    name = "test"

    def __init__(self, db_url: str, run: Callable[[jobs.Item], float | None], per_region: int, lease: float) -> None:
        self.db_url = db_url
        self._run = run
        self.per_region = per_region
        self.lease = lease

    def claim(self, engine_id: str, free: int, running: list[jobs.Item]) -> list[jobs.Item]:
        busy = collections.Counter(item.target_region for item in running)
        with transaction(self.db_url) as session:
            return jobs.claim_items(session, engine_id, free, self.lease, per_region=self.per_region, busy=busy)

    def key(self, item: jobs.Item) -> str:
        return item.id

    def renew(self, key: str, engine_id: str) -> bool:
        with transaction(self.db_url) as session:
            return jobs.renew_lease(session, key, engine_id, self.lease)

    def run(self, item: jobs.Item, lease: Lease) -> float | None:
        return self._run(item)


class Work:
    """Stand-in for a sync: counts what runs at once, then finishes the item."""

    def __init__(self, db_url: str, seconds: float = 0.05) -> None:
        self.db_url = db_url
        self.seconds = seconds
        self.lock = threading.Lock()
        self.now: collections.Counter[str] = collections.Counter()
        self.peak: collections.Counter[str] = collections.Counter()
        self.runs: collections.Counter[str] = collections.Counter()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, item: jobs.Item) -> float | None:
        with self.lock:
            self.runs[item.id] += 1
            self.now[item.target_region] += 1
            self.now["*"] += 1
            for key in (item.target_region, "*"):
                self.peak[key] = max(self.peak[key], self.now[key])
        self.release.wait()
        time.sleep(self.seconds)
        with self.lock:
            self.now[item.target_region] -= 1
            self.now["*"] -= 1
        with transaction(self.db_url) as session:
            jobs.finish_item(session, item.id, ENGINE, SUCCESS, "created")
        return None


def _loop(
    db_url: str,
    work: Callable[[jobs.Item], float | None],
    workers: int = 8,
    per_region: int = 8,
    lease_seconds: float = 60,
    poll_interval: float = 0.1,
) -> LeasedLoop[jobs.Item]:
    items = Items(db_url, work, per_region, lease_seconds)
    return LeasedLoop(ENGINE, items, workers=workers, lease_seconds=lease_seconds, poll_interval=poll_interval)


@contextlib.contextmanager
def running(
    db_url: str, work: Callable[[jobs.Item], float | None], **options: float
) -> Iterator[LeasedLoop[jobs.Item]]:
    loop = _loop(db_url, work, **options)  # type: ignore[arg-type]
    loop.start()
    try:
        yield loop
    finally:
        loop.stop(timeout=5)


def _all_done(db_url: str) -> bool:
    return all(row.status == SUCCESS for row in _rows(db_url))


def test_no_more_than_per_region_items_run_against_one_region_at_once(db_url: str) -> None:
    job = _job(db_url, keypairs=8, targets=["R1", "R2"])
    work = Work(db_url)

    with running(db_url, work, workers=8, per_region=2):
        _wait(lambda: _all_done(db_url))

    assert (work.peak["R1"], work.peak["R2"]) == (2, 2)
    assert sorted(work.runs.values()) == [1] * len(job.items)


def test_no_more_than_workers_items_run_at_once(db_url: str) -> None:
    _job(db_url, keypairs=6, targets=["R1", "R2", "R3"])
    work = Work(db_url)

    with running(db_url, work, workers=3, per_region=10):
        _wait(lambda: _all_done(db_url))

    assert work.peak["*"] == 3


def test_work_it_cannot_start_stays_unclaimed_for_other_engines(db_url: str) -> None:
    _job(db_url, keypairs=5, targets=["R1"])
    work = Work(db_url)
    work.release.clear()

    with running(db_url, work, workers=8, per_region=2):
        _wait(lambda: work.peak["R1"] == 2)
        time.sleep(0.3)  # a few more polls
        owners = collections.Counter(row.lease_owner for row in _rows(db_url))
        work.release.set()

    assert owners == {ENGINE: 2, None: 3}


def test_stop_lets_running_items_finish_and_leaves_the_rest_unclaimed(db_url: str) -> None:
    _job(db_url, keypairs=3, targets=["R1"])
    work = Work(db_url)
    work.release.clear()
    loop = _loop(db_url, work, workers=1, per_region=1)
    loop.start()
    _wait(lambda: loop.running() == 1)

    stopper = threading.Thread(target=loop.stop, args=(10,))
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive()  # waiting for the running item
    work.release.set()
    stopper.join(10)

    rows = _rows(db_url)
    assert sorted(row.status for row in rows) == [IN_PROGRESS, IN_PROGRESS, SUCCESS]
    assert [(row.lease_owner, row.started_at) for row in rows if row.status == IN_PROGRESS] == [(None, None)] * 2


def test_stop_gives_up_waiting_after_its_timeout_and_the_lease_is_left_to_expire(db_url: str) -> None:
    _job(db_url, keypairs=1, targets=["R1"])
    work = Work(db_url)
    work.release.clear()
    loop = _loop(db_url, work, workers=1, per_region=1)
    loop.start()
    _wait(lambda: loop.running() == 1)

    started = time.monotonic()
    loop.stop(timeout=0.3)
    assert time.monotonic() - started < 2

    (row,) = _rows(db_url)
    assert (row.status, row.lease_owner) == (IN_PROGRESS, ENGINE)
    work.release.set()


def test_a_long_item_keeps_its_lease_while_it_runs(db_url: str) -> None:
    _job(db_url, keypairs=1, targets=["R1"])
    work = Work(db_url, seconds=2.5)
    stolen: list[jobs.Item] = []

    with running(db_url, work, lease_seconds=1):
        _wait(lambda: sum(work.runs.values()) == 1)
        while not _all_done(db_url):
            with transaction(db_url) as session:
                stolen += jobs.claim_items(session, "another-engine", 1, 60)
            time.sleep(0.1)

    assert stolen == []
    assert list(work.runs.values()) == [1]


def test_an_expired_lease_of_a_dead_engine_is_taken_over(db_url: str) -> None:
    _job(db_url, keypairs=1, targets=["R1"])
    with transaction(db_url) as session:
        (held,) = jobs.claim_items(session, "dead-engine", 1, lease_seconds=1)
    work = Work(db_url)

    with running(db_url, work, poll_interval=0.2):
        _wait(lambda: _all_done(db_url))

    assert list(work.runs) == [held.id]


def test_a_retry_that_falls_due_is_run_without_waiting_for_the_next_poll(db_url: str) -> None:
    _job(db_url, keypairs=1, targets=["R1"])
    attempts: list[float] = []
    finish = Work(db_url, seconds=0)

    def flaky(item: jobs.Item) -> float | None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            with transaction(db_url) as session:
                jobs.retry_item(session, item.id, ENGINE, "503", delay_seconds=0.3)
            return 0.3
        return finish(item)

    with running(db_url, flaky, poll_interval=30):
        _wait(lambda: _all_done(db_url), timeout=5)

    assert 0.3 <= attempts[1] - attempts[0] < 2


def test_an_unexpected_error_in_one_item_does_not_stop_the_others(db_url: str) -> None:
    _job(db_url, keypairs=3, targets=["R1"])
    work = Work(db_url)
    broken: list[str] = []

    def sometimes_broken(item: jobs.Item) -> float | None:
        if not broken:
            broken.append(item.id)
            raise RuntimeError("a bug")
        return work(item)

    with running(db_url, sometimes_broken):
        _wait(lambda: sum(work.runs.values()) == 2)

    statuses = {row.id: (row.status, row.lease_owner) for row in _rows(db_url)}
    assert statuses.pop(broken[0]) == (IN_PROGRESS, ENGINE)  # taken up again once its lease expires
    assert set(statuses.values()) == {(SUCCESS, None)}
