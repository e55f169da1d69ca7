"""Repository for sync jobs and their items. Functions take a session and
return plain data objects, never ORM rows, so callers cannot lazy-load
across threads or transactions."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kingsync.db import models
from kingsync.db.models import FAILURE, IN_PROGRESS, SUCCESS, TERMINAL, SyncItem, SyncJob


class JobNotFound(Exception):
    pass


class JobInProgress(Exception):
    pass


def utcnow() -> datetime.datetime:
    """Naive UTC, as stored (every database keeps it the same way)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


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
    return Item(
        row.id,
        row.job_id,
        row.resource_type,
        row.resource,
        row.source_region,
        row.target_region,
        row.force,
        row.status,
        row.result,
        row.error,
        row.target_id,
        row.attempts,
        row.created_at,
        row.updated_at,
        row.started_at,
        row.finished_at,
    )


def _job(row: SyncJob, with_items: bool = False) -> Job:
    items = tuple(_item(i) for i in row.items) if with_items else ()
    return Job(row.id, row.project_id, row.user_id, row.status, row.created_at, row.updated_at, items)


# -- the API side ------------------------------------------------------------------


def create_job(session: Session, project_id: str, user_id: str, entries: Sequence[Entry]) -> Job:
    """A job and one item per (resource, target region), all IN_PROGRESS and due now."""
    now = utcnow()
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


def list_jobs(session: Session, project_id: str, user_id: str, active_only: bool = False) -> list[Job]:
    query = select(SyncJob).where(SyncJob.project_id == project_id, SyncJob.user_id == user_id)
    if active_only:
        query = query.where(SyncJob.status == IN_PROGRESS)
    return [_job(row) for row in session.scalars(query.order_by(SyncJob.created_at, SyncJob.id))]


def get_job(session: Session, job_id: str, project_id: str, user_id: str) -> Job:
    row = session.get(SyncJob, job_id)
    if row is None or row.project_id != project_id or row.user_id != user_id:
        raise JobNotFound(job_id)
    return _job(row, with_items=True)


def delete_job(session: Session, job_id: str, project_id: str, user_id: str) -> None:
    """Forget a finished job (nothing in the regions is touched)."""
    row = session.get(SyncJob, job_id, with_for_update=True)
    if row is None or row.project_id != project_id or row.user_id != user_id:
        raise JobNotFound(job_id)
    if row.status == IN_PROGRESS:
        raise JobInProgress(job_id)
    session.delete(row)


# -- the engine side -----------------------------------------------------------------


def claim_items(
    session: Session,
    engine_id: str,
    limit: int,
    lease_seconds: int,
    *,
    per_region: int | None = None,
    busy: Mapping[str, int] | None = None,
) -> list[Item]:
    """Take up to ``limit`` due, unleased (or lease-expired) items for this engine.

    With ``per_region``, at most that many items per target region, counting
    the ``busy`` ones (target region -> items this engine already runs), so an
    engine never takes work it could not start at once.

    Each claim is a compare-and-set UPDATE guarded by the lease condition, so
    two engines racing for one item cannot both win, on any database.
    """
    now = utcnow()
    claimable = (SyncItem.lease_expires_at.is_(None)) | (SyncItem.lease_expires_at < now)
    room: dict[str, int] = {}
    query = select(SyncItem.id, SyncItem.target_region).where(
        SyncItem.status == IN_PROGRESS, SyncItem.next_attempt_at <= now, claimable
    )
    if per_region is not None:
        full = [region for region, count in (busy or {}).items() if count >= per_region]
        if full:
            query = query.where(SyncItem.target_region.not_in(full))
    # SKIP LOCKED (PostgreSQL, MySQL 8, MariaDB 10.6; SQLite has no row locks and
    # ignores it): racing engines get disjoint candidates, instead of all waiting
    # on the same first rows and coming back empty-handed while work waits.
    candidates = session.execute(
        query.order_by(SyncItem.next_attempt_at).limit(limit * 2).with_for_update(skip_locked=True)
    ).all()
    expires = now + datetime.timedelta(seconds=lease_seconds)
    claimed: list[Item] = []
    for item_id, region in candidates:
        if len(claimed) >= limit:
            break
        if per_region is not None:
            room.setdefault(region, per_region - (busy or {}).get(region, 0))
            if room[region] <= 0:
                continue
        result = session.execute(
            update(SyncItem)
            .where(SyncItem.id == item_id, SyncItem.status == IN_PROGRESS, claimable)
            .values(
                lease_owner=engine_id,
                lease_expires_at=expires,
                started_at=func.coalesce(SyncItem.started_at, now),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            row = session.get(SyncItem, item_id, populate_existing=True)
            assert row is not None
            claimed.append(_item(row))
            if per_region is not None:
                room[region] -= 1
    return claimed


def job_owner(session: Session, job_id: str) -> tuple[str, str]:
    """(project_id, user_id) of a job: whom the engine acts for."""
    row = session.execute(select(SyncJob.project_id, SyncJob.user_id).where(SyncJob.id == job_id)).first()
    if row is None:
        raise JobNotFound(job_id)
    return row[0], row[1]


def renew_lease(session: Session, item_id: str, engine_id: str, lease_seconds: int) -> bool:
    """Extend this engine's lease on an item; False if it is no longer ours."""
    now = utcnow()
    result = session.execute(
        update(SyncItem)
        .where(SyncItem.id == item_id, SyncItem.lease_owner == engine_id, SyncItem.status == IN_PROGRESS)
        .values(lease_expires_at=now + datetime.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    now = utcnow()
    done = session.execute(
        update(SyncItem)
        .where(SyncItem.id == item_id, SyncItem.lease_owner == engine_id, SyncItem.status == IN_PROGRESS)
        .values(
            status=status,
            result=result,
            error=error,
            target_id=target_id,
            finished_at=now,
            updated_at=now,
            lease_owner=None,
            lease_expires_at=None,
            attempts=SyncItem.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
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
    now = utcnow()
    result = session.execute(
        update(SyncItem)
        .where(SyncItem.id == item_id, SyncItem.lease_owner == engine_id, SyncItem.status == IN_PROGRESS)
        .values(
            error=error,
            attempts=SyncItem.attempts + 1,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=now + datetime.timedelta(seconds=delay_seconds),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    job.updated_at = utcnow()


def finalize_jobs(session: Session) -> int:
    """Sweep: close every IN_PROGRESS job whose items have all ended. Returns how many."""
    open_items = select(SyncItem.job_id).where(SyncItem.status == IN_PROGRESS)
    stale = session.scalars(
        select(SyncJob.id).where(SyncJob.status == IN_PROGRESS, SyncJob.id.not_in(open_items))
    ).all()
    for job_id in stale:
        _finalize(session, job_id)
    return len(stale)


__all__ = ["Entry", "Item", "Job", "JobInProgress", "JobNotFound", "models"]
