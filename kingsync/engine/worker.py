"""Sync items as leased work: claim them, run each to its end or back into the queue.

An item is this engine's while its lease lasts. Every write below is
guarded by that lease (kingsync.db.jobs), so if the lease ran out and another
engine took the item over, this engine's result is refused and only the
other engine's counts: an item ends once, whoever ran it.

An engine runs two of these loops over the one table: ``sync`` for the kinds
that make API calls, ``transfer`` for the kinds that move data (images), each
with its own slots, so a long transfer never holds a slot a keypair needs.
"""

from __future__ import annotations

import collections
from collections.abc import Collection, Sequence

from oslo_log import log as logging

from kingsync.db import jobs
from kingsync.db.models import ERROR
from kingsync.db.quota import errors as quota_errors
from kingsync.db.quota import projects
from kingsync.db.session import transaction
from kingsync.engine import retry
from kingsync.engine.loop import Lease
from kingsync.sync import errors as sync_errors
from kingsync.sync.exclusive import DbExclusive
from kingsync.sync.kinds import Kind, Registry
from kingsync.sync.record import DbRecord
from kingsync.sync.task import Connect, Outcome, Progress, Task

LOG = logging.getLogger(__name__)


class SyncWork:
    """kingsync.engine.loop.Work for sync items (all kinds, or ``only`` some, or all ``excluding`` some)."""

    def __init__(
        self,
        name: str,
        engine_id: str,
        kinds: Registry,
        connect: Connect,
        *,
        max_attempts: int,
        retry_backoff: float,
        lease_seconds: float,
        per_region: int,
        db_url: str | None = None,
        only: Collection[str] | None = None,
        excluding: Collection[str] = (),
    ) -> None:
        self.name = name
        self.engine_id = engine_id
        self.kinds = kinds
        self.connect = connect
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.lease_seconds = lease_seconds
        self.per_region = per_region
        self.db_url = db_url
        self.only = only
        self.excluding = excluding

    # -- the queue --------------------------------------------------------------------------

    def claim(self, engine_id: str, free: int, running: Sequence[jobs.Item]) -> list[jobs.Item]:
        busy = collections.Counter(item.target_region for item in running)
        with transaction(self.db_url) as session:
            return jobs.claim_items(
                session,
                engine_id,
                free,
                self.lease_seconds,
                per_region=self.per_region,
                busy=busy,
                only=self.only,
                excluding=self.excluding,
            )

    def key(self, item: jobs.Item) -> str:
        return item.id

    def renew(self, key: str, engine_id: str) -> bool:
        with transaction(self.db_url) as session:
            return jobs.renew_lease(session, key, engine_id, self.lease_seconds)

    # -- one item ---------------------------------------------------------------------------

    def run(self, item: jobs.Item, lease: Lease) -> float | None:
        """Run ``item``; returns the seconds until its next attempt if it was put back, else None.

        ``item.attempts`` counts this attempt already (a claim is an attempt).
        """
        if self._spent(item):
            return None
        try:
            outcome = self._sync(item)
        except Exception as error:
            return self._failed(item, error)
        self._finish(item, outcome)
        return None

    def _spent(self, item: jobs.Item) -> bool:
        """End an item claimed once too often; True if it was."""
        attempt = item.attempts
        if attempt <= self.max_attempts:
            return False
        # The attempts before this one ended with their engine (killed, or
        # cut off from the database) before they could record anything.
        last = " Last error: %s" % item.error if item.error else ""
        self._finish(
            item,
            Outcome.failure(
                ERROR,
                "Gave up after %d attempts: the engines running it stopped before it ended.%s" % (attempt - 1, last),
            ),
        )
        return True

    def _failed(self, item: jobs.Item, error: Exception) -> float | None:
        """An attempt that raised: put back with backoff if the error may pass, else
        ended; the seconds until its next attempt if it was put back."""
        attempt = item.attempts
        if isinstance(error, sync_errors.RetryLater) and error.rebalance:
            self._request_rebalance(error.rebalance)
        text = retry.describe(error)
        if not retry.is_transient(error):
            LOG.warning("Item %s: %s (permanent, not retried)", item.id, text)
            outcome = Outcome.failure(ERROR, text)
        elif attempt < self.max_attempts:
            delay = retry.backoff(attempt, self.retry_backoff)
            with transaction(self.db_url) as session:
                requeued = jobs.retry_item(session, item.id, self.engine_id, text, delay)
            if requeued:
                LOG.info("Item %s: attempt %d failed, next in %.1f s: %s", item.id, attempt, delay, text)
                return delay
            LOG.warning("Item %s: lease lost before its retry could be recorded", item.id)
            return None
        else:
            LOG.warning("Item %s: attempt %d failed, giving up: %s", item.id, attempt, text)
            outcome = Outcome.failure(ERROR, "%s (gave up after %d attempts)" % (text, attempt))
        self._finish(item, outcome)
        return None

    def _request_rebalance(self, project_id: str) -> None:
        """Make the project's global quota due now, if kingsync manages it
        (the quota loop finds it at its next poll)."""
        try:
            with transaction(self.db_url) as session:
                projects.request_reconcile(session, project_id)
        except quota_errors.NotFound:
            return
        LOG.info("Asked for a quota rebalance of project %s: a copy needs room in a region", project_id)

    def _sync(self, item: jobs.Item) -> Outcome:
        kind = self.kinds.find(item.resource_type)
        if kind is None:
            return Outcome.failure(ERROR, "kingsync cannot sync resources of type %s" % item.resource_type)
        return kind.sync(self._task(kind, item))

    def _task(
        self, kind: Kind, item: jobs.Item, progress: Progress | None = None, owner: tuple[str, str] | None = None
    ) -> Task:
        """The task for ``item``, acting for its job's ``owner`` (project id, user id; read if not given)."""
        if owner is None:
            with transaction(self.db_url) as session:
                owner = jobs.job_owner(session, item.job_id)
        project_id, user_id = owner
        record = DbRecord(
            kind.name, kind.scope(project_id, user_id), item.source_region, item.target_region, item.id, self.db_url
        )
        exclusive = DbExclusive(item.id, self.db_url)
        if progress is None:
            return Task(item, project_id, user_id, self.connect, record, exclusive)
        return Task(item, project_id, user_id, self.connect, record, exclusive, progress)

    def _finish(self, item: jobs.Item, outcome: Outcome) -> None:
        with transaction(self.db_url) as session:
            recorded = jobs.finish_item(
                session, item.id, self.engine_id, outcome.status, outcome.result, outcome.error, outcome.target_id
            )
        if recorded:
            LOG.info(
                "Item %s finished: %s %s %s -> %s: %s/%s",
                item.id,
                item.resource_type,
                item.resource,
                item.source_region,
                item.target_region,
                outcome.status,
                outcome.result,
            )
        else:
            LOG.warning("Item %s: lease lost; another engine owns it now, so this result is dropped", item.id)
