"""Repository for global quotas. Functions take a session and return plain
values or frozen dataclasses, never ORM rows, as kingsync.db.jobs does.

Effective limits
    What a managed project is held to, in the API and in the engine alike:
    kingsync's built-in defaults, overlaid by the ``default`` quota class,
    overlaid by the project's own global limits.

Managed projects
    The engine touches a project only while it has a quota_projects row. An
    admin's change (a global limit, a region setting, a headroom policy)
    creates it (managed_by "limits"); [quota] manage_all_projects creates the
    others (managed_by "discovery"). When an admin removes the last of those
    changes from a project managed for them, the project is no longer
    managed: its row and its regional state are deleted, and its regional
    limits stay as they are in the regions. A discovered project stays
    managed, held to the defaults.

The reconciliation queue
    quota_projects is also the engine's queue, claimed with a lease like a
    sync item. While a project is claimed, its next_check_at is the lease's
    end (when it is due again should its engine die). A reconciliation asked
    for meanwhile (an admin's change, ``request_reconcile``) moves
    next_check_at before the lease's end, and ``release_project`` then keeps
    it, so the change is not lost behind the engine's next regular visit.

Audit entries for what is not a limit
    An exclusion is resource "excluded" with old and new 1 (excluded) or 0.
    A headroom policy change is resource "headroom_policy: OLD -> NEW" (for
    example "headroom_policy: default -> proportional floor=0.25"), old and
    new limit None: a policy is no number.

Every admin change to a project first locks the project's row, so two
changes to one project serialise and each audit entry's old value is the
one its change replaced.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

from sqlalchemy import and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from kingsync.db import jobs
from kingsync.db.models import (
    MANAGED_BY_LIMITS,
    QuotaAudit,
    QuotaClass,
    QuotaLimit,
    QuotaPin,
    QuotaProject,
    QuotaRegional,
    QuotaRegionSetting,
    QuotaRegionStatus,
)
from kingsync.quota.resources import defaults as builtin_defaults

DEFAULT_CLASS = "default"
EXCLUDED = "excluded"  # the audit's resource for a region's exclusion
HEADROOM_POLICY = "headroom_policy"  # the start of the audit's resource for a policy change

# Projects per statement in bulk reads and inserts: 4 parameters a row stays
# far below every database's limit on bound parameters (SQLite's is 32766).
_CHUNK = 500


class NotFound(Exception):
    """What a change or a delete names does not exist; the message is fit for the API's 404."""


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""A RegionalUpdate field left as it is stored (None would store "unknown")."""


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who makes a change and why: a user id and "admin", or "kingsync" and "rebalance"."""

    actor: str
    reason: str
    request_id: str | None = None


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One audited change. ``id`` and ``created_at`` are None until stored (``add_audit`` sets the time)."""

    project_id: str | None  # None: a quota class change
    class_name: str | None
    region: str | None  # None: a global limit or setting
    resource: str
    old_limit: int | None
    new_limit: int | None
    actor: str
    reason: str
    request_id: str | None = None
    created_at: datetime.datetime | None = None
    id: int | None = None

    @classmethod
    def regional(
        cls,
        project_id: str,
        region: str,
        resource: str,
        old: int | None,
        new: int | None,
        actor: str,
        reason: str,
        created_at: datetime.datetime | None = None,
    ) -> AuditEntry:
        """A regional limit the engine changed (rebalance) or found changed (drift)."""
        return cls(project_id, None, region, resource, old, new, actor, reason, None, created_at)


@dataclasses.dataclass(frozen=True)
class RegionSetting:
    """A project's setting in one region: excluded from the headroom, and pinned regional limits."""

    region: str
    excluded: bool
    pins: dict[str, int]


@dataclasses.dataclass(frozen=True)
class Regional:
    """What kingsync last knew of one resource of a project in one region."""

    region: str
    resource: str
    limit: int | None  # the last regional limit confirmed there; None: never confirmed
    confirmed_at: datetime.datetime | None
    usage: int | None
    usage_at: datetime.datetime | None
    demand: float


@dataclasses.dataclass(frozen=True)
class RegionalUpdate:
    """What the engine learnt of one (region, resource); a KEEP field is left as stored.

    So a round that could read usage but not confirm a limit (or the other
    way round) updates one without forgetting the other.
    """

    region: str
    resource: str
    limit: int | None | Literal[_Keep.KEEP] = KEEP
    usage: int | None | Literal[_Keep.KEEP] = KEEP
    demand: float | Literal[_Keep.KEEP] = KEEP


