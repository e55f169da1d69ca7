"""Global limits: a project's own, the quota classes', and the effective
limits a managed project is held to (kingsync's built-in defaults, overlaid
by the ``default`` class, overlaid by the project's own). Setting a project's
limits makes it managed; deleting the last thing an admin set unmanages it
(kingsync.db.quota.projects). Every change is audited."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from kingsync.db import clock
from kingsync.db.models import QuotaClass, QuotaLimit
from kingsync.db.quota import audit, projects
from kingsync.db.quota.errors import NotFound
from kingsync.quota.resources import defaults as builtin_defaults

DEFAULT_CLASS = "default"

# -- project limits ----------------------------------------------------------------------------------


def get_project_limits(session: Session, project_id: str) -> dict[str, int]:
    """The project's own global limits (without the defaults)."""
    query = select(QuotaLimit.resource, QuotaLimit.hard_limit).where(QuotaLimit.project_id == project_id)
    return {resource: limit for resource, limit in session.execute(query.order_by(QuotaLimit.resource))}


def set_project_limits(
    session: Session, project_id: str, limits: Mapping[str, int], actor: audit.Actor
) -> dict[str, int]:
    """Set (create or update) global limits; the project becomes managed and due now. Returns what was written."""
    projects.for_change(session, project_id)
    now = clock.utcnow()  # after the lock: the audit's times follow the order of the changes
    entries = _upsert(session, QuotaLimit, {"project_id": project_id}, limits, actor, now)
    audit.add_audit(session, entries, now=now)
    return dict(limits)


def delete_project_limits(
    session: Session, project_id: str, resources: Sequence[str] | None, actor: audit.Actor
) -> list[str]:
    """Delete the named global limits (None: all of them); the project falls back to the defaults.

    Nothing is deleted unless every named limit exists. If that was the last
    thing an admin had set for the project, it is no longer managed (see
    kingsync.db.quota). Returns the resources deleted.
    """
    project = projects.locked(session, project_id)
    rows = {row.resource: row for row in session.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id))}
    if not rows:
        raise NotFound("Project quota not found")
    names = sorted(rows) if resources is None else list(dict.fromkeys(resources))
    for name in names:
        if name not in rows:
            raise NotFound(f"Quota limit for {name} not found for the project")
    now = clock.utcnow()
    entries = []
    for name in names:
        entries.append(audit.entry(actor, name, rows[name].hard_limit, None, project_id=project_id))
        session.delete(rows[name])
    audit.add_audit(session, entries, now=now)
    projects.after_removal(session, project, now)
    return names


# -- quota classes -----------------------------------------------------------------------------------


def get_class(session: Session, class_name: str) -> dict[str, int]:
    """The class's own limits (empty for a class nobody set)."""
    query = select(QuotaClass.resource, QuotaClass.hard_limit).where(QuotaClass.class_name == class_name)
    return {resource: limit for resource, limit in session.execute(query.order_by(QuotaClass.resource))}


def set_class(session: Session, class_name: str, limits: Mapping[str, int], actor: audit.Actor) -> dict[str, int]:
    """Set (create or update) a class's limits. Returns what was written.

    Changing the ``default`` class changes the effective limits of every
    managed project without limits of its own, so all of them become due.
    """
    now = clock.utcnow()
    entries = _upsert(session, QuotaClass, {"class_name": class_name}, limits, actor, now)
    audit.add_audit(session, entries, now=now)
    if entries and class_name == DEFAULT_CLASS:
        projects.make_all_due(session, now)
    return dict(limits)


def delete_class(session: Session, class_name: str, actor: audit.Actor) -> None:
    """Delete all of a class's limits (the ``default`` class: back to the built-in defaults)."""
    rows = session.scalars(select(QuotaClass).where(QuotaClass.class_name == class_name)).all()
    if not rows:
        raise NotFound("Quota class not found")
    now = clock.utcnow()
    entries = []
    for row in rows:
        entries.append(audit.entry(actor, row.resource, row.hard_limit, None, class_name=class_name))
        session.delete(row)
    audit.add_audit(session, entries, now=now)
    if class_name == DEFAULT_CLASS:
        projects.make_all_due(session, now)


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


# -- helpers -------------------------------------------------------------------------------------------


_Row = TypeVar("_Row", QuotaLimit, QuotaClass)


def _upsert(
    session: Session,
    model: type[_Row],
    owner: dict[str, str],
    limits: Mapping[str, int],
    actor: audit.Actor,
    now: datetime.datetime,
) -> list[audit.AuditEntry]:
    """Create or update the owner's row of each resource (a project's limits or a
    class's); an audit entry for each value that changed."""
    found = {row.resource: row for row in session.scalars(select(model).filter_by(**owner))}
    entries = []
    for resource, value in limits.items():
        row = found.get(resource)
        if row is None:
            session.add(model(**owner, resource=resource, hard_limit=value, created_at=now))
            entries.append(audit.entry(actor, resource, None, value, **owner))
        elif row.hard_limit != value:
            entries.append(audit.entry(actor, resource, row.hard_limit, value, **owner))
            row.hard_limit, row.updated_at = value, now
    return entries
