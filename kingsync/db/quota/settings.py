"""A project's settings beyond its global limits: per region, whether the
region is excluded from the headroom and which regional limits are pinned;
and the project's own headroom policy, overriding the deployment's. Setting
either makes the project managed; removing the last thing an admin set
unmanages it (kingsync.db.quota.projects). Every change is audited, the
exclusion and the policy under the labels below, for they are no limit."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kingsync.db import clock
from kingsync.db.models import QuotaPin, QuotaProject, QuotaRegionSetting
from kingsync.db.quota import audit, projects
from kingsync.db.quota.errors import NotFound

EXCLUDED = "excluded"  # the audit's resource for a region's exclusion
HEADROOM_POLICY = "headroom_policy"  # the start of the audit's resource for a policy change


@dataclasses.dataclass(frozen=True)
class RegionSetting:
    """A project's setting in one region: excluded from the headroom, and pinned regional limits."""

    region: str
    excluded: bool
    pins: dict[str, int]


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
    session: Session, project_id: str, region: str, excluded: bool, pins: Mapping[str, int], actor: audit.Actor
) -> RegionSetting:
    """Replace the project's setting in one region (pins not given are removed); the project becomes managed."""
    projects.for_change(session, project_id)
    now = clock.utcnow()  # after the lock: the audit's times follow the order of the changes
    row = session.get(QuotaRegionSetting, (project_id, region))
    was_excluded = row is not None and row.excluded
    if row is None:
        row = QuotaRegionSetting(project_id=project_id, region=region, excluded=excluded)
        session.add(row)
    row.excluded = excluded
    entries = []
    if was_excluded != excluded:
        entries.append(
            audit.entry(actor, EXCLUDED, int(was_excluded), int(excluded), project_id=project_id, region=region)
        )
    old = {pin.resource: pin for pin in _pins(session, project_id, region)}
    for resource, gone in old.items():
        if resource not in pins:
            entries.append(audit.entry(actor, resource, gone.hard_limit, None, project_id=project_id, region=region))
            session.delete(gone)
    for resource, value in pins.items():
        pin = old.get(resource)
        if pin is None:
            session.add(QuotaPin(project_id=project_id, region=region, resource=resource, hard_limit=value))
            entries.append(audit.entry(actor, resource, None, value, project_id=project_id, region=region))
        elif pin.hard_limit != value:
            entries.append(audit.entry(actor, resource, pin.hard_limit, value, project_id=project_id, region=region))
            pin.hard_limit = value
    audit.add_audit(session, entries, now=now)
    return RegionSetting(region, excluded, dict(pins))


def delete_region_setting(session: Session, project_id: str, region: str, actor: audit.Actor) -> None:
    """Remove the project's setting in one region: it shares the headroom like the others again."""
    project = projects.locked(session, project_id)
    row = session.get(QuotaRegionSetting, (project_id, region))
    pins = _pins(session, project_id, region)
    if row is None and not pins:
        raise NotFound(f"No quota setting for region {region}")
    now = clock.utcnow()
    entries = []
    if row is not None:
        if row.excluded:
            entries.append(audit.entry(actor, EXCLUDED, 1, 0, project_id=project_id, region=region))
        session.delete(row)
    for pin in pins:
        entries.append(audit.entry(actor, pin.resource, pin.hard_limit, None, project_id=project_id, region=region))
        session.delete(pin)
    audit.add_audit(session, entries, now=now)
    projects.after_removal(session, project, now)


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


def set_project_policy(
    session: Session, project_id: str, name: str | None, floor: float | None, actor: audit.Actor
) -> None:
    """Override the deployment's headroom policy for one project; the project becomes managed."""
    project = projects.for_change(session, project_id)
    now = clock.utcnow()  # after the lock: the audit's times follow the order of the changes
    old, new = (project.headroom_policy, project.policy_floor), (name, floor)
    if old != new:
        audit.add_audit(session, [_policy_entry(actor, project_id, old, new)], now=now)
    project.headroom_policy, project.policy_floor = name, floor


def delete_project_policy(session: Session, project_id: str, actor: audit.Actor) -> None:
    """Back to the deployment's headroom policy."""
    project = projects.locked(session, project_id)
    if project is None or (project.headroom_policy is None and project.policy_floor is None):
        raise NotFound("No headroom policy set for the project")
    now = clock.utcnow()
    old = (project.headroom_policy, project.policy_floor)
    audit.add_audit(session, [_policy_entry(actor, project_id, old, (None, None))], now=now)
    project.headroom_policy = project.policy_floor = None
    projects.after_removal(session, project, now)


def _policy_entry(
    actor: audit.Actor, project_id: str, old: tuple[str | None, float | None], new: tuple[str | None, float | None]
) -> audit.AuditEntry:
    """Resource "headroom_policy: OLD -> NEW", old and new limit None: a policy is no number."""
    return audit.entry(
        actor, f"{HEADROOM_POLICY}: {_policy_label(*old)} -> {_policy_label(*new)}", None, None, project_id
    )


def _policy_label(name: str | None, floor: float | None) -> str:
    label = name or "default"
    return label if floor is None else f"{label} floor={floor:g}"
