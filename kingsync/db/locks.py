"""Sync locks: a name one running item holds at a time (kingsync.db.models.SyncLock).

``acquire`` takes the lock if nobody holds it, or if its holder is no
longer a live item: one that ended, or whose lease ran out (its engine
died). So a lock outlives its holder only as long as the holder's lease,
which the engine renews while the item runs, and needs no expiry of its own.
Each call is one compare-and-set statement: two items racing for a lock
cannot both win, on any database.
"""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from kingsync.db import clock, upsert
from kingsync.db.models import IN_PROGRESS, SyncItem, SyncLock


def acquire(session: Session, name: str, item_id: str) -> bool:
    """Take ``name`` for ``item_id`` (again, if it holds it already); False if a live item holds it."""
    session.execute(
        upsert.on_conflict(upsert.insert(session, SyncLock).values(name=name, item_id=item_id), ["name"], None)
    )
    live = select(SyncItem.id).where(
        SyncItem.status == IN_PROGRESS,
        SyncItem.lease_owner.is_not(None),
        SyncItem.lease_expires_at > clock.utcnow(),
    )
    taken = session.execute(
        update(SyncLock)
        .where(SyncLock.name == name, or_(SyncLock.item_id == item_id, SyncLock.item_id.not_in(live)))
        .values(item_id=item_id)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(session: Session, name: str, item_id: str) -> None:
    session.execute(delete(SyncLock).where(and_(SyncLock.name == name, SyncLock.item_id == item_id)))
