"""The engine's one loop shape: claim leased work from the database, run it
on a bounded pool, keep the leases alive while it runs.

Every kind of work an engine does (sync items, the transfers among them,
quota projects) is a ``Work``: how to claim units from its table (a
kingsync.db.queue.Queue), how to renew a lease, and how to run one unit.
A ``LeasedLoop`` is one thread that, for one Work:

- claims no more than it can start at once (free slots of its pool; the
  Work may bound that further, e.g. per target region), so work it cannot
  run yet stays in the database for other engines;
- renews the lease of every running unit when a third of it is gone, so a
  unit is taken over only when its engine stopped renewing (it died, or
  lost the database) — two more chances before a lease expires;
- wakes when the doorbell rings (``wake``), when a unit ends, when something
  a unit put back falls due, when a lease needs renewing, and at least every
  poll interval, which is what finds work nobody rang for: a lost message,
  a dead engine's expired leases, another engine's retries.

A unit is given a ``Lease``: work that must not write once another engine
has taken over (a quota round) asks it to ``renew`` before writing.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import threading
import time
from concurrent import futures
from typing import Generic, Protocol, TypeVar

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# Renew a lease when a third of it is gone: two more chances before it expires.
RENEW_FRACTION = 1 / 3

Unit = TypeVar("Unit")


class Work(Protocol[Unit]):
    """One kind of leased work. Each method runs its own transaction."""

    name: str  # for thread names and logs: "sync", "transfer", "quota"

    def claim(self, engine_id: str, free: int, running: collections.abc.Sequence[Unit]) -> list[Unit]:
        """Lease up to ``free`` units to this engine (``running``: the units it runs now)."""
        ...

    def key(self, unit: Unit) -> str: ...

    def renew(self, key: str, engine_id: str) -> bool:
        """Extend this engine's lease; False if the unit is no longer this engine's."""
        ...

    def run(self, unit: Unit, lease: Lease) -> float | None:
        """Run one unit to its end (or back into the queue); the seconds until
        something it put back falls due, if it did."""
        ...


class Lease:
    """A running unit's lease, as the loop keeps it."""

    def __init__(self, key: str, renew: collections.abc.Callable[[], bool]) -> None:
        self.key = key
        self._renew = renew
        self.renewed_at = time.monotonic()
        self.lost = False

    def renew(self) -> bool:
        """Renew now; False (and ``lost``) if another engine has the unit."""
        if self.lost:
            return False
        if self._renew():
            self.renewed_at = time.monotonic()
            return True
        self.lost = True
        return False


@dataclasses.dataclass
class _Running(Generic[Unit]):
    unit: Unit
    lease: Lease


class LeasedLoop(Generic[Unit]):
    def __init__(
        self, engine_id: str, work: Work[Unit], workers: int, lease_seconds: float, poll_interval: float
    ) -> None:
        self.engine_id = engine_id
        self.work = work
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self._lock = threading.Lock()
        self._running: dict[str, _Running[Unit]] = {}
        self._next_due: float | None = None  # monotonic time of the earliest unit put back
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._deadline = 0.0
        name = f"{engine_id}-{work.name}"
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._thread = threading.Thread(target=self._loop, name=f"{name}-loop", daemon=True)
        self.ended = 0  # units this loop has run to an end or back into the queue (tests, logs)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (the doorbell)."""
        self._wakeup.set()

    def stop(self, timeout: float) -> bool:
        """Claim nothing more; give running units up to ``timeout`` seconds to end.

        Units still running then keep their leases, which expire, and another
        engine takes them over. Nothing claimed is left unstarted. True when
        nothing is left running.
        """
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wakeup.set()
        if self._thread.is_alive():  # not when stopped before it started (SIGTERM while starting)
            self._thread.join(timeout + self.poll_interval + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            left = list(self._running)
        if left:
            LOG.warning(
                "Engine %s stopped its %s loop with work still running (its leases will expire): %s",
                self.engine_id,
                self.work.name,
                left,
            )
        return not left

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
                LOG.exception(
                    "Engine %s could not claim or renew %s work; trying again", self.engine_id, self.work.name
                )
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
            running = [r.unit for r in self._running.values()]
            if self._next_due is not None and self._next_due <= time.monotonic():
                self._next_due = None
        if free <= 0:
            return
        for unit in self.work.claim(self.engine_id, free, running):
            key = self.work.key(unit)
            lease = Lease(key, functools.partial(self.work.renew, key, self.engine_id))
            LOG.debug("Engine %s claimed %s %s", self.engine_id, self.work.name, key)
            with self._lock:
                self._running[key] = _Running(unit, lease)
            self._pool.submit(self._run, key, unit, lease)

    def _run(self, key: str, unit: Unit, lease: Lease) -> None:
        due: float | None = None
        try:
            due = self.work.run(unit, lease)
        except Exception:
            LOG.exception(
                "Engine %s: %s %s failed unexpectedly; it is taken up again once its lease expires",
                self.engine_id,
                self.work.name,
                key,
            )
        finally:
            with self._lock:
                del self._running[key]
                self.ended += 1
                if due is not None:
                    when = time.monotonic() + due
                    self._next_due = when if self._next_due is None else min(self._next_due, when)
            self._wakeup.set()  # a slot is free

    def _renew_leases(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [
                r.lease
                for r in self._running.values()
                if not r.lease.lost and now - r.lease.renewed_at >= self.lease_seconds * RENEW_FRACTION
            ]
        for lease in due:
            if not lease.renew():
                # Either it ended a moment ago, or another engine took it over
                # (then the unit's result is refused, and says so).
                LOG.info("%s %s: lease not renewed: ended meanwhile, or taken over", self.work.name, lease.key)
