"""What the engine knows of the regions: per project, the last regional
limit it confirmed in each region, the usage and demand it last read there
(``Regional``, stored with ``save_regional``), and per region and service
whether the service last answered (``RegionStatus``). The API shows these
as they are, without calling a region; the engine falls back on them for a
region it cannot read."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Sequence
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kingsync.db import clock, upsert
from kingsync.db.models import QuotaRegional, QuotaRegionStatus


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""A RegionalUpdate field left as it is stored (None would store "unknown")."""


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
    now = now or clock.utcnow()
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
    now = now or clock.utcnow()
    values: dict[str, Any] = {"reachable": reachable, "last_error": error, "checked_at": now}
    if reachable:
        values["last_ok_at"] = now
    statement = upsert.insert(session, QuotaRegionStatus).values(region=region, service=service, **values)
    session.execute(upsert.on_conflict(statement, ["region", "service"], values))


def list_region_status(session: Session) -> dict[tuple[str, str], RegionStatus]:
    rows = session.scalars(select(QuotaRegionStatus).order_by(QuotaRegionStatus.region, QuotaRegionStatus.service))
    return {
        (row.region, row.service): RegionStatus(
            row.region, row.service, row.reachable, row.last_error, row.checked_at, row.last_ok_at
        )
        for row in rows
    }