@dataclasses.dataclass(frozen=True)
class RegionStatus:
    region: str
    service: str
    reachable: bool
    last_error: str | None
    checked_at: datetime.datetime
    last_ok_at: datetime.datetime | None


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


# -- project limits ----------------------------------------------------------------------------------


def get_project_limits(session: Session, project_id: str) -> dict[str, int]:
    """The project's own global limits (without the defaults)."""
    query = select(QuotaLimit.resource, QuotaLimit.hard_limit).where(QuotaLimit.project_id == project_id)
    return {resource: limit for resource, limit in session.execute(query.order_by(QuotaLimit.resource))}


def set_project_limits(session: Session, project_id: str, limits: Mapping[str, int], actor: Actor) -> dict[str, int]:
    """Set (create or update) global limits; the project becomes managed and due now. Returns what was written."""
    _project_for_change(session, project_id)
    now = jobs.utcnow()  # after the lock: the audit's times follow the order of the changes
    entries = _upsert(session, QuotaLimit, {"project_id": project_id}, limits, actor, now)
    add_audit(session, entries, now=now)
    return dict(limits)


def delete_project_limits(
    session: Session, project_id: str, resources: Sequence[str] | None, actor: Actor
) -> list[str]:
    """Delete the named global limits (None: all of them); the project falls back to the defaults.

    Nothing is deleted unless every named limit exists. If that was the last
    thing an admin had set for the project, it is no longer managed (see the
    module's docstring). Returns the resources deleted.
    """
    project = _locked_project(session, project_id)
    rows = {row.resource: row for row in session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id))}
    if not rows:
        raise NotFound("Project quota not found")
    names = sorted(rows) if resources is None else list(dict.fromkeys(resources))
    for name in names:
        if name not in rows:
            raise NotFound(f"Quota limit for {name} not found for the project")
    now = jobs.utcnow()
    entries = []
    for name in names:
        entries.append(_entry(actor, name, rows[name].hard_limit, None, project_id=project_id))
        session.delete(rows[name])
    add_audit(session, entries, now=now)
    _after_removal(session, project, now)
    return names


# -- quota classes -----------------------------------------------------------------------------------


def get_class(session: Session, class_name: str) -> dict[str, int]:
    """The class's own limits (empty for a class nobody set)."""
    query = select(QuotaClass.resource, QuotaClass.hard_limit).where(QuotaClass.class_name == class_name)
    return {resource: limit for resource, limit in session.execute(query.order_by(QuotaClass.resource))}


def set_class(session: Session, class_name: str, limits: Mapping[str, int], actor: Actor) -> dict[str, int]:
    """Set (create or update) a class's limits. Returns what was written.

    Changing the ``default`` class changes the effective limits of every
    managed project without limits of its own, so all of them become due.
    """
    now = jobs.utcnow()
    entries = _upsert(session, QuotaClass, {"class_name": class_name}, limits, actor, now)
    add_audit(session, entries, now=now)
    if entries and class_name == DEFAULT_CLASS:
        _all_due(session, now)
    return dict(limits)


def delete_class(session: Session, class_name: str, actor: Actor) -> None:
    """Delete all of a class's limits (the ``default`` class: back to the built-in defaults)."""
    rows = session.scalars(select(QuotaClass).where(QuotaClass.class_name == class_name)).all()
    if not rows:
        raise NotFound("Quota class not found")
    now = jobs.utcnow()
    entries = []
    for row in rows:
        entries.append(_entry(actor, row.resource, row.hard_limit, None, class_name=class_name))
        session.delete(row)
    add_audit(session, entries, now=now)
    if class_name == DEFAULT_CLASS:
        _all_due(session, now)


# -- effective limits ----------------------------------------------------------------------------------


def effective_defaults(session: Session) -> dict[str, int]:
    """The built-in defaults overlaid by the ``default`` class: what a project without limits of its own gets."""
    return {**builtin_defaults(), **get_class(session, DEFAULT_CLASS)}


def effective_limits(session: Session, project_id: str) -> dict[str, int]:
    """What the project is held to: the effective defaults overlaid by its own limits."""
    return {**effective_defaults(session), **get_project_limits(session, project_id)}


