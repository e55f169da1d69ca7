"""The planner: per-region targets that never add up to more than the global limit."""

from __future__ import annotations

import dataclasses
import fractions
import math
import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kingsync.quota.model import EVEN, HEADROOM_POLICIES, PROPORTIONAL, Policy, RegionView, ResourcePlan, term
from kingsync.quota.planner import OVERSPENT, UNKNOWN_BUDGET, plan, plan_project
from kingsync.quota.resources import UNLIMITED
from tests.unit.quota.fakes import within_budget

REGIONS = ("RegionFive", "RegionFour", "RegionOne", "RegionThree", "RegionTwo")
PROPERTY = settings(max_examples=200, deadline=None)

limits = st.one_of(st.integers(0, 80), st.just(UNLIMITED), st.none())
policies = st.builds(
    Policy,
    name=st.sampled_from(HEADROOM_POLICIES),
    floor=st.floats(0.0, 1.0),
    hysteresis=st.one_of(st.just(0.0), st.floats(0.0, 0.5)),
)
global_limits = st.one_of(st.integers(0, 200), st.just(0))


@st.composite
def snapshots(draw: st.DrawFn, reachable: bool | None = None, extras: bool = True) -> list[RegionView]:
    """One resource in 1 to 5 regions; some unreachable, pinned or excluded unless told otherwise."""
    count = draw(st.integers(1, len(REGIONS)))
    views = []
    for region in draw(st.permutations(REGIONS))[:count]:
        views.append(
            RegionView(
                region=region,
                usage=draw(st.integers(0, 50)),
                limit=draw(limits),
                reachable=draw(st.sampled_from([True, True, True, False])) if reachable is None else reachable,
                pin=draw(st.one_of(st.none(), st.none(), st.integers(0, 60))) if extras else None,
                excluded=draw(st.sampled_from([False, False, False, True])) if extras else False,
                demand=draw(st.floats(-5.0, 50.0)),
            )
        )
    return views


def held_by_unreachable(views: list[RegionView]) -> int:
    amounts = [term(view.limit, view.usage) for view in views if not view.reachable]
    assert all(amount is not None for amount in amounts)
    return sum(amount for amount in amounts if amount is not None)


def held_by_plan(result: ResourcePlan, views: list[RegionView]) -> int:
    """sum(max(target, usage)) over the reachable regions plus what the unreachable ones hold."""
    usage = {view.region: view.usage for view in views}
    return sum(max(target, usage[region]) for region, target in result.targets.items()) + held_by_unreachable(views)


def shares(result: ResourcePlan, views: list[RegionView]) -> dict[str, int]:
    return {view.region: result.targets[view.region] - view.usage for view in views if view.reachable}


# Properties of every plan.


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_every_reachable_region_gets_a_target_and_never_below_its_usage(
    views: list[RegionView], global_limit: int, policy: Policy
) -> None:
    result = plan("cores", global_limit, views, policy)
    assert set(result.targets) == {view.region for view in views if view.reachable}
    for view in views:
        if view.reachable:
            assert result.targets[view.region] >= view.usage


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_targets_and_unreachable_regions_never_hold_more_than_the_global_limit(
    views: list[RegionView], global_limit: int, policy: Policy
) -> None:
    result = plan("cores", global_limit, views, policy)
    assert result.budget == global_limit
    if result.frozen is None:
        assert held_by_plan(result, views) <= global_limit


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_a_state_within_the_invariant_is_planned_within_it(
    drawn: list[RegionView], global_limit: int, policy: Policy
) -> None:
    """sum max(target, u) + unreachable <= max(G, total usage) whenever the snapshot satisfied it."""
    usage = {view.region: view.usage for view in drawn}
    finite = {view.region: view.limit if view.limit is not None and view.limit >= 0 else 0 for view in drawn}
    fitted = within_budget(finite, usage, global_limit)
    views = [dataclasses.replace(view, limit=fitted[view.region]) for view in drawn]
    result = plan("cores", global_limit, views, policy)
    assert result.frozen != UNKNOWN_BUDGET
    assert held_by_plan(result, views) <= max(global_limit, sum(usage.values()))


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_an_overspent_project_is_held_at_its_usage(views: list[RegionView], global_limit: int, policy: Policy) -> None:
    assume(all(term(view.limit, view.usage) is not None for view in views if not view.reachable))
    result = plan("cores", global_limit, views, policy)
    overspent = held_by_unreachable(views) + sum(view.usage for view in views if view.reachable) > global_limit
    assert (result.frozen == OVERSPENT) == overspent
    if overspent:
        assert shares(result, views) == {view.region: 0 for view in views if view.reachable}


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_an_unreachable_region_without_a_known_limit_freezes_every_region_at_its_usage(
    views: list[RegionView], global_limit: int, policy: Policy
) -> None:
    unknown = any(term(view.limit, view.usage) is None for view in views if not view.reachable)
    result = plan("cores", global_limit, views, policy)
    assert (result.frozen == UNKNOWN_BUDGET) == unknown
    if unknown:
        assert shares(result, views) == {view.region: 0 for view in views if view.reachable}


