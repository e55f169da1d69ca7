"""A table as a leased work queue: the one lease mechanism of every engine loop.

A row of such a table is a unit of work (a sync item, a project to
reconcile). It is due when its due time has passed, and it is an engine's
while that engine's lease on it lasts:

    claim    take up to N due rows whose lease is free or expired, in due
             order; the lease's end becomes the row's due time, so a row
             whose engine dies is due again the moment its lease runs out
    renew    extend this engine's lease (and that due time with it)
    release  give the row back, due again at a given time, with whatever
             else the work writes (an item's status, a project's round)

A due time moved before the lease's end while the row is claimed (someone
asked for the work again meanwhile) is kept by ``renew`` and ``release``:
the request is not lost behind the engine's next regular visit.

Every claim, renewal and release is a compare-and-set UPDATE guarded by the
lease, so two engines racing for one row cannot both win, on any database,
and an engine whose lease was taken over writes nothing more. Candidates are
read with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL, MySQL 8,
MariaDB 10.6; SQLite has no row locks and ignores it): racing engines get
disjoint candidates instead of queueing on the same first rows and coming
back empty-handed while work waits.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from kingsync.db import clock
from kingsync.db.models import Base


@dataclasses.dataclass(frozen=True)
class Queue:
    """Which table, and which of its columns, make the queue.

    ``open``: rows that may be claimed at all (e.g. items still IN_PROGRESS);
    renew and release require it too. ``group``: a column to bound the claim
    by (an item's target region).
    """

    model: type[Base]
    key: InstrumentedAttribute[Any]
    due: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]
    expires: InstrumentedAttribute[Any]
    open: ColumnElement[bool] | None = None
    group: InstrumentedAttribute[Any] | None = None

    def _claimable(self, now: datetime.datetime) -> ColumnElement[bool]:
        free = or_(self.owner.is_(None), self.expires < now)
        conditions = [self.due <= now, free]
        if self.open is not None:
            conditions.append(self.open)
        return and_(*conditions)

    def _mine(self, key: str, engine_id: str) -> ColumnElement[bool]:
        conditions = [self.key == key, self.owner == engine_id]
        if self.open is not None:
            conditions.append(self.open)
        return and_(*conditions)

    def claim(
        self,
        session: Session,
        engine_id: str,
        limit: int,
        lease_seconds: float,
        *,
        where: ColumnElement[bool] | None = None,
        per_group: int | None = None,
        busy: Mapping[str, int] | None = None,
        values: Mapping[str, Any] | None = None,
        now: datetime.datetime | None = None,
    ) -> list[str]:
        """Keys of up to ``limit`` rows now leased to this engine, most overdue first.

        ``where`` narrows the candidates (a loop for some kinds only).
        With ``per_group``, at most that many rows per group value, counting
        the ``busy`` ones (group -> rows this engine already runs), so an
        engine never takes work it could not start at once. ``values`` are
        written with the claim (an item's start time and attempt count).
        """
        if limit <= 0:
            return []
        now = now or clock.utcnow()
        claimable = self._claimable(now)
        busy = busy or {}
        columns = [self.key] if self.group is None else [self.key, self.group]
        query = select(*columns).where(claimable)
        if where is not None:
            query = query.where(where)
        if per_group is not None and self.group is not None:
            full = [group for group, count in busy.items() if count >= per_group]
            if full:
                query = query.where(self.group.not_in(full))
        # Twice the limit when groups may turn some candidates down.
        fetch = limit * 2 if per_group is not None else limit
        candidates = session.execute(
            query.order_by(self.due, self.key).limit(fetch).with_for_update(skip_locked=True)
        ).all()
        chosen: list[str] = []
        room: dict[str, int] = {}
        for row in candidates:
            if len(chosen) >= limit:
                break
            if per_group is not None and self.group is not None:
                group = row[1]
                room.setdefault(group, per_group - busy.get(group, 0))
                if room[group] <= 0:
                    continue
                room[group] -= 1
            chosen.append(row[0])
        if not chosen:
            return []
        expires = now + datetime.timedelta(seconds=lease_seconds)
        session.execute(
            update(self.model)
            .where(self.key.in_(chosen), claimable)
            .values({self.owner: engine_id, self.expires: expires, self.due: expires, **_columns(self, values)})
            .execution_options(synchronize_session=False)
        )
        won = set(
            session.scalars(
                select(self.key).where(self.key.in_(chosen), self.owner == engine_id, self.expires == expires)
            )
        )
        return [key for key in chosen if key in won]

    def renew(self, session: Session, key: str, engine_id: str, lease_seconds: float) -> bool:
        """Extend this engine's lease on a row; False if it is no longer ours."""
        expires = clock.utcnow() + datetime.timedelta(seconds=lease_seconds)
        result = session.execute(
            update(self.model)
            .where(self._mine(key, engine_id))
            # The due time first: MySQL evaluates SET left to right, and the
            # test must see the lease's old end. A due time moved earlier stays.
            .ordered_values(
                (self.due, case((self.due >= self.expires, expires), else_=self.due)),
                (self.expires, expires),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(
        self,
        session: Session,
        key: str,
        engine_id: str,
        due: datetime.datetime,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """End this engine's lease, the row due again at ``due`` (or earlier, if
        asked for meanwhile), writing ``values`` too; False (nothing written)
        if the row was no longer ours."""
        extra = list(_columns(self, values).items())
        result = session.execute(
            update(self.model)
            .where(self._mine(key, engine_id))
            # The due time first: MySQL evaluates SET left to right (see renew).
            .ordered_values(
                (self.due, case((self.due < self.expires, self.due), else_=due)),
                (self.owner, None),
                (self.expires, None),
                *extra,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _columns(queue: Queue, values: Mapping[str, Any] | None) -> dict[Any, Any]:
    return {getattr(queue.model, name): value for name, value in (values or {}).items()}