def effective_limits_many(session: Session, project_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """``effective_limits`` of a batch of projects in two queries (every id asked for is in the answer)."""
    defaults = effective_defaults(session)
    found: dict[str, dict[str, int]] = {project_id: dict(defaults) for project_id in project_ids}
    if not found:
        return found
    query = select(QuotaLimit.project_id, QuotaLimit.resource, QuotaLimit.hard_limit).where(
        QuotaLimit.project_id.in_(list(found))
    )
    for project_id, resource, limit in session.execute(query):
        found[project_id][resource] = limit
    return found


# -- region settings -----------------------------------------------------------------------------------


def get_region_settings(session: Session, project_id: str) -> dict[str, RegionSetting]:
    """The project's settings by region; a region without one is not in the answer."""
    excluded = dict(
        session.execute(
            select(QuotaRegionSetting.region, QuotaRegionSetting.excluded).where(
                QuotaRegionSetting.project_id == project_id
            )
        ).all()
    )
    pins: dict[str, dict[str, int]] = {}
    for region, resource, limit in session.execute(
        select(QuotaPin.region, QuotaPin.resource, QuotaPin.hard_limit)
        .where(QuotaPin.project_id == project_id)
        .order_by(QuotaPin.resource)
    ):
        pins.setdefault(region, {})[resource] = limit
    return {
        region: RegionSetting(region, bool(excluded.get(region, False)), pins.get(region, {}))
        for region in sorted(excluded.keys() | pins.keys())
    }


def set_region_setting(
    session: Session, project_id: str, region: str, excluded: bool, pins: Mapping[str, int], actor: Actor
) -> RegionSetting:
    """Replace the project's setting in one region (pins not given are removed); the project becomes managed."""
    _project_for_change(session, project_id)
    now = jobs.utcnow()  # after the lock: the audit's times follow the order of the changes
    row = session.get(QuotaRegionSetting, (project_id, region))
    was_excluded = row is not None and row.excluded
    if row is None:
        row = QuotaRegionSetting(project_id=project_id, region=region, excluded=excluded)
        session.add(row)
    row.excluded = excluded
    entries = []
    if was_excluded != excluded:
        entries.append(_entry(actor, EXCLUDED, int(was_excluded), int(excluded), project_id=project_id, region=region))
    old = {pin.resource: pin for pin in _pins(session, project_id, region)}
    for resource, gone in old.items():
        if resource not in pins:
            entries.append(_entry(actor, resource, gone.hard_limit, None, project_id=project_id, region=region))
            session.delete(gone)
    for resource, value in pins.items():
        pin = old.get(resource)
        if pin is None:
            session.add(QuotaPin(project_id=project_id, region=region, resource=resource, hard_limit=value))
            entries.append(_entry(actor, resource, None, value, project_id=project_id, region=region))
        elif pin.hard_limit != value:
            entries.append(_entry(actor, resource, pin.hard_limit, value, project_id=project_id, region=region))
            pin.hard_limit = value
    add_audit(session, entries, now=now)
    return RegionSetting(region, excluded, dict(pins))


def delete_region_setting(session: Session, project_id: str, region: str, actor: Actor) -> None:
    """Remove the project's setting in one region: it shares the headroom like the others again."""
    project = _locked_project(session, project_id)
    row = session.get(QuotaRegionSetting, (project_id, region))
    pins = _pins(session, project_id, region)
    if row is None and not pins:
        raise NotFound(f"No quota setting for region {region}")
    now = jobs.utcnow()
    entries = []
    if row is not None:
        if row.excluded:
            entries.append(_entry(actor, EXCLUDED, 1, 0, project_id=project_id, region=region))
        session.delete(row)
    for pin in pins:
        entries.append(_entry(actor, pin.resource, pin.hard_limit, None, project_id=project_id, region=region))
        session.delete(pin)
    add_audit(session, entries, now=now)
    _after_removal(session, project, now)


def _pins(session: Session, project_id: str, region: str) -> Sequence[QuotaPin]:
    return session.scalars(
        select(QuotaPin).where(QuotaPin.project_id == project_id, QuotaPin.region == region).order_by(QuotaPin.resource)
    ).all()


# -- headroom policy -----------------------------------------------------------------------------------


def get_project_policy(session: Session, project_id: str) -> tuple[str | None, float | None]:
    """The project's own (policy name, proportional floor); None for either: the deployment's."""
    row = session.execute(
        select(QuotaProject.headroom_policy, QuotaProject.policy_floor).where(QuotaProject.project_id == project_id)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


def set_project_policy(session: Session, project_id: str, name: str | None, floor: float | None, actor: Actor) -> None:
    """Override the deployment's headroom policy for one project; the project becomes managed."""
    project = _project_for_change(session, project_id)
    now = jobs.utcnow()  # after the lock: the audit's times follow the order of the changes
    old, new = (project.headroom_policy, project.policy_floor), (name, floor)
    if old != new:
        add_audit(session, [_policy_entry(actor, project_id, old, new)], now=now)
    project.headroom_policy, project.policy_floor = name, floor


def delete_project_policy(session: Session, project_id: str, actor: Actor) -> None:
    """Back to the deployment's headroom policy."""
    project = _locked_project(session, project_id)
    if project is None or (project.headroom_policy is None and project.policy_floor is None):
        raise NotFound("No headroom policy set for the project")
    now = jobs.utcnow()
    old = (project.headroom_policy, project.policy_floor)
    add_audit(session, [_policy_entry(actor, project_id, old, (None, None))], now=now)
    project.headroom_policy = project.policy_floor = None
    _after_removal(session, project, now)


def _policy_entry(
    actor: Actor, project_id: str, old: tuple[str | None, float | None], new: tuple[str | None, float | None]
) -> AuditEntry:
    return _entry(actor, f"{HEADROOM_POLICY}: {_policy_label(*old)} -> {_policy_label(*new)}", None, None, project_id)


def _policy_label(name: str | None, floor: float | None) -> str:
    label = name or "default"
    return label if floor is None else f"{label} floor={floor:g}"


# -- regional state ------------------------------------------------------------------------------------


def get_regional(session: Session, project_id: str) -> dict[tuple[str, str], Regional]:
    """Everything kingsync knows of the project in the regions, by (region, resource)."""
    rows = session.scalars(select(QuotaRegional).where(QuotaRegional.project_id == project_id))
    return {
        (row.region, row.resource): Regional(
            row.region, row.resource, row.hard_limit, row.confirmed_at, row.usage, row.usage_at, row.demand
        )
        for row in rows
    }


def save_regional(
    session: Session, project_id: str, rows: Sequence[RegionalUpdate], now: datetime.datetime | None = None
) -> None:
    """Store what a round learnt: one SELECT of the project's rows, then the inserts and updates.

    A limit or usage given (not KEEP) is stamped ``now``; None stores "unknown".
    """
    now = now or jobs.utcnow()
    stored = {
        (row.region, row.resource): row
        for row in session.scalars(select(QuotaRegional).where(QuotaRegional.project_id == project_id))
    }
    for change in rows:
        row = stored.get((change.region, change.resource))
        if row is None:
            row = QuotaRegional(project_id=project_id, region=change.region, resource=change.resource, demand=0.0)
            session.add(row)
            stored[(change.region, change.resource)] = row
        if change.limit is not KEEP:
            row.hard_limit = change.limit
            row.confirmed_at = now if change.limit is not None else None
        if change.usage is not KEEP:
            row.usage = change.usage
            row.usage_at = now if change.usage is not None else None
        if change.demand is not KEEP:
            row.demand = change.demand


# -- region health -------------------------------------------------------------------------------------


def set_region_status(
    session: Session,
    region: str,
    service: str,
    reachable: bool,
    error: str | None,
    now: datetime.datetime | None = None,
) -> None:
    """Record a region's service answering or not. One statement: engines record the same regions at once."""
    now = now or jobs.utcnow()
    values: dict[str, Any] = {"reachable": reachable, "last_error": error, "checked_at": now}
    if reachable:
        values["last_ok_at"] = now
    statement = _insert(session, QuotaRegionStatus).values(region=region, service=service, **values)
    session.execute(_on_conflict(statement, ["region", "service"], values))


def list_region_status(session: Session) -> dict[tuple[str, str], RegionStatus]:
    rows = session.scalars(select(QuotaRegionStatus).order_by(QuotaRegionStatus.region, QuotaRegionStatus.service))
    return {
        (row.region, row.service): RegionStatus(
            row.region, row.service, row.reachable, row.last_error, row.checked_at, row.last_ok_at
        )
        for row in rows
    }


# -- audit ---------------------------------------------------------------------------------------------


def add_audit(session: Session, entries: Sequence[AuditEntry], now: datetime.datetime | None = None) -> None:
    """Store entries; one without a time gets ``now``."""
    if not entries:
        return
    now = now or jobs.utcnow()
    session.execute(
        insert(QuotaAudit),
        [
            {
                "project_id": e.project_id,
                "class_name": e.class_name,
                "region": e.region,
                "resource": e.resource,
                "old_limit": e.old_limit,
                "new_limit": e.new_limit,
                "actor": e.actor,
                "reason": e.reason,
                "request_id": e.request_id,
                "created_at": e.created_at or now,
            }
            for e in entries
        ],
    )


def list_audit(session: Session, project_id: str, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """A project's audit, newest first; the next page starts before the last entry's id."""
    query = select(QuotaAudit).where(QuotaAudit.project_id == project_id)
    if before_id is not None:
        before = session.scalar(
            select(QuotaAudit.created_at).where(QuotaAudit.id == before_id, QuotaAudit.project_id == project_id)
        )
        if before is None:
            return []
        # Keyset paging along ix_quota_audit_project: (created_at, id) before the marker's.
        query = query.where(
            or_(QuotaAudit.created_at < before, and_(QuotaAudit.created_at == before, QuotaAudit.id < before_id))
        )
    rows = session.scalars(query.order_by(QuotaAudit.created_at.desc(), QuotaAudit.id.desc()).limit(limit))
    return [
        AuditEntry(
            row.project_id,
            row.class_name,
            row.region,
            row.resource,
            row.old_limit,
            row.new_limit,
            row.actor,
            row.reason,
            row.request_id,
            row.created_at,
            row.id,
        )
        for row in rows
    ]


# -- the engine's queue --------------------------------------------------------------------------------


def ensure_managed(session: Session, project_ids: Sequence[str], managed_by: str) -> int:
    """Make these projects managed, due now. Returns how many were not managed before.

    Engines discovering projects at once, and an admin's change, may insert
    the same row: a duplicate is skipped, not an error.
    """
    now = jobs.utcnow()
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
    project.next_check_at = min(project.next_check_at, jobs.utcnow())


def claim_projects(
    session: Session, engine_id: str, limit: int, lease_seconds: float, now: datetime.datetime | None = None
) -> list[str]:
    """Take up to ``limit`` due, unleased (or lease-expired) projects for this engine, most overdue first.

    The claim is a compare-and-set UPDATE guarded by the due and lease
    conditions, so two engines racing for one project cannot both win, on
    any database. A claimed project is due again when its lease ends (its
    engine died), unless it is released first.
    """
    now = now or jobs.utcnow()
    claimable = and_(
        QuotaProject.next_check_at <= now,
        or_(QuotaProject.lease_owner.is_(None), QuotaProject.lease_expires_at < now),
    )
    # SKIP LOCKED (PostgreSQL, MySQL 8, MariaDB 10.6; SQLite has no row locks and
    # ignores it): racing engines get disjoint candidates instead of queueing on
    # the same first rows and coming back empty-handed.
    candidates = session.scalars(
        select(QuotaProject.project_id)
        .where(claimable)
        .order_by(QuotaProject.next_check_at, QuotaProject.project_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    expires = now + datetime.timedelta(seconds=lease_seconds)
    session.execute(
        update(QuotaProject)
        .where(QuotaProject.project_id.in_(candidates), claimable)
        .values(lease_owner=engine_id, lease_expires_at=expires, next_check_at=expires)
        .execution_options(synchronize_session=False)
    )
    won = set(
        session.scalars(
            select(QuotaProject.project_id).where(
                QuotaProject.project_id.in_(candidates),
                QuotaProject.lease_owner == engine_id,
                QuotaProject.lease_expires_at == expires,
            )
        )
    )
    return [project_id for project_id in candidates if project_id in won]


def renew_project(session: Session, project_id: str, engine_id: str, lease_seconds: float) -> bool:
    """Extend this engine's lease on a project; False if it is no longer ours."""
    expires = jobs.utcnow() + datetime.timedelta(seconds=lease_seconds)
    result = session.execute(
        update(QuotaProject)
        .where(QuotaProject.project_id == project_id, QuotaProject.lease_owner == engine_id)
        # next_check_at first: MySQL evaluates SET left to right, and the test
        # must see the lease's old end. A request made meanwhile stays put.
        .ordered_values(
            (
                QuotaProject.next_check_at,
                case(
                    (QuotaProject.next_check_at >= QuotaProject.lease_expires_at, expires),
                    else_=QuotaProject.next_check_at,
                ),
            ),
            (QuotaProject.lease_expires_at, expires),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    now = jobs.utcnow()
    result = session.execute(
        update(QuotaProject)
        .where(QuotaProject.project_id == project_id, QuotaProject.lease_owner == engine_id)
        # next_check_at first: MySQL evaluates SET left to right (see renew_project).
        .ordered_values(
            (
                QuotaProject.next_check_at,
                case(
                    (QuotaProject.next_check_at < QuotaProject.lease_expires_at, QuotaProject.next_check_at),
                    else_=next_check_at,
                ),
            ),
            (QuotaProject.lease_owner, None),
            (QuotaProject.lease_expires_at, None),
            (QuotaProject.last_reconciled_at, now),
            (QuotaProject.last_status, status),
            (QuotaProject.last_error, error),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


# -- helpers -------------------------------------------------------------------------------------------


def _entry(
    actor: Actor,
    resource: str,
    old: int | None,
    new: int | None,
    project_id: str | None = None,
    class_name: str | None = None,
    region: str | None = None,
) -> AuditEntry:
    return AuditEntry(project_id, class_name, region, resource, old, new, actor.actor, actor.reason, actor.request_id)


_Row = TypeVar("_Row", QuotaLimit, QuotaClass)


def _upsert(
    session: Session,
    model: type[_Row],
    owner: dict[str, str],
    limits: Mapping[str, int],
    actor: Actor,
    now: datetime.datetime,
) -> list[AuditEntry]:
    """Create or update the owner's row of each resource (a project's limits or a
    class's); an audit entry for each value that changed."""
    found = {row.resource: row for row in session.scalars(select(model).filter_by(**owner))}
    entries = []
    for resource, value in limits.items():
        row = found.get(resource)
        if row is None:
            session.add(model(**owner, resource=resource, hard_limit=value, created_at=now))
            entries.append(_entry(actor, resource, None, value, **owner))
        elif row.hard_limit != value:
            entries.append(_entry(actor, resource, row.hard_limit, value, **owner))
            row.hard_limit, row.updated_at = value, now
    return entries


def _project_for_change(session: Session, project_id: str) -> QuotaProject:
    """The project's row for an admin's change: created if missing (managed for it), locked, due now."""
    _insert_projects(session, [project_id], MANAGED_BY_LIMITS, jobs.utcnow())
    project = session.get(QuotaProject, project_id, with_for_update=True, populate_existing=True)
    assert project is not None  # inserted just now, or there already
    project.next_check_at = min(project.next_check_at, jobs.utcnow())
    return project


def _locked_project(session: Session, project_id: str) -> QuotaProject | None:
    return session.get(QuotaProject, project_id, with_for_update=True, populate_existing=True)


def _after_removal(session: Session, project: QuotaProject | None, now: datetime.datetime) -> None:
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


def _all_due(session: Session, now: datetime.datetime) -> None:
    session.execute(
        update(QuotaProject)
        .where(QuotaProject.next_check_at > now)
        .values(next_check_at=now)
        .execution_options(synchronize_session=False)
    )


def _insert_projects(session: Session, project_ids: Sequence[str], managed_by: str, now: datetime.datetime) -> None:
    """Insert project rows, due now, skipping those another transaction inserted first."""
    statement = _insert(session, QuotaProject).values(
        [
            {"project_id": project_id, "managed_by": managed_by, "next_check_at": now, "created_at": now}
            for project_id in project_ids
        ]
    )
    session.execute(_on_conflict(statement, ["project_id"], None))


def _insert(session: Session, model: type[QuotaProject] | type[QuotaRegionStatus]) -> Insert:
    """The dialect's INSERT, which knows that dialect's ON CONFLICT form."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    return mysql.insert(model)


def _on_conflict(statement: Insert, keys: list[str], values: dict[str, Any] | None) -> Insert:
    """On a duplicate key, update ``values`` (None: keep the stored row)."""
    if isinstance(statement, mysql.Insert):
        # MySQL has no "do nothing": set the key to itself.
        return statement.on_duplicate_key_update(values or {keys[0]: statement.inserted[keys[0]]})
    assert isinstance(statement, (postgresql.Insert, sqlite.Insert))
    if values is None:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=values)