@PROPERTY
@given(snapshots(), policies)
def test_unlimited_makes_every_reachable_region_unlimited(views: list[RegionView], policy: Policy) -> None:
    result = plan("cores", UNLIMITED, views, policy)
    assert result.budget is None
    assert result.frozen is None
    assert result.targets == {view.region: UNLIMITED for view in views if view.reachable}


@PROPERTY
@given(snapshots(), global_limits, policies, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_snapshot(
    views: list[RegionView], global_limit: int, policy: Policy, rng: random.Random
) -> None:
    shuffled = list(views)
    rng.shuffle(shuffled)
    assert plan("cores", global_limit, shuffled, policy) == plan("cores", global_limit, views, policy)


# Headroom policies, pins and exclusions.


@PROPERTY
@given(snapshots(reachable=True, extras=False), st.integers(0, 400))
def test_even_split_gives_every_region_the_same_share_within_one(views: list[RegionView], global_limit: int) -> None:
    result = plan("cores", global_limit, views, Policy(EVEN))
    assume(result.frozen is None)
    given_out = shares(result, views)
    assert max(given_out.values()) - min(given_out.values()) <= 1
    assert sum(given_out.values()) == global_limit - sum(view.usage for view in views)


@PROPERTY
@given(snapshots(reachable=True, extras=False), st.integers(0, 400), st.floats(0.0, 1.0))
def test_proportional_gives_every_region_its_floor_and_hands_out_all_headroom(
    views: list[RegionView], global_limit: int, floor: float
) -> None:
    result = plan("cores", global_limit, views, Policy(PROPORTIONAL, floor=floor))
    assume(result.frozen is None)
    headroom = global_limit - sum(view.usage for view in views)
    given_out = shares(result, views)
    assert sum(given_out.values()) == headroom
    # The floor as the operator wrote it (0.3, not the binary float just below it).
    floor_share = math.floor(fractions.Fraction(str(floor)) * headroom / len(views))
    assert min(given_out.values()) >= floor_share


def test_proportional_follows_demand_above_the_floor() -> None:
    views = [
        RegionView("RegionOne", usage=0, limit=0, demand=3.0),
        RegionView("RegionTwo", usage=0, limit=0, demand=1.0),
        RegionView("RegionThree", usage=0, limit=0, demand=0.0),
    ]
    result = plan("cores", 100, views, Policy(PROPORTIONAL, floor=0.3))
    # floor: 0.3 x 100 / 3 = 10 each; the other 70 go 3:1:0.
    assert result.targets == {"RegionOne": 10 + 53, "RegionTwo": 10 + 17, "RegionThree": 10}


def test_proportional_without_demand_is_even() -> None:
    views = [RegionView(region, usage=0, limit=0) for region in ("RegionOne", "RegionTwo", "RegionThree")]
    result = plan("cores", 10, views, Policy(PROPORTIONAL, floor=0.0))
    assert result.targets == {"RegionOne": 4, "RegionThree": 3, "RegionTwo": 3}


def test_even_split_rounds_by_largest_remainder_in_region_order() -> None:
    views = [RegionView(region, usage=1, limit=5) for region in ("RegionTwo", "RegionOne", "RegionThree")]
    result = plan("cores", 8, views, Policy(EVEN))
    assert result.targets == {"RegionOne": 3, "RegionThree": 3, "RegionTwo": 2}


@PROPERTY
@given(snapshots(reachable=True), global_limits, policies)
def test_excluded_regions_follow_their_usage(views: list[RegionView], global_limit: int, policy: Policy) -> None:
    result = plan("cores", global_limit, views, dataclasses.replace(policy, hysteresis=0.0))
    for view in views:
        if view.excluded:
            assert result.targets[view.region] == view.usage


@PROPERTY
@given(snapshots(reachable=True), global_limits, policies)
def test_pins_are_served_first_and_never_exceeded(views: list[RegionView], global_limit: int, policy: Policy) -> None:
    result = plan("cores", global_limit, views, dataclasses.replace(policy, hysteresis=0.0))
    assume(result.frozen is None)
    pinned = [view for view in views if view.pin is not None and not view.excluded]
    headroom = global_limit - sum(view.usage for view in views)
    wanted = sum(max(view.pin - view.usage, 0) for view in pinned if view.pin is not None)
    for view in pinned:
        assert view.pin is not None
        assert result.targets[view.region] <= max(view.pin, view.usage)
        if wanted <= headroom:
            assert result.targets[view.region] == max(view.pin, view.usage)


def test_pins_beyond_the_headroom_are_served_in_region_order() -> None:
    views = [
        RegionView("RegionTwo", usage=0, limit=0, pin=8),
        RegionView("RegionOne", usage=2, limit=2, pin=8),
        RegionView("RegionThree", usage=0, limit=0),
    ]
    result = plan("cores", 10, views, Policy())
    assert result.targets == {"RegionOne": 8, "RegionTwo": 2, "RegionThree": 0}


def test_an_unlimited_pin_takes_what_the_pins_before_it_left() -> None:
    views = [
        RegionView("RegionOne", usage=0, limit=0, pin=3),
        RegionView("RegionTwo", usage=1, limit=0, pin=UNLIMITED),
        RegionView("RegionThree", usage=0, limit=0),
    ]
    assert plan("cores", 10, views, Policy()).targets == {"RegionOne": 3, "RegionTwo": 7, "RegionThree": 0}


def test_headroom_nobody_may_take_stays_unallocated() -> None:
    views = [RegionView("RegionOne", usage=2, limit=9, pin=4), RegionView("RegionTwo", usage=1, limit=9, excluded=True)]
    assert plan("cores", 20, views, Policy()).targets == {"RegionOne": 4, "RegionTwo": 1}


# Hysteresis.


@PROPERTY
@given(snapshots(), global_limits, policies)
def test_hysteresis_keeps_a_limit_or_moves_it_to_the_undamped_target(
    views: list[RegionView], global_limit: int, policy: Policy
) -> None:
    damped = plan("cores", global_limit, views, policy)
    undamped = plan("cores", global_limit, views, dataclasses.replace(policy, hysteresis=0.0))
    for view in views:
        if not view.reachable:
            continue
        target = damped.targets[view.region]
        assert target in (undamped.targets[view.region], view.limit)
        if target != undamped.targets[view.region]:
            assert view.limit is not None and view.limit > view.usage  # never a full region
            assert abs(target - undamped.targets[view.region]) < policy.hysteresis * global_limit


def test_hysteresis_skips_small_changes() -> None:
    views = [RegionView("RegionOne", usage=10, limit=51), RegionView("RegionTwo", usage=10, limit=49)]
    assert plan("cores", 100, views, Policy(hysteresis=0.02)).targets == {"RegionOne": 51, "RegionTwo": 49}
    assert plan("cores", 100, views, Policy()).targets == {"RegionOne": 50, "RegionTwo": 50}


def test_hysteresis_never_keeps_a_decrease_the_global_limit_cannot_afford() -> None:
    views = [RegionView("RegionOne", usage=10, limit=52), RegionView("RegionTwo", usage=10, limit=50)]
    # Keeping 52 would need 102 of 100: RegionOne goes to 50 although the change is small.
    assert plan("cores", 100, views, Policy(hysteresis=0.05)).targets == {"RegionOne": 50, "RegionTwo": 50}


def test_hysteresis_never_starves_a_full_region() -> None:
    views = [RegionView("RegionOne", usage=49, limit=49), RegionView("RegionTwo", usage=49, limit=50)]
    result = plan("cores", 100, views, Policy(hysteresis=0.05))
    assert result.targets == {"RegionOne": 50, "RegionTwo": 50}


# Edge values.


def test_a_global_limit_of_zero_holds_every_region_at_zero() -> None:
    views = [RegionView("RegionOne", usage=0, limit=10), RegionView("RegionTwo", usage=0, limit=UNLIMITED)]
    result = plan("cores", 0, views, Policy())
    assert result.frozen is None
    assert result.targets == {"RegionOne": 0, "RegionTwo": 0}


def test_a_global_limit_of_zero_with_usage_is_overspent() -> None:
    views = [RegionView("RegionOne", usage=3, limit=10), RegionView("RegionTwo", usage=0, limit=10)]
    result = plan("cores", 0, views, Policy())
    assert result.frozen == OVERSPENT
    assert result.targets == {"RegionOne": 3, "RegionTwo": 0}


def test_overspent_project_example() -> None:
    views = [
        RegionView("RegionOne", usage=8, limit=10),
        RegionView("RegionTwo", usage=6, limit=6),
        RegionView("RegionThree", usage=0, limit=4, reachable=False),
    ]
    result = plan("cores", 15, views, Policy())
    assert result == ResourcePlan("cores", 15, {"RegionOne": 8, "RegionTwo": 6}, frozen=OVERSPENT)


def test_an_unreachable_region_keeps_its_last_confirmed_limit_in_the_budget() -> None:
    views = [
        RegionView("RegionOne", usage=2, limit=10),
        RegionView("RegionTwo", usage=2, limit=10),
        RegionView("RegionThree", usage=1, limit=10, reachable=False),
    ]
    assert plan("cores", 30, views, Policy()).targets == {"RegionOne": 10, "RegionTwo": 10}


def test_an_unreachable_region_never_confirmed_freezes_the_others() -> None:
    views = [
        RegionView("RegionOne", usage=2, limit=10),
        RegionView("RegionTwo", usage=2, limit=10),
        RegionView("RegionThree", usage=1, limit=None, reachable=False),
    ]
    result = plan("cores", 30, views, Policy())
    assert result == ResourcePlan("cores", 30, {"RegionOne": 2, "RegionTwo": 2}, frozen=UNKNOWN_BUDGET)


# The whole project.


def test_plan_project_splits_copies_and_leaves_the_rest_to_the_regions() -> None:
    regions = [RegionView("RegionOne", usage=1, limit=5), RegionView("RegionTwo", usage=2, limit=5, reachable=False)]
    views = {resource: regions for resource in ("cores", "key_pairs", "security_group", "floating_ips", "ram")}
    plans = plan_project({"cores": 10, "key_pairs": 7, "security_group": 12, "floating_ips": 3}, views, Policy())
    assert plans == {
        "cores": ResourcePlan("cores", 10, {"RegionOne": 5}),
        "key_pairs": ResourcePlan("key_pairs", None, {"RegionOne": 7}),
        # Copyable: split like cores (the caller adds the copies counted once to G).
        "security_group": ResourcePlan("security_group", 12, {"RegionOne": 7}),
    }
