"""Periodic work on an APScheduler 3 background scheduler.

Each task runs at most once at a time in this engine (max_instances=1) and
missed runs are folded into one (coalesce). Runs are moved by up to
[engine] periodic_jitter of their interval, so engines started together do
not all hit the database and the regions at the same moment. A task that
must not run in two engines at once for the same project has to claim its
work in the database, as job items do; the scheduler only says when to look.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from oslo_log import log as logging

from kingsync.db import clock, jobs
from kingsync.db.session import transaction

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PeriodicTask:
    name: str
    run: Callable[[], object]
    interval: float  # seconds


def finalize_jobs(interval: float, db_url: str | None = None) -> PeriodicTask:
    """Close jobs whose items have all ended (normally done as the last item ends)."""

    def run() -> int:
        with transaction(db_url) as session:
            closed = jobs.finalize_jobs(session)
        if closed:
            LOG.info("Closed %d job(s) whose items had all ended", closed)
        return closed

    return PeriodicTask("finalize_jobs", run, interval)


def purge_jobs(interval: float, retention_days: int, db_url: str | None = None) -> PeriodicTask:
    """Delete finished jobs older than ``retention_days`` (the id record stays)."""

    def run() -> int:
        cutoff = clock.utcnow() - datetime.timedelta(days=retention_days)
        purged = 0
        while True:
            # Small batches, each its own transaction: no long lock on the job tables.
            with transaction(db_url) as session:
                batch = jobs.purge_jobs(session, cutoff)
            purged += batch
            if batch == 0:
                break
        if purged:
            LOG.info("Purged %d finished job(s) older than %d day(s)", purged, retention_days)
        return purged

    return PeriodicTask("purge_jobs", run, interval)


class Periodic:
    def __init__(self, tasks: Sequence[PeriodicTask], jitter: float) -> None:
        self._scheduler = BackgroundScheduler(
            timezone=datetime.UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            executors={"default": {"type": "threadpool", "max_workers": max(1, len(tasks))}},
        )
        for task in tasks:
            trigger = IntervalTrigger(seconds=task.interval, jitter=task.interval * jitter or None)
            self._scheduler.add_job(_logged(task), trigger=trigger, id=task.name, name=task.name)

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        # Do not wait: a running task is cut short by the process ending, and
        # every task is written to be safe to interrupt and run again.
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


def _logged(task: PeriodicTask) -> Callable[[], None]:
    def run() -> None:
        try:
            task.run()
        except Exception:
            LOG.exception("Periodic task %s failed; it runs again in %.0f s", task.name, task.interval)

    return run
