"""Repository for sync jobs and their items. Functions take a session and
return plain data objects, never ORM rows, so callers cannot lazy-load
across threads or transactions."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import uuid
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session

from kingsync.db import clock, models, queue
from kingsync.db.models import FAILURE, IN_PROGRESS, SUCCESS, TERMINAL, SyncItem, SyncJob


class JobNotFound(Exception):
    pass


class JobInProgress(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry of a sync request: these resources, from source, to each target."""

    resource_type: str
    resources: Sequence[str]
    source: str
    targets: Sequence[str]
    force: bool = False


@dataclasses.dataclass(frozen=True)
class Item:
    id: str
    job_id: str
    resource_type: str
    resource: str
    source_region: str
    target_region: str
    force: bool
    status: str
    result: str | None
    error: str | None
    target_id: str | None
    attempts: int
    created_at: datetime.datetime
    updated_at: datetime.datetime | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    bytes_done: int | None = None
    bytes_total: int | None = None


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    project_id: str
    user_id: str
    status: str
    created_at: datetime.datetime
    updated_at: datetime.datetime | None
    items: tuple[Item, ...] = ()


def _item(row: SyncItem) -> Item:
    return Item(**{field.name: getattr(row, field.name) for field in dataclasses.fields(Item)})


def _job(row: SyncJob, with_items: bool = False) -> Job:
    items = tuple(_item(i) for i in row.items) if with_items else ()
    return Job(row.id, row.project_id, row.user_id, row.status, row.created_at, row.updated_at, items)


# -- the API side ------------------------------------------------------------------


