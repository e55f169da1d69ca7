"""Run one claimed item to its end, or back into the queue for a later attempt.

The item is this engine's while its lease lasts. Every write below is
guarded by that lease (kingsync.db.jobs), so if the lease ran out and another
engine took the item over, this engine's result is refused and only the
other engine's counts: an item ends once, whoever ran it.
"""

from __future__ import annotations

from oslo_log import log as logging

from kingsync.db import jobs
from kingsync.db.models import ERROR
from kingsync.db.session import transaction
from kingsync.engine import retry, sync
from kingsync.engine.task import Connect, Outcome, Task

LOG = logging.getLogger(__name__)


class Worker:
    def __init__(
        self, engine_id: str, connect: Connect, max_attempts: int, retry_backoff: float, db_url: str | None = None
    ) -> None:
        self.engine_id = engine_id
        self.connect = connect
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.db_url = db_url

    def run(self, item: jobs.Item) -> float | None:
        """Run ``item``; returns the seconds until its next attempt if it was put back, else None."""
        attempt = item.attempts + 1
        try:
            outcome = self._sync(item)
        except Exception as error:
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

    def _sync(self, item: jobs.Item) -> Outcome:
        kind = sync.KINDS.get(item.resource_type)
        if kind is None:
            return Outcome.failure(ERROR, "kingsync cannot sync resources of type %s" % item.resource_type)
        with transaction(self.db_url) as session:
            project_id, user_id = jobs.job_owner(session, item.job_id)
        return kind(Task(item, project_id, user_id), self.connect)

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
