"""When projects are reconciled, and by which engine.

Every managed project has a row with the time it is next due. An engine's
loop claims due projects with a lease (``SELECT ... FOR UPDATE SKIP LOCKED``
where the database has it), reconciles them on a bounded pool and releases
each with its next due time: soon for a project close to a limit, later for
one far from all of them (kingsync.quota.reconcile). So however many engines
run, a project is reconciled by one engine at a time, and the projects of an
engine that died are due again once its leases expire.

The loop (kingsync.engine.loop, the one shape every engine loop has) wakes
when an admin asks for a project (RPC doorbell), when a slot frees, and at
least every [quota] poll_interval; it renews the leases of the rounds it
runs, and a round re-asserts its lease before it writes.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Sequence

from oslo_log import log as logging

from kingsync.db import clock
from kingsync.db.quota import projects
from kingsync.db.session import transaction
from kingsync.engine.loop import Lease, LeasedLoop
from kingsync.quota import clients, reconcile

LOG = logging.getLogger(__name__)


class QuotaLoop:
    """The engine's quota loop: kingsync.engine.loop.LeasedLoop over quota_projects.

    It is the loop's Work too: claims due projects (at most [quota]
    batch_size at a time), renews their leases, and runs one round of a
    project, which ends by releasing it with its next due time.
    """

    name = "quota"

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
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.db_url = db_url
        self._loop: LeasedLoop[str] = LeasedLoop(engine_id, self, workers, lease_seconds, poll_interval)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._loop.start()

    def wake(self) -> None:
        self._loop.wake()

    def stop(self, timeout: float) -> None:
        """Claim nothing more; a reconciliation still running keeps its lease, which expires."""
        if self._loop.stop(timeout):
            self.reconciler.close()
        else:
            # Rounds still reading would fail on a closed pool and log it as an
            # error; their leases expire and another engine does them again.
            LOG.info("Engine %s stopped with %d project round(s) running", self.engine_id, self.running())

    def running(self) -> int:
        return self._loop.running()

    @property
    def rounds(self) -> int:
        """Projects this engine has reconciled (tests, logs)."""
        return self._loop.ended

    # -- the loop's work --------------------------------------------------------------------

    def claim(self, engine_id: str, free: int, running: Sequence[str]) -> list[str]:
        with transaction(self.db_url) as session:
            return projects.claim_projects(session, engine_id, min(free, self.batch_size), self.lease_seconds)

    def key(self, project_id: str) -> str:
        return project_id

    def renew(self, project_id: str, engine_id: str) -> bool:
        with transaction(self.db_url) as session:
            return projects.renew_project(session, project_id, engine_id, self.lease_seconds)

    def run(self, project_id: str, lease: Lease) -> float | None:
        started = time.monotonic()
        next_in = self.reconciler.settings.near_interval
        status, error = reconcile.FAILED, None
        try:
            outcome = self.reconciler.reconcile(project_id, renew=lease.renew)
            status, error, next_in = outcome.status, outcome.error, outcome.next_in
            LOG.info(
                "Project %s reconciled in %.2f s: %s, %d regional limit(s) changed",
                project_id,
                time.monotonic() - started,
                status,
                outcome.changes,
            )
        except clients.LeaseLost:
            LOG.info("Project %s: taken over by another engine while being read; nothing written", project_id)
            return None
        except Exception as exc:
            LOG.exception("Project %s: reconciliation failed", project_id)
            error = str(exc)[:4000]
        due = clock.utcnow() + datetime.timedelta(seconds=next_in)
        try:
            with transaction(self.db_url) as session:
                if not projects.release_project(session, project_id, self.engine_id, due, status, error):
                    LOG.info("Project %s: lease lost before release; its new owner records the round", project_id)
        except Exception:
            LOG.exception("Project %s: could not record the round; it is due again when the lease expires", project_id)
        return None


def discover_projects(list_projects: Callable[[], Sequence[str]], db_url: str | None = None) -> int:
    """With [quota] manage_all_projects: every Keystone project becomes managed (held to the defaults)."""
    found = list(list_projects())
    with transaction(db_url) as session:
        added = projects.ensure_managed(session, found, "discovery")
    if added:
        LOG.info("Now managing %d more project(s) found in Keystone", added)
    return added