def create_job(session: Session, project_id: str, user_id: str, entries: Sequence[Entry]) -> Job:
    """A job and one item per (resource, target region), all IN_PROGRESS and due now."""
    now = clock.utcnow()
    job = SyncJob(id=str(uuid.uuid4()), project_id=project_id, user_id=user_id, status=IN_PROGRESS, created_at=now)
    session.add(job)
    for entry in entries:
        for target in entry.targets:
            for resource in entry.resources:
                job.items.append(
                    SyncItem(
                        id=str(uuid.uuid4()),
                        resource_type=entry.resource_type,
                        resource=resource,
                        source_region=entry.source,
                        target_region=target,
                        force=entry.force,
                        status=IN_PROGRESS,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
    session.flush()
    return _job(job, with_items=True)


@dataclasses.dataclass(frozen=True)
class Owner:
    """Whose jobs a caller may see: the caller's own (a user in a project, as
    Kingbird had it), or with None for either, an admin's wider view."""

    project_id: str | None
    user_id: str | None

    def owns(self, job: SyncJob) -> bool:
        return (self.project_id is None or job.project_id == self.project_id) and (
            self.user_id is None or job.user_id == self.user_id
        )


def list_jobs(session: Session, owner: Owner, active_only: bool = False) -> list[Job]:
    query = select(SyncJob)
    if owner.project_id is not None:
        query = query.where(SyncJob.project_id == owner.project_id)
    if owner.user_id is not None:
        query = query.where(SyncJob.user_id == owner.user_id)
    if active_only:
        query = query.where(SyncJob.status == IN_PROGRESS)
    return [_job(row) for row in session.scalars(query.order_by(SyncJob.created_at, SyncJob.id))]


def get_job(session: Session, job_id: str, owner: Owner) -> Job:
    row = session.get(SyncJob, job_id)
    if row is None or not owner.owns(row):
        raise JobNotFound(job_id)
    return _job(row, with_items=True)


def delete_job(session: Session, job_id: str, owner: Owner) -> None:
    """Forget a finished job (nothing in the regions is touched)."""
    row = session.get(SyncJob, job_id, with_for_update=True)
    if row is None or not owner.owns(row):
        raise JobNotFound(job_id)
    if row.status == IN_PROGRESS:
        raise JobInProgress(job_id)
    session.delete(row)


def purge_jobs(session: Session, finished_before: datetime.datetime, limit: int = 500) -> int:
    """Delete up to ``limit`` jobs that ended before ``finished_before``, with their items. Returns how many.

    Only the jobs' rows go: the id record (sync_copies) stays, so later jobs
    and audits still find what these ones made.
    """
    ids = list(
        session.scalars(
            select(SyncJob.id)
            .where(SyncJob.status.in_(TERMINAL), SyncJob.updated_at < finished_before)
            .order_by(SyncJob.updated_at)
            .limit(limit)
        )
    )
    if ids:
        session.execute(delete(SyncItem).where(SyncItem.job_id.in_(ids)))
        session.execute(delete(SyncJob).where(SyncJob.id.in_(ids)))
    return len(ids)


# -- the engine side -----------------------------------------------------------------


# Items as a leased queue: claimable while IN_PROGRESS and due, bounded per target region.
ITEMS = queue.Queue(
    SyncItem,
    key=SyncItem.id,
    due=SyncItem.next_attempt_at,
    owner=SyncItem.lease_owner,
    expires=SyncItem.lease_expires_at,
    open=SyncItem.status == IN_PROGRESS,
    group=SyncItem.target_region,
)


def claim_items(
    session: Session,
    engine_id: str,
    limit: int,
    lease_seconds: float,
    *,
    per_region: int | None = None,
    busy: Mapping[str, int] | None = None,
    only: Collection[str] | None = None,
    excluding: Collection[str] = (),
) -> list[Item]:
    """Take up to ``limit`` due, unleased (or lease-expired) items for this engine.

    With ``per_region``, at most that many items per target region, counting
    the ``busy`` ones (target region -> items this engine already runs).
    ``only`` and ``excluding`` name the resource types a loop takes (the
    transfer slots take the kinds that move data, the others the rest).

    A claim counts as an attempt: an engine that dies mid-item has spent one,
    so an item that kills every engine that runs it still ends.
    """
    where = None
    if only is not None:
        where = SyncItem.resource_type.in_(list(only))
    elif excluding:
        where = SyncItem.resource_type.not_in(list(excluding))
    return _claim(session, engine_id, limit, lease_seconds, where, per_region, busy)


# What the items of one transfer share: one resource, read once, to each target.
def transfer_key(item: Item) -> tuple[str, str, str, str, bool]:
    return (item.job_id, item.resource_type, item.resource, item.source_region, item.force)


def claim_transfers(
    session: Session,
    engine_id: str,
    limit: int,
    lease_seconds: float,
    *,
    only: Collection[str],
    per_region: int | None = None,
    busy: Mapping[str, int] | None = None,
) -> list[list[Item]]:
    """Take up to ``limit`` transfers: due items of the ``only`` kinds, each with
    every due sibling (same job, resource, source region and force; another
    target), so one read of the source serves every target due now.

    Siblings count against ``per_region`` like any item; one that is not due
    (waiting for a retry) or is over the bound stays for a later transfer.
    """
    heads = claim_items(session, engine_id, limit, lease_seconds, per_region=per_region, busy=busy, only=only)
    transfers: dict[tuple[str, str, str, str, bool], list[Item]] = {}
    for item in heads:
        transfers.setdefault(transfer_key(item), []).append(item)
    taken = collections.Counter(busy or {})
    taken.update(item.target_region for item in heads)
    for key, items in transfers.items():
        job_id, resource_type, resource, source_region, force = key
        siblings = and_(
            SyncItem.job_id == job_id,
            SyncItem.resource_type == resource_type,
            SyncItem.resource == resource,
            SyncItem.source_region == source_region,
            SyncItem.force == force,
        )
        more = _claim(session, engine_id, _MAX_TARGETS, lease_seconds, siblings, per_region, taken)
        taken.update(item.target_region for item in more)
        items.extend(more)
    return list(transfers.values())


# The most targets one transfer takes at once (a job names each region once).
_MAX_TARGETS = 1000


def _claim(
    session: Session,
    engine_id: str,
    limit: int,
    lease_seconds: float,
    where: ColumnElement[bool] | None,
    per_region: int | None,
    busy: Mapping[str, int] | None,
) -> list[Item]:
    now = clock.utcnow()
    keys = ITEMS.claim(
        session,
        engine_id,
        limit,
        lease_seconds,
        where=where,
        per_group=per_region,
        busy=busy,
        values={
            "started_at": func.coalesce(SyncItem.started_at, now),
            "updated_at": now,
            "attempts": SyncItem.attempts + 1,
        },
        now=now,
    )
    if not keys:
        return []
    rows = {
        row.id: row
        for row in session.scalars(
            select(SyncItem).where(SyncItem.id.in_(keys)).execution_options(populate_existing=True)
        )
    }
    return [_item(rows[key]) for key in keys]


def record_progress(session: Session, engine_id: str, progress: Mapping[str, tuple[int, int]]) -> None:
    """Write bytes done and bytes in all (item id -> both) of items this engine holds."""
    for item_id, (done, total) in progress.items():
        session.execute(
            update(SyncItem)
            .where(SyncItem.id == item_id, SyncItem.lease_owner == engine_id, SyncItem.status == IN_PROGRESS)
            .values(bytes_done=done, bytes_total=total)
            .execution_options(synchronize_session=False)
        )


def job_owner(session: Session, job_id: str) -> tuple[str, str]:
    """(project_id, user_id) of a job: whom the engine acts for."""
    row = session.execute(select(SyncJob.project_id, SyncJob.user_id).where(SyncJob.id == job_id)).first()
    if row is None:
        raise JobNotFound(job_id)
    return row[0], row[1]


def renew_lease(session: Session, item_id: str, engine_id: str, lease_seconds: float) -> bool:
    """Extend this engine's lease on an item; False if it is no longer ours."""
    return ITEMS.renew(session, item_id, engine_id, lease_seconds)


def finish_item(
    session: Session,
    item_id: str,
    engine_id: str,
    status: str,
    result: str,
    error: str | None = None,
    target_id: str | None = None,
) -> bool:
    """Record an item's end; False (and nothing written) if its lease was lost."""
    assert status in TERMINAL
    now = clock.utcnow()
    values = {
        "status": status,
        "result": result,
        "error": error,
        "target_id": target_id,
        "finished_at": now,
        "updated_at": now,
    }
    if not ITEMS.release(session, item_id, engine_id, now, values):
        return False
    # A locking read (of a row this transaction already holds): on MySQL/MariaDB
    # (REPEATABLE READ) the first plain SELECT fixes the transaction's snapshot,
    # and one taken here, before _finalize waits for the job lock, would hide a
    # parallel engine's just-committed last item from _finalize's count.
    job_id = session.scalar(select(SyncItem.job_id).where(SyncItem.id == item_id).with_for_update())
    if job_id is not None:
        _finalize(session, job_id)
    return True


def retry_item(session: Session, item_id: str, engine_id: str, error: str, delay_seconds: float) -> bool:
    """Give an item back to the queue after a transient failure, due after ``delay_seconds``."""
    now = clock.utcnow()
    due = now + datetime.timedelta(seconds=delay_seconds)
    return ITEMS.release(session, item_id, engine_id, due, {"error": error, "updated_at": now})


def _finalize(session: Session, job_id: str) -> None:
    # Lock the job row so two engines finishing its last two items in parallel
    # serialise here, and the second one sees the first one's item finished.
    job = session.get(SyncJob, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != IN_PROGRESS:
        return
    counts = dict(
        session.execute(
            select(SyncItem.status, func.count()).where(SyncItem.job_id == job_id).group_by(SyncItem.status)
        ).all()
    )
    if counts.get(IN_PROGRESS):
        return
    job.status = FAILURE if counts.get(FAILURE) else SUCCESS
    job.updated_at = clock.utcnow()


def finalize_jobs(session: Session) -> int:
    """Sweep: close every IN_PROGRESS job whose items have all ended. Returns how many."""
    open_items = select(SyncItem.job_id).where(SyncItem.status == IN_PROGRESS)
    stale = session.scalars(
        select(SyncJob.id).where(SyncJob.status == IN_PROGRESS, SyncJob.id.not_in(open_items))
    ).all()
    for job_id in stale:
        _finalize(session, job_id)
    return len(stale)


__all__ = ["Entry", "Item", "Job", "JobInProgress", "JobNotFound", "Owner", "models"]
