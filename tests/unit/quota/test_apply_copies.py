"""Security groups and rules with kingsync's copies counted once, from the engine's
reads to the last write: the invariant

    sum over regions of max(limit_r, usage_r) - dup <= max(G, distinct usage)

after planning and after every single write of the apply, and the whole of G
handed out when nothing goes wrong.

The reads, the listing of groups and the plan are the engine's own
(kingsync.quota.reconcile: snapshot, build_views, count_copies, then
copies.planning_limits), against the fake regions, one call at a time so
that a falsifying example replays. The fake checks every write against the
true dup (tests.unit.quota.copygroups' oracle, every member that exists),
whatever the engine could read.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from concurrent import futures

from hypothesis import given, settings
from hypothesis import strategies as st

from kingsync.db.quota.regional import Regional
from kingsync.db.quota.settings import RegionSetting
from kingsync.quota import copies, reconcile
from kingsync.quota.apply import ApplyResult, apply_plans
from kingsync.quota.model import EVEN, HEADROOM_POLICIES, Policy, RegionView, ResourcePlan, term
from kingsync.quota.planner import plan_project
from tests.unit.quota.copygroups import PROJECT, Groups, security_groups
from tests.unit.quota.fakes import FakeRegions, misbehave, within_budget

PROPERTY = settings(max_examples=400, deadline=None)
RESOURCES = (copies.GROUPS, copies.RULES)


@dataclasses.dataclass
class World:
    groups: Groups
    fake: FakeRegions
    state: reconcile.State
    dup: dict[str, int]  # the truth: every member that exists counts
    faults: list[str] = dataclasses.field(default_factory=list)

    @property
    def regions(self) -> list[str]:
        return self.groups.regions

    def distinct(self, resource: str) -> int:
        return sum(self.fake.usage_of(PROJECT, r, resource) for r in self.regions) - self.dup[resource]

    def within(self) -> set[str]:
        """Resources whose start state already keeps the invariant for the new G."""
        inside = set()
        for resource, budget in self.state.limits.items():
            held, _usage = self.fake.held(PROJECT, resource)
            if held - self.dup[resource] <= budget:
                inside.add(resource)
        return inside


@st.composite
def worlds(draw: st.DrawFn, faults: bool, extras: bool = True) -> World:
    """Groups (some of them copies) in 1 to 4 regions, limits within an old G, a new G."""
    groups = draw(security_groups())
    regions = groups.regions
    dup = groups.true_dup()
    fake = FakeRegions()
    limits: dict[str, int] = {}
    usage = {region: groups.usage(region) for region in regions}
    floors = {region: groups.copies_in(region) for region in regions}
    for index, resource in enumerate(RESOURCES):
        used = {region: usage[region][index] for region in regions}
        old = draw(st.integers(0, 40))
        fitted = within_budget({region: draw(st.integers(0, 40)) for region in regions}, used, old + dup[resource])
        for region in regions:
            fake.set(PROJECT, region, resource, fitted[region], used[region])
            fake.floors[(PROJECT, region, resource)] = floors[region][index]
        limits[resource] = draw(st.one_of(st.just(old), st.integers(0, 50)))
    listed = groups.listed()
    for region in regions:
        fake.security_groups[(PROJECT, region)] = listed[region]
    fake.dups = {(PROJECT, resource): dup[resource] for resource in RESOURCES}
    fake.budgets = {(PROJECT, resource): limits[resource] for resource in RESOURCES}

    maybe = st.sampled_from([False, False, False, True]) if extras else st.just(False)
    settings_by_region = {
        region: RegionSetting(
            region,
            excluded=draw(maybe),
            pins={r: draw(st.integers(0, 20)) for r in RESOURCES if draw(maybe)},
        )
        for region in regions
    }
    policy = Policy(
        name=draw(st.sampled_from(HEADROOM_POLICIES)) if extras else EVEN,
        floor=draw(st.floats(0.0, 1.0)),
        hysteresis=draw(st.sampled_from([0.0, 0.0, 0.1])) if extras else 0.0,
    )
    regional = {
        (region, resource): Regional(
            region,
            resource,
            limit=fake.limit_of(PROJECT, region, resource),
            confirmed_at=None,
            usage=fake.usage_of(PROJECT, region, resource),
            usage_at=None,
            demand=0.0,
        )
        for region in regions
        for resource in RESOURCES
    }
    state = reconcile.State(limits, settings_by_region, policy, regional, tuple(groups.links()))
    world = World(groups, fake, state, dup)
    if faults:
        add_faults(draw, world)
    return world


def add_faults(draw: st.DrawFn, world: World) -> None:
    fake, regions = world.fake, world.regions
    fake.down = set(draw(st.sets(st.sampled_from(regions), max_size=1)))
    fake.lost = draw(st.sets(st.sampled_from(regions), max_size=2))
    fake.noop = {(region, "neutron") for region in draw(st.sets(st.sampled_from(regions), max_size=1))}
    world.faults = [
        "down: %s, lost: %s, noop: %s" % (sorted(fake.down), sorted(fake.lost), sorted(fake.noop)),
        misbehave(draw, fake, regions, PROJECT, calls_before_down=30, error_rates=[0.0, 0.0, 0.1, 0.3]),
    ]


@dataclasses.dataclass
class Round:
    views: dict[str, list[RegionView]]
    dup: dict[str, int]  # what the engine counted
    plans: dict[str, ResourcePlan]
    result: ApplyResult


def engine_round(world: World) -> Round:
    """As Reconciler.reconcile does it, without the database: one call at a time."""
    with one_at_a_time(world) as reader:
        snap = reader.snapshot(PROJECT, world.regions)
        views, _drift = reconcile.build_views(PROJECT, world.state, world.regions, snap)
        dup = reader.count_copies(PROJECT, world.state, snap)
        plans = plan_project(copies.planning_limits(world.state.limits, dup), views, world.state.policy)
        result = apply_plans(PROJECT, plans, views, reader.client)
    return Round(views, {resource: dup.get(resource, 0) for resource in RESOURCES}, plans, result)


@contextlib.contextmanager
def one_at_a_time(world: World) -> Iterator[reconcile.Reconciler]:
    pool = futures.ThreadPoolExecutor(max_workers=1)
    reader = reconcile.Reconciler(world.fake, lambda: world.regions, reconcile.Settings(), read_pool=pool)
    try:
        yield reader
    finally:
        reader.close()


def held_by_plan(plan: ResourcePlan, views: list[RegionView]) -> int:
    """sum(max(target, usage)) over the reachable regions plus what the unreachable ones hold."""
    usage = {view.region: view.usage for view in views}
    held = sum(max(target, usage[region]) for region, target in plan.targets.items())
    for view in views:
        if not view.reachable:
            amount = term(view.limit, view.usage)
            assert amount is not None
            held += amount
    return held


# Properties.


@PROPERTY
@given(worlds(faults=True))
def test_no_write_lets_the_regions_grant_more_than_g_with_copies_counted_once(world: World) -> None:
    """Refusals, outages (listing the groups too), lost answers and a busy tenant: within G at every instant."""
    within = world.within()
    engine_round(world)
    for total in world.fake.sums:
        if total.resource in within:
            assert total.held <= total.budget, (total, world.faults)


@PROPERTY
@given(worlds(faults=False), st.data())
def test_the_plan_keeps_the_invariant_with_copies_counted_once(world: World, data: st.DataObject) -> None:
    """With some regions down the whole time: what they hold stays spent, their copies count as absent."""
    world.fake.down = set(data.draw(st.sets(st.sampled_from(world.regions))))
    before = {resource: world.fake.held(PROJECT, resource)[0] - world.dup[resource] for resource in RESOURCES}
    round_ = engine_round(world)
    for resource, plan in round_.plans.items():
        assert round_.dup[resource] <= world.dup[resource]
        allowed = max(world.state.limits[resource], world.distinct(resource))
        held = held_by_plan(plan, round_.views[resource]) - world.dup[resource]
        # Within it if it was; never more than it was if not (a region down holds what it held).
        assert held <= max(allowed, before[resource]), resource
        if before[resource] <= allowed:
            assert held <= allowed, resource


@PROPERTY
@given(worlds(faults=False, extras=False))
def test_each_region_gets_its_own_groups_and_a_share_and_together_exactly_g(world: World) -> None:
    """Nothing wrong, even policy: every region at its usage (copies included) plus an even share
    of G - D, and the regional limits add up to G once the copies count once."""
    round_ = engine_round(world)
    assert round_.result.failures == []
    assert round_.dup == world.dup
    for resource in RESOURCES:
        budget, distinct = world.state.limits[resource], world.distinct(resource)
        limits = {r: world.fake.limit_of(PROJECT, r, resource) for r in world.regions}
        usage = {r: world.fake.usage_of(PROJECT, r, resource) for r in world.regions}
        if distinct > budget:  # overspent: nothing above usage anywhere (a limit below it stays)
            assert all(limits[r] <= usage[r] for r in world.regions), (resource, limits, usage)
            continue
        assert sum(limits.values()) - world.dup[resource] == budget, (resource, limits, usage, world.dup)
        shares = [limits[r] - usage[r] for r in world.regions]
        assert min(shares) >= 0 and max(shares) - min(shares) <= 1, (resource, limits, usage)


@PROPERTY
@given(worlds(faults=False))
def test_a_second_round_reads_three_times_a_region_lists_groups_once_and_writes_nothing(world: World) -> None:
    engine_round(world)
    calls = len(world.fake.calls)
    round_ = engine_round(world)
    again = world.fake.calls[calls:]
    assert round_.result.changes == []
    assert [call.kind for call in again if call.kind == "write"] == []
    listed = copies.regions_to_read(world.state.limits, world.state.copies)
    assert sorted(call.region for call in again if call.kind == "groups") == listed
    assert len([call for call in again if call.kind == "read"]) == 3 * len(world.regions)
