"""Repository for the id record (sync_copies): which source resource became
which target resource in each region. Functions take a session and return
frozen dataclasses, never ORM rows."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kingsync.db import clock, upsert
from kingsync.db.models import SyncCopy


@dataclasses.dataclass(frozen=True)
class Key:
    """What a copy is looked up by: whose resource of which kind, from where, to where."""

    kind: str
    scope: str
    source_region: str
    source_id: str
    target_region: str

    def digest(self) -> str:
        # The unit separator cannot appear in a region name or a resource id,
        # so no two keys join to the same text.
        joined = "\x1f".join((self.kind, self.scope, self.source_region, self.source_id, self.target_region))
        return hashlib.sha256(joined.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Copy:
    key: Key
    target_id: str
    complete: bool
    item_id: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


def _copy(row: SyncCopy) -> Copy:
    key = Key(row.kind, row.scope, row.source_region, row.source_id, row.target_region)
    return Copy(key, row.target_id, row.complete, row.item_id, row.created_at, row.updated_at)


def find(session: Session, key: Key) -> Copy | None:
    row = session.get(SyncCopy, key.digest())
    return None if row is None else _copy(row)


def keep(session: Session, key: Key, target_id: str, complete: bool, item_id: str | None) -> None:
    """Record (or update) the copy. One statement: two engines recording the same
    copy at once (one took over the other's expired lease) both succeed, the
    last one's values stay."""
    now = clock.utcnow()
    values = {"target_id": target_id, "complete": complete, "item_id": item_id, "updated_at": now}
    statement = upsert.insert(session, SyncCopy).values(
        id=key.digest(),
        kind=key.kind,
        scope=key.scope,
        source_region=key.source_region,
        source_id=key.source_id,
        target_region=key.target_region,
        created_at=now,
        **values,
    )
    session.execute(upsert.on_conflict(statement, ["id"], values))


def forget(session: Session, key: Key) -> None:
    session.execute(delete(SyncCopy).where(SyncCopy.id == key.digest()))


def in_scope(session: Session, kind: str, scope: str) -> list[Copy]:
    """Every copy of one owner's resources of one kind (e.g. a project's security groups)."""
    rows = session.scalars(
        select(SyncCopy)
        .where(SyncCopy.kind == kind, SyncCopy.scope == scope)
        .order_by(SyncCopy.source_region, SyncCopy.source_id, SyncCopy.target_region)
    )
    return [_copy(row) for row in rows]
