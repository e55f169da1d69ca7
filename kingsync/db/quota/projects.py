"""Managed projects and the engine's queue: one quota_projects row per
project kingsync manages, with when it is next due and which engine holds
it. Engines take projects with ``claim_projects``, ``renew_project`` and
``release_project``; an admin's change asks for a round with
``request_reconcile``. The helpers after them are what the limits and
settings modules use to lock a project's row for a change and to unmanage
it when the last of an admin's changes is removed."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from kingsync.db import clock, queue, upsert
from kingsync.db.models import MANAGED_BY_LIMITS, QuotaLimit, QuotaPin, QuotaProject, QuotaRegional, QuotaRegionSetting
from kingsync.db.quota.errors import NotFound

# Projects per statement in bulk reads and inserts: 4 parameters a row stays
# far below every database's limit on bound parameters (SQLite's is 32766).
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class ProjectState:
    """A managed project's overrides and where it stands in the reconciliation queue."""

    project_id: str
    headroom_policy: str | None
    policy_floor: float | None
    managed_by: str
    next_check_at: datetime.datetime
    lease_owner: str | None
    lease_expires_at: datetime.datetime | None
    last_reconciled_at: datetime.datetime | None
    last_status: str | None
    last_error: str | None
    created_at: datetime.datetime


def ensure_managed(session: Session, project_ids: Sequence[str], managed_by: str) -> int:
    """Make these projects managed, due now. Returns how many were not managed before.

    Engines discovering projects at once, and an admin's change, may insert
    the same row: a duplicate is skipped, not an error.
    """
    now = clock.utcnow()
    wanted = list(dict.fromkeys(project_ids))
    known: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        known.update(session.scalars(select(QuotaProject.project_id).where(QuotaProject.project_id.in_(chunk))))
    # Sorted: engines inserting overlapping sets then lock the rows in one order, and never deadlock.
    missing = sorted(project_id for project_id in wanted if project_id not in known)
    for start in range(0, len(missing), _CHUNK):
        _insert_projects(session, missing[start : start + _CHUNK], managed_by, now)
    return len(missing)


def request_reconcile(session: Session, project_id: str) -> None:
    """Make the project due now (or keep it due when its engine releases it, if it is claimed)."""
    project = session.get(QuotaProject, project_id, with_for_update=True)
    if project is None:
        raise NotFound("Project quota not found")
    project.next_check_at = min(project.next_check_at, clock.utcnow())


# Managed projects as a leased queue (kingsync.db.queue), due at next_check_at.
QUEUE = queue.Queue(
    QuotaProject,
    key=QuotaProject.project_id,
    due=QuotaProject.next_check_at,
    owner=QuotaProject.lease_owner,
    expires=QuotaProject.lease_expires_at,
)


def claim_projects(
    session: Session, engine_id: str, limit: int, lease_seconds: float, now: datetime.datetime | None = None
) -> list[str]:
    """Take up to ``limit`` due, unleased (or lease-expired) projects for this engine, most overdue first.

    A claimed project is due again when its lease ends (its engine died),
    unless it is released first.
    """
    return QUEUE.claim(session, engine_id, limit, lease_seconds, now=now)


def renew_project(session: Session, project_id: str, engine_id: str, lease_seconds: float) -> bool:
    """Extend this engine's lease on a project; False if it is no longer ours. A request made meanwhile stays put."""
    return QUEUE.renew(session, project_id, engine_id, lease_seconds)


def release_project(
    session: Session,
    project_id: str,
    engine_id: str,
    next_check_at: datetime.datetime,
    status: str,
    error: str | None,
) -> bool:
    """End this engine's round on a project, due again at ``next_check_at``; False if it was no longer ours.

    A reconciliation asked for during the round (next_check_at moved before
    the lease's end) is kept: the project is due at once.
    """
    return QUEUE.release(
        session,
        project_id,
        engine_id,
        next_check_at,
        {"last_reconciled_at": clock.utcnow(), "last_status": status, "last_error": error},
    )


def managed_projects(session: Session) -> list[str]:
    return list(session.scalars(select(QuotaProject.project_id).order_by(QuotaProject.project_id)))


def get_project_state(session: Session, project_id: str) -> ProjectState | None:
    """The project's row, or None if kingsync does not manage it."""
    row = session.get(QuotaProject, project_id)
    if row is None:
        return None
    return ProjectState(
        row.project_id,
        row.headroom_policy,
        row.policy_floor,
        row.managed_by,
        row.next_check_at,
        row.lease_owner,
        row.lease_expires_at,
        row.last_reconciled_at,
        row.last_status,
        row.last_error,
        row.created_at,
    )


# -- an admin's change to a project --------------------------------------------------------------------


def for_change(session: Session, project_id: str) -> QuotaProject:
    """The project's row for an admin's change: created if missing (managed for it), locked, due now."""
    _insert_projects(session, [project_id], MANAGED_BY_LIMITS, clock.utcnow())
    project = session.get(QuotaProject, project_id, with_for_update=True, populate_existing=True)
    assert project is not None  # inserted just now, or there already
    project.next_check_at = min(project.next_check_at, clock.utcnow())
    return project


def locked(session: Session, project_id: str) -> QuotaProject | None:
    """The project's row for an admin's removal, locked; None if kingsync does not manage it."""
    return session.get(QuotaProject, project_id, with_for_update=True, populate_existing=True)


def after_removal(session: Session, project: QuotaProject | None, now: datetime.datetime) -> None:
    """After an admin removed something: unmanage the project if nothing an admin set is left, else make it due."""
    if project is None:
        return
    if project.managed_by == MANAGED_BY_LIMITS and project.headroom_policy is None and project.policy_floor is None:
        left = any(
            session.scalar(select(model.project_id).where(model.project_id == project.project_id).limit(1))
            for model in (QuotaLimit, QuotaRegionSetting, QuotaPin)
        )
        if not left:
            session.execute(delete(QuotaRegional).where(QuotaRegional.project_id == project.project_id))
            session.delete(project)
            return
    project.next_check_at = min(project.next_check_at, now)


def make_all_due(session: Session, now: datetime.datetime) -> None:
    """Every managed project due now (the effective limits of all of them may have changed)."""
    session.execute(
        update(QuotaProject)
        .where(QuotaProject.next_check_at > now)
        .values(next_check_at=now)
        .execution_options(synchronize_session=False)
    )


def _insert_projects(session: Session, project_ids: Sequence[str], managed_by: str, now: datetime.datetime) -> None:
    """Insert project rows, due now, skipping those another transaction inserted first."""
    statement = upsert.insert(session, QuotaProject).values(
        [
            {"project_id": project_id, "managed_by": managed_by, "next_check_at": now, "created_at": now}
            for project_id in project_ids
        ]
    )
    session.execute(upsert.on_conflict(statement, ["project_id"], None))
