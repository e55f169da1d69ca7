"""The quota audit: who changed which limit, setting or policy, when and why.
An admin's change through the API and every regional limit the engine
changed (a rebalance, a drift it corrected) are entries alike; ``entry``
builds one for an actor's change, ``add_audit`` stores them and
``list_audit`` pages through a project's, newest first."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from kingsync.db import clock
from kingsync.db.models import QuotaAudit


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


def entry(
    actor: Actor,
    resource: str,
    old: int | None,
    new: int | None,
    project_id: str | None = None,
    class_name: str | None = None,
    region: str | None = None,
) -> AuditEntry:
    """An entry for the actor's change of one value, to be stored by ``add_audit``."""
    return AuditEntry(project_id, class_name, region, resource, old, new, actor.actor, actor.reason, actor.request_id)


def add_audit(session: Session, entries: Sequence[AuditEntry], now: datetime.datetime | None = None) -> None:
    """Store entries; one without a time gets ``now``."""
    if not entries:
        return
    now = now or clock.utcnow()
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
