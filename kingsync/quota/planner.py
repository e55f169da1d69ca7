"""Per-region targets for one project, from one snapshot. Pure: no I/O.

For a split resource the planner draws the "lines in the sand" of the
demarcation protocol (Barbara and Garcia-Molina): regional limits whose sum,
together with what unreachable regions may still hold, never exceeds the
global limit G. Every region keeps at least its usage (a limit below usage
would be refused, or would need ``force``); only the headroom, G minus what
is already held, is divided:

    excluded regions   get none: their limit follows their usage
    pinned regions     get up to their pin first, in region order
    the others         share the rest by the project's policy (even or
                       proportional to recent demand, with a floor)

Shares are whole numbers: the rounding is largest remainder (Hamilton's
method), ties broken by region name, so the same snapshot always gives the
same plan and no unit of headroom is lost or invented.

The applier (apply.py) then moves the regions to these targets without ever
breaking the invariant in between.
"""

from __future__ import annotations

import fractions
from collections.abc import Mapping, Sequence

from kingsync.quota import resources
from kingsync.quota.model import PROPORTIONAL, Policy, RegionView, ResourcePlan, term
from kingsync.quota.resources import UNLIMITED

OVERSPENT = "overspent"
UNKNOWN_BUDGET = "unknown budget"


def plan(resource: str, global_limit: int, views: Sequence[RegionView], policy: Policy) -> ResourcePlan:
    """Targets for the reachable regions of one split resource.

    An unreachable region cannot be lowered, so what it may hold,
    max(last confirmed limit, usage), stays spent; if it has no such number
    (never confirmed, or unlimited) nothing is known to be free and every
    reachable region is held at its usage until it answers again. A project
    already using more than G (overspent) is held at its usage too: no
    region gets headroom that does not exist.
    """
    ordered = sorted(views, key=lambda view: view.region)
    reachable = [view for view in ordered if view.reachable]
    if global_limit == UNLIMITED:
        return ResourcePlan(resource, None, {view.region: UNLIMITED for view in reachable})

    at_usage = {view.region: view.usage for view in reachable}
    held = [term(view.limit, view.usage) for view in ordered if not view.reachable]
    known_held = [amount for amount in held if amount is not None]
    if len(known_held) < len(held):
        return ResourcePlan(resource, global_limit, at_usage, frozen=UNKNOWN_BUDGET)

    room = global_limit - sum(known_held)  # what the reachable regions may hold together
    headroom = room - sum(at_usage.values())
    if headroom < 0:
        return ResourcePlan(resource, global_limit, at_usage, frozen=OVERSPENT)

    shares = _divide(headroom, reachable, policy)
    targets = {view.region: view.usage + shares.get(view.region, 0) for view in reachable}
    if policy.hysteresis > 0:
        targets = _damp(targets, reachable, room, policy.hysteresis * global_limit)
    return ResourcePlan(resource, global_limit, targets)


def plan_project(
    global_limits: Mapping[str, int], views: Mapping[str, Sequence[RegionView]], policy: Policy
) -> dict[str, ResourcePlan]:
    """Plans for every resource of a project that has a global limit.

    Split and copyable resources are divided (for copyable ones the caller
    passes G plus the copies counted once; see kingsync.quota.copies).
    Copied resources are not: each reachable region gets the whole global
    limit (a per-server, per-user or per-group limit). Ignored resources and
    resources without a global limit are left to the regions.
    """
    plans: dict[str, ResourcePlan] = {}
    for resource in sorted(views):
        global_limit = global_limits.get(resource)
        if global_limit is None:
            continue
        kind = resources.managed_kind(resource)
        if kind in resources.DIVIDED:
            plans[resource] = plan(resource, global_limit, views[resource], policy)
        elif kind == resources.COPIED:
            targets = {view.region: global_limit for view in views[resource] if view.reachable}
            plans[resource] = ResourcePlan(resource, None, targets)
    return plans


def _divide(headroom: int, reachable: list[RegionView], policy: Policy) -> dict[str, int]:
    """Headroom per region: pins first, in region order, then the policy's shares.

    Headroom no region can take (all excluded or pinned) stays unallocated:
    handing it to a pinned region would move it off its pin.
    """
    shares: dict[str, int] = {}
    left = headroom
    for view in reachable:
        if view.excluded or view.pin is None:
            continue
        wanted = left if view.pin == UNLIMITED else max(view.pin - view.usage, 0)
        shares[view.region] = min(wanted, left)
        left -= shares[view.region]

    sharing = [view for view in reachable if not view.excluded and view.pin is None]
    if not sharing or left == 0:
        return shares
    if policy.name == PROPORTIONAL:
        shares.update(_proportional(left, sharing, policy.floor))
    else:
        shares.update(_largest_remainder(left, {view.region: fractions.Fraction(1) for view in sharing}))
    return shares


def _proportional(headroom: int, sharing: list[RegionView], floor: float) -> dict[str, int]:
    """Each region a floor share of an even split, the rest by demand.

    The floor lets a quiet region start something without waiting for the
    next rebalance. A floor outside [0, 1] would hand out more than the
    headroom, and negative demand (a region that shrank) asks for nothing.
    """
    share = fractions.Fraction(str(min(max(floor, 0.0), 1.0)))  # 0.3 as written, not its binary neighbour
    base = int(share * headroom / len(sharing))
    demand = {view.region: fractions.Fraction(max(view.demand, 0.0)) for view in sharing}
    rest = _largest_remainder(headroom - base * len(sharing), demand)
    return {region: base + extra for region, extra in rest.items()}


def _largest_remainder(total: int, weights: Mapping[str, fractions.Fraction]) -> dict[str, int]:
    """``total`` units in proportion to ``weights`` (equal when all are zero).

    Every region gets the whole part of its exact quota; the units left go
    one each to the largest fractional parts, ties by region name. Exact
    fractions, not floats, so the sum is always ``total``.
    """
    if not any(weights.values()):
        weights = {region: fractions.Fraction(1) for region in weights}
    whole = sum(weights.values())
    exact = {region: total * weight / whole for region, weight in weights.items()}
    shares = {region: int(quota) for region, quota in exact.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(exact, key=lambda region: (-(exact[region] - shares[region]), region))
    for region in by_remainder[:left]:
        shares[region] += 1
    return shares


def _damp(targets: dict[str, int], reachable: list[RegionView], room: int, threshold: float) -> dict[str, int]:
    """Keep limits that would move by less than ``threshold``.

    Never for a full region (limit at or below usage): it needs its share
    now. Skipped increases come first, they only lower the sum; a skipped
    decrease keeps more than planned, so it is taken only while the
    reachable regions together stay within ``room``.
    """
    damped = dict(targets)
    decreases: list[tuple[str, int]] = []  # (region, current limit)
    for view in reachable:
        current = view.limit
        if current is None or current == UNLIMITED or current <= view.usage:
            continue
        target = targets[view.region]
        if target == current or abs(target - current) >= threshold:
            continue
        if target > current:
            damped[view.region] = current
        else:
            decreases.append((view.region, current))

    total = sum(max(damped[view.region], view.usage) for view in reachable)
    for region, current in decreases:
        extra = current - damped[region]
        if total + extra <= room:
            damped[region] = current
            total += extra
    return damped
