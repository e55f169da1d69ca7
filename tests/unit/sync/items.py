"""A job item as the engine hands it to a kind, for a kind's shell tested without a database."""

from __future__ import annotations

import datetime

from kingsync.db import jobs

NOW = datetime.datetime(2026, 1, 1)


def item(kind: str, resource: str, force: bool = False, attempts: int = 1) -> jobs.Item:
    """An item of ``kind`` from RegionOne to RegionTwo, claimed and running."""
    return jobs.Item(
        id="i",
        job_id="j",
        resource_type=kind,
        resource=resource,
        source_region="RegionOne",
        target_region="RegionTwo",
        force=force,
        status="IN_PROGRESS",
        result=None,
        error=None,
        target_id=None,
        attempts=attempts,
        created_at=NOW,
        updated_at=None,
        started_at=NOW,
        finished_at=None,
    )
