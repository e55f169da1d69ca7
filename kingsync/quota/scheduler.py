"""When projects are reconciled, and by which engine.

Every managed project has a row with the time it is next due. An engine's
loop claims due projects with a lease (``SELECT ... FOR UPDATE SKIP LOCKED``
where the database has it), reconciles them on a bounded pool and releases
each with its next due time: soon for a project close to a limit, later for
one far from all of them (kingsync.quota.reconcile). So however many engines
run, a project is reconciled by one engine at a time, and the projects of an
engine that died are due again once its leases expire.

The loop wakes when an admin asks for a project (RPC doorbell), when a slot
frees, and at least every [quota] poll_interval.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures

from oslo_log import log as logging

from kingsync.db import clock
from kingsync.db.quota import projects
from kingsync.db.session import transaction
from kingsync.quota import reconcile

LOG = logging.getLogger(__name__)


class QuotaLoop:
    def __init__(
        self,
        engine_id: str,
        reconciler: reconcile.Reconciler,
        workers: int,
        batch_size: int,
        lease_seconds: int,
        poll_interval: float,
        db_url: str | None = None,
    ) -> None:
        self.engine_id = engine_id
        self.reconciler = reconciler
        self.workers = workers
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.db_url = db_url
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{engine_id}-quota")
        self._thread = threading.Thread(target=self._loop, name=f"{engine_id}-quota-loop", daemon=True)
        self.rounds = 0  # projects reconciled by this engine (tests, logs)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self, timeout: float) -> None:
        """Claim nothing more; a reconciliation still running keeps its lease, which expires."""
        self._stopping.set()
        self._wakeup.set()
        self._thread.join(timeout + self.poll_interval + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.running():
            # Rounds still reading would fail on a closed pool and log it as an
            # error; their leases expire and another engine does them again.
            LOG.info("Engine %s stopped with %d project round(s) running", self.engine_id, self.running())
        else:
            self.reconciler.close()

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self._claim()
            except Exception:
                LOG.exception("Engine %s could not claim projects to reconcile; trying again", self.engine_id)
            self._wakeup.wait(self.poll_interval)

    def _claim(self) -> None:
        with self._lock:
            free = min(self.workers - len(self._running), self.batch_size)
        if free <= 0:
            return
        with transaction(self.db_url) as session:
            claimed = projects.claim_projects(session, self.engine_id, free, self.lease_seconds)
        for project_id in claimed:
            with self._lock:
                self._running.add(project_id)
            self._pool.submit(self._work, project_id)

    def _work(self, project_id: str) -> None:
        started = time.monotonic()
        next_in = self.reconciler.settings.near_interval
        status, error = reconcile.FAILED, None
        try:
            outcome = self.reconciler.reconcile(project_id, renew=lambda: self._renew(project_id))
            status, error, next_in = outcome.status, outcome.error, outcome.next_in
            LOG.info(
                "Project %s reconciled in %.2f s: %s, %d regional limit(s) changed",
                project_id,
                time.monotonic() - started,
                status,
                outcome.changes,
            )
        except reconcile.LeaseLost:
            LOG.info("Project %s: taken over by another engine while being read; nothing written", project_id)
            return
        except Exception as exc:
            LOG.exception("Project %s: reconciliation failed", project_id)
            error = str(exc)[:4000]
        finally:
            with self._lock:
                self._running.discard(project_id)
                self.rounds += 1
            self._wakeup.set()
        due = clock.utcnow() + datetime.timedelta(seconds=next_in)
        try:
            with transaction(self.db_url) as session:
                if not projects.release_project(session, project_id, self.engine_id, due, status, error):
                    LOG.info("Project %s: lease lost before release; its new owner records the round", project_id)
        except Exception:
            LOG.exception("Project %s: could not record the round; it is due again when the lease expires", project_id)

    def _renew(self, project_id: str) -> bool:
        with transaction(self.db_url) as session:
            return projects.renew_project(session, project_id, self.engine_id, self.lease_seconds)


def discover_projects(list_projects: Callable[[], Sequence[str]], db_url: str | None = None) -> int:
    """With [quota] manage_all_projects: every Keystone project becomes managed (held to the defaults)."""
    found = list(list_projects())
    with transaction(db_url) as session:
        added = projects.ensure_managed(session, found, "discovery")
    if added:
        LOG.info("Now managing %d more project(s) found in Keystone", added)
    return added
