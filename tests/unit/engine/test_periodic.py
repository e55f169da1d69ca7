"""Periodic work: the schedule, and the finalize_jobs sweep."""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path

from sqlalchemy import update

from kingsync.db import clock, jobs, migration
from kingsync.db.models import FAILURE, IN_PROGRESS, SUCCESS, SyncItem, SyncJob
from kingsync.db.session import transaction
from kingsync.engine import periodic


class Recorder:
    """A periodic task body that counts its runs, and may fail each time."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.runs += 1
        if self.fail:
            raise RuntimeError("boom")


def _runs_after(body: Recorder, wanted: int, seconds: float) -> int:
    scheduler = periodic.Periodic([periodic.PeriodicTask("task", body, interval=0.2)], jitter=0.0)
    scheduler.start()
    try:
        deadline = time.monotonic() + seconds
        while body.runs < wanted and time.monotonic() < deadline:
            time.sleep(0.02)
        return body.runs
    finally:
        scheduler.stop()


def test_a_periodic_task_runs_again_at_its_interval() -> None:
    assert _runs_after(Recorder(), wanted=3, seconds=3) >= 3


def test_a_failing_periodic_task_keeps_its_schedule() -> None:
    assert _runs_after(Recorder(fail=True), wanted=2, seconds=3) >= 2


def test_the_sweep_closes_a_job_whose_items_ended_without_closing_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    entry = jobs.Entry("keypair", ["a", "b"], "R0", ["R1"])
    with transaction(url) as session:
        job = jobs.create_job(session, "p", "u", [entry])
        # Items ended, job left open: what a crash between the two would leave.
        session.execute(update(SyncItem).values(status=SUCCESS))
        session.execute(update(SyncItem).where(SyncItem.resource == "b").values(status=FAILURE))

    closed = periodic.finalize_jobs(60, url).run()

    with transaction(url) as session:
        assert jobs.get_job(session, job.id, jobs.Owner("p", "u")).status == FAILURE
    assert closed == 1


def test_the_sweep_leaves_jobs_with_open_items_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    with transaction(url) as session:
        job = jobs.create_job(session, "p", "u", [jobs.Entry("keypair", ["a"], "R0", ["R1"])])

    assert periodic.finalize_jobs(60, url).run() == 0
    with transaction(url) as session:
        assert jobs.get_job(session, job.id, jobs.Owner("p", "u")).status == IN_PROGRESS


def test_the_purge_deletes_finished_jobs_past_their_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    long_ago = clock.utcnow() - datetime.timedelta(days=31)
    with transaction(url) as session:
        old, fresh, running = (
            jobs.create_job(session, "p", "u", [jobs.Entry("keypair", [name], "R0", ["R1"])])
            for name in ("old", "fresh", "running")
        )
        session.execute(update(SyncJob).where(SyncJob.id == old.id).values(status=SUCCESS, updated_at=long_ago))
        session.execute(update(SyncJob).where(SyncJob.id == fresh.id).values(status=SUCCESS, updated_at=clock.utcnow()))
        # Still running after a month (a region down all along): never purged.
        session.execute(update(SyncJob).where(SyncJob.id == running.id).values(updated_at=long_ago))

    assert periodic.purge_jobs(3600, 30, url).run() == 1

    with transaction(url) as session:
        left = {job.id for job in jobs.list_jobs(session, jobs.Owner("p", "u"))}
    assert left == {fresh.id, running.id}
