"""Transfers as leased work: the items of one resource, read once for every target.

The transfer loop claims, for each free slot, a due item of a kind that
moves data (images) together with every due sibling of it: the same job,
resource, source region and force, to other target regions
(kingsync.db.jobs.claim_transfers). The kind copies them in one go, so the
source's data is read once however many targets there are; each item still
ends on its own, as any item does (retried with backoff if its error may
pass), and keeps its own lease, renewed as one unit's.

While the data moves, each item's bytes done are written at most every
``progress_interval`` seconds, for the job's view.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Sequence
from typing import Any

from oslo_log import log as logging

from kingsync.db import jobs
from kingsync.db.models import ERROR
from kingsync.db.session import transaction
from kingsync.engine.loop import Lease
from kingsync.engine.worker import SyncWork
from kingsync.sync.task import Outcome, Progress

LOG = logging.getLogger(__name__)

Transfer = tuple[jobs.Item, ...]


class TransferWork(SyncWork):
    """kingsync.engine.loop.Work for transfers (``only`` the kinds that move data)."""

    def __init__(self, *args: Any, progress_interval: float = 2.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress_interval = progress_interval
        self._lock = threading.Lock()
        self._open: dict[str, set[str]] = {}  # a transfer's key -> its items not ended yet

    def claim(self, engine_id: str, free: int, running: Sequence[Any]) -> list[Any]:
        if not self.only:
            return []
        busy = collections.Counter(item.target_region for transfer in running for item in transfer)
        with transaction(self.db_url) as session:
            found = jobs.claim_transfers(
                session, engine_id, free, self.lease_seconds, only=self.only, per_region=self.per_region, busy=busy
            )
        transfers = [tuple(items) for items in found]
        with self._lock:
            for transfer in transfers:
                self._open[transfer[0].id] = {item.id for item in transfer}
        return transfers

    def key(self, unit: Any) -> str:
        transfer: Transfer = unit
        return transfer[0].id

    def renew(self, key: str, engine_id: str) -> bool:
        """Renew every item of the transfer that has not ended; False once none is this engine's."""
        with self._lock:
            open_items = sorted(self._open.get(key, ()))
        renewed = False
        with transaction(self.db_url) as session:
            for item_id in open_items:
                renewed = jobs.renew_lease(session, item_id, engine_id, self.lease_seconds) or renewed
        return renewed

    def run(self, unit: Any, lease: Lease) -> float | None:
        transfer: Transfer = unit
        try:
            return self._transfer(transfer)
        finally:
            with self._lock:
                self._open.pop(transfer[0].id, None)

    def _transfer(self, transfer: Transfer) -> float | None:
        live = [item for item in transfer if not self._spent(item)]
        if not live:
            return None
        kind = self.kinds.find(live[0].resource_type)
        if kind is None or kind.transfer is None:
            for item in live:
                self._finish(
                    item, Outcome.failure(ERROR, "kingsync cannot transfer resources of type %s" % item.resource_type)
                )
            return None
        progress = _Progress(self.engine_id, self.db_url, self.progress_interval)
        results: Sequence[Outcome | Exception]
        try:
            with transaction(self.db_url) as session:
                owner = jobs.job_owner(session, live[0].job_id)  # one job: one owner
            tasks = [self._task(kind, item, progress.of(item.id), owner) for item in live]
            results = kind.transfer(tasks)
        except Exception as error:
            LOG.exception("Transfer of %s %s failed", live[0].resource_type, live[0].resource)
            results = [error] * len(live)
        progress.flush()
        due: float | None = None
        for item, result in zip(live, results, strict=True):
            with self._lock:
                self._open.get(transfer[0].id, set()).discard(item.id)
            if isinstance(result, Exception):
                delay = self._failed(item, result)
                if delay is not None:
                    due = delay if due is None else min(due, delay)
            else:
                self._finish(item, result)
        return due


class _Progress:
    """Bytes done per item, written at most every ``interval`` seconds, and at
    once for an item's first report (its total shows as soon as it starts)."""

    def __init__(self, engine_id: str, db_url: str | None, interval: float) -> None:
        self.engine_id = engine_id
        self.db_url = db_url
        self.interval = interval
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[int, int]] = {}
        self._shown: set[str] = set()
        self._written_at = 0.0

    def of(self, item_id: str) -> Progress:
        return functools.partial(self.report, item_id)

    def report(self, item_id: str, done: int, total: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._latest[item_id] = (done, total)
            first = item_id not in self._shown  # every item shows its total as soon as it starts
            self._shown.add(item_id)
            if not first and now - self._written_at < self.interval:
                return
            self._written_at = now
        self.flush()

    def flush(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, {}
        if not latest:
            return
        try:
            with transaction(self.db_url) as session:
                jobs.record_progress(session, self.engine_id, latest)
        except Exception as exc:  # progress is for show: the copy goes on
            LOG.warning("Could not record the progress of items %s: %s", ", ".join(sorted(latest)), exc)
