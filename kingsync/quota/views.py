"""What the API shows of a project's quotas beyond its global limits:
the live usage summed over regions, and the dry run of a change.

Both read the regions now (one call per service per region, in parallel,
and for a project with copies of security groups on record one listing of
its groups per region they are in) and never write anything, to the regions
or to the database.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping

from kingsync import regions
from kingsync.conf import CONF
from kingsync.quota import copies, planner, reconcile, regional, usage
from kingsync.quota.model import RegionError
from kingsync.quota.resources import UNLIMITED


@dataclasses.dataclass(frozen=True)
class RegionResource:
    """One resource in one region, as a dry run sees it."""

    usage: int | None  # None: the region could not be read and nothing was stored
    limit: int | None  # the region's limit now (or last confirmed, if unreachable)
    planned: int | None  # what the change would make it; None: not written (unreachable, not managed)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A region that could not take the planned share: e.g. its usage is above it."""

    region: str
    resource: str
    reason: str
    minimum: int | None  # the lowest limit the region would accept, when known


@dataclasses.dataclass(frozen=True)
class DryRun:
    limits: dict[str, int]  # the project's effective global limits after the change
    regions: dict[str, dict[str, RegionResource]]  # region -> resource -> view
    refusals: list[Refusal]
    unreachable: list[str]  # "RegionTwo cinder: <why>"


_lock = threading.Lock()
_reconciler: reconcile.Reconciler | None = None


def _shared(db_url: str | None) -> reconcile.Reconciler:
    """One reader per process: its region bound holds across concurrent API requests."""
    global _reconciler
    with _lock:
        if _reconciler is None or _reconciler.db_url != db_url:
            if _reconciler is not None:
                _reconciler.close()
            _reconciler = reconcile.Reconciler(
                regional.OpenStackQuotas(regions.connection),
                regions.names,
                reconcile.Settings.from_conf(CONF.quota),
                per_region=CONF.quota.per_region_concurrency,
                db_url=db_url,
            )
        return _reconciler


def total_usage(db_url: str | None, project_id: str, reader: reconcile.Reconciler | None = None) -> dict[str, int]:
    """Usage now, over all regions, for every resource the project has a global limit for.

    Split resources are summed; security groups and rules are summed with
    kingsync's copies of a group counted once; copied ones show the largest
    region's. A region that cannot be read counts with its last stored usage.
    """
    reader = reader or _shared(db_url)
    state = reader.load(project_id)
    names = reader.region_names()
    snap = reader.snapshot(project_id, names)
    views, _drift = reconcile.build_views(project_id, state, names, snap)
    total = usage.aggregate_usage(views, reader.count_copies(project_id, state, snap))
    return {name: total.get(name, 0) for name in state.limits}


def dry_run(
    db_url: str | None, project_id: str, proposed: Mapping[str, int], reader: reconcile.Reconciler | None = None
) -> DryRun:
    """The regional limits ``proposed`` would produce now, and who would refuse them. Writes nothing."""
    reader = reader or _shared(db_url)
    state = reader.load(project_id, proposed)
    names = reader.region_names()
    snap = reader.snapshot(project_id, names)
    views, _drift = reconcile.build_views(project_id, state, names, snap)
    # As the engine plans: security groups and rules with G + dup (copies.planning_limits).
    limits = copies.planning_limits(state.limits, reader.count_copies(project_id, state, snap))
    plans = planner.plan_project(limits, views, state.policy)
    # What each region would get if usage did not matter: a region whose usage
    # is above that share would refuse it, and stays at its usage instead.
    ideal = planner.plan_project(
        limits,
        {res: [dataclasses.replace(v, usage=0) for v in vs] for res, vs in views.items()},
        state.policy,
    )
    shown: dict[str, dict[str, RegionResource]] = {}
    refusals: list[Refusal] = []
    for resource, region_views in views.items():
        plan = plans.get(resource)
        for view in region_views:
            planned = plan.targets.get(view.region) if plan is not None else None
            shown.setdefault(view.region, {})[resource] = RegionResource(view.usage, view.limit, planned)
            if not view.reachable:
                continue
            share = ideal[resource].targets.get(view.region) if resource in ideal else None
            if share is not None and share != UNLIMITED and view.usage > share:
                refusals.append(
                    Refusal(
                        view.region,
                        resource,
                        "usage %d is above the %d this region would get; it refuses a limit below usage, "
                        "so it keeps %d" % (view.usage, share, view.usage),
                        view.usage,
                    )
                )
    unreachable = sorted(str(read) for read in snap.values() if isinstance(read, RegionError) and not read.refused)
    return DryRun(dict(state.limits), shown, refusals, unreachable)
