"""The dispatcher: one thread that claims items and hands them to a bounded pool.

It wakes when the doorbell rings (``wake``), when a worker frees a slot, when
a retry this engine scheduled falls due, when a lease needs renewing, and at
least every [engine] poll_interval, which is what finds work nobody rang for:
a lost message, a dead engine's expired leases, another engine's retries.

It never claims more than it can start at once: at most ``workers`` items,
and at most ``per_region`` per target region, so work it cannot run yet stays
in the database for other engines.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent import futures

from oslo_log import log as logging

from kingsync.db import jobs
from kingsync.db.session import transaction

LOG = logging.getLogger(__name__)

# Renew a lease when a third of it is gone: two more chances before it expires.
RENEW_FRACTION = 1 / 3

RunItem = Callable[[jobs.Item], "float | None"]


@dataclasses.dataclass
class _Running:
    item: jobs.Item
    renewed_at: float  # time.monotonic() of the claim or the last renewal
    lease_lost: bool = False


class Dispatcher:
    def __init__(
        self,
        engine_id: str,
        run: RunItem,
        workers: int,
        per_region: int,
        lease_seconds: int,
        poll_interval: float,
        db_url: str | None = None,
    ) -> None:
        self.engine_id = engine_id
        self._run = run
        self.workers = workers
        self.per_region = per_region
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.db_url = db_url
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._next_due: float | None = None  # monotonic time of the earliest retry we put back
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._deadline = 0.0
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{engine_id}-worker")
        self._thread = threading.Thread(target=self._loop, name=f"{engine_id}-dispatcher", daemon=True)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (the doorbell)."""
        self._wakeup.set()

    def stop(self, timeout: float) -> None:
        """Claim nothing more; give running items up to ``timeout`` seconds to end.

        Items still running then keep their leases, which expire, and another
        engine takes them over. Nothing claimed is left unstarted.
        """
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wakeup.set()
        self._thread.join(timeout + self.poll_interval + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            left = [r.item.id for r in self._running.values()]
        if left:
            LOG.warning(
                "Engine %s stopped with items still running (their leases will expire): %s", self.engine_id, left
            )

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    # -- the loop -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            # Cleared before looking, so a doorbell rung while we look is not lost.
            self._wakeup.clear()
            stopping = self._stopping.is_set()
            if stopping and (not self.running() or time.monotonic() >= self._deadline):
                return
            try:
                self._renew_leases()
                if not stopping:
                    self._claim()
            except Exception:
                # Most likely the database is unreachable; leases will tell.
                LOG.exception("Engine %s could not claim or renew work; trying again", self.engine_id)
            self._wakeup.wait(self._timeout())

    def _timeout(self) -> float:
        timeout = min(self.poll_interval, self.lease_seconds * RENEW_FRACTION)
        with self._lock:
            if self._next_due is not None:
                timeout = min(timeout, self._next_due - time.monotonic())
        return max(timeout, 0.01)

    def _claim(self) -> None:
        with self._lock:
            free = self.workers - len(self._running)
            busy = collections.Counter(r.item.target_region for r in self._running.values())
            if self._next_due is not None and self._next_due <= time.monotonic():
                self._next_due = None
        if free <= 0:
            return
        with transaction(self.db_url) as session:
            claimed = jobs.claim_items(
                session, self.engine_id, free, self.lease_seconds, per_region=self.per_region, busy=busy
            )
        now = time.monotonic()
        for item in claimed:
            LOG.debug(
                "Engine %s claimed item %s (%s -> %s)", self.engine_id, item.id, item.resource, item.target_region
            )
            with self._lock:
                self._running[item.id] = _Running(item, now)
            self._pool.submit(self._work, item)

    def _work(self, item: jobs.Item) -> None:
        due: float | None = None
        try:
            due = self._run(item)
        except Exception:
            LOG.exception("Item %s: unexpected error; it is taken up again once its lease expires", item.id)
        finally:
            with self._lock:
                del self._running[item.id]
                if due is not None:
                    when = time.monotonic() + due
                    self._next_due = when if self._next_due is None else min(self._next_due, when)
            self._wakeup.set()  # a slot is free

    def _renew_leases(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [
                r
                for r in self._running.values()
                if not r.lease_lost and now - r.renewed_at >= self.lease_seconds * RENEW_FRACTION
            ]
        if not due:
            return
        with transaction(self.db_url) as session:
            kept = {r.item.id: jobs.renew_lease(session, r.item.id, self.engine_id, self.lease_seconds) for r in due}
        with self._lock:
            for running in due:
                if kept[running.item.id]:
                    running.renewed_at = now
                elif running.item.id in self._running:
                    # Either it ended a moment ago, or another engine took it over
                    # (then the worker's result is refused, and says so).
                    running.lease_lost = True
                    LOG.info("Item %s: lease not renewed: ended meanwhile, or taken over", running.item.id)
