"""The apply order: decreases, read back, increases within the slack, at every instant within G."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from kingsync.quota import resources
from kingsync.quota.apply import ACCEPTED_UNCHANGED, ApplyResult, Change, apply_plans, at_least_usage
from kingsync.quota.model import HEADROOM_POLICIES, Policy, RegionError, RegionView, ResourcePlan, above
from kingsync.quota.planner import OVERSPENT, UNKNOWN_BUDGET, plan_project
from kingsync.quota.resources import UNLIMITED
from tests.unit.quota.fakes import Call, FakeRegions, misbehave, within_budget

PROJECT = "6d0b2f4c"
REGIONS = ("RegionFour", "RegionOne", "RegionThree", "RegionTwo")
SPLIT = ("cores", "instances", "port", "volumes", "gigabytes", "security_group")  # split, copyable (no copies)
NOT_SPLIT = ("metadata_items", "key_pairs")  # copied
PROPERTY = settings(max_examples=200, deadline=None)


@dataclasses.dataclass
class World:
    """One project in the fake regions, its new global limits, and what goes wrong."""

    fake: FakeRegions
    global_limits: dict[str, int]
    policy: Policy
    pins: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    excluded: set[str] = dataclasses.field(default_factory=set)
    demand: dict[str, float] = dataclasses.field(default_factory=dict)
    unknown: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # never confirmed, in a down region
    down_before: set[str] = dataclasses.field(default_factory=set)
    faults: list[str] = dataclasses.field(default_factory=list)  # for the falsifying example's report

    def snapshot(self) -> dict[str, list[RegionView]]:
        """What the engine's reads found (the last confirmed limit for regions down)."""
        views: dict[str, list[RegionView]] = {}
        for resource in self.global_limits:
            views[resource] = [
                RegionView(
                    region=region,
                    usage=self.fake.usage_of(PROJECT, region, resource),
                    limit=None if (region, resource) in self.unknown else self.fake.limit_of(PROJECT, region, resource),
                    reachable=region not in self.down_before,
                    pin=self.pins.get((region, resource)),
                    excluded=region in self.excluded,
                    demand=self.demand.get(region, 0.0),
                )
                for region in self.fake.regions(PROJECT)
            ]
        return views

    def within(self) -> set[str]:
        """Split resources whose start state already satisfies the invariant for the new global limit."""
        inside = set()
        for resource, budget in self.global_limits.items():
            held, usage = self.fake.held(PROJECT, resource)
            if resource in SPLIT and budget != UNLIMITED and held <= budget:
                inside.add(resource)
        return inside


def sometimes(value: int, otherwise: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """``value`` one time in four."""
    return st.one_of(st.just(value), otherwise, otherwise, otherwise)


@st.composite
def worlds(draw: st.DrawFn, faults: bool) -> World:
    """Random usage and limits (within the old global limit), a new global limit, and faults."""
    count = draw(st.sampled_from([1, 2, 3, 3, 4, 4]))
    regions = sorted(draw(st.lists(st.sampled_from(REGIONS), min_size=count, max_size=count, unique=True)))
    keys = draw(st.lists(st.sampled_from(SPLIT + NOT_SPLIT), min_size=1, max_size=4, unique=True))
    fake = FakeRegions()
    global_limits: dict[str, int] = {}
    for key in keys:
        usage = {region: draw(st.integers(0, 20)) for region in regions}
        if key in SPLIT:
            old = draw(sometimes(UNLIMITED, st.integers(0, 120)))
            if old == UNLIMITED:
                limits = {region: draw(st.one_of(st.just(UNLIMITED), st.integers(0, 60))) for region in regions}
            else:
                limits = within_budget({region: draw(st.integers(0, 60)) for region in regions}, usage, old)
            new = draw(st.one_of(st.just(old), st.integers(0, 150), st.integers(0, 150), st.just(UNLIMITED)))
        else:
            limits = {region: draw(st.one_of(st.just(UNLIMITED), st.integers(0, 40))) for region in regions}
            new = draw(st.one_of(st.integers(0, 40), st.just(UNLIMITED)))
        for region in regions:
            fake.set(PROJECT, region, key, limits[region], usage[region], own=draw(st.booleans()))
        global_limits[key] = new

    world = World(
        fake,
        global_limits,
        Policy(
            name=draw(st.sampled_from(HEADROOM_POLICIES)),
            floor=draw(st.floats(0.0, 1.0)),
            hysteresis=draw(st.sampled_from([0.0, 0.0, 0.02, 0.1])),
        ),
        pins={
            (region, key): draw(st.integers(0, 60))
            for region in regions
            for key in keys
            if draw(st.sampled_from([False, False, False, True]))
        },
        excluded={region for region in regions if draw(st.sampled_from([False, False, False, True]))},
        demand={region: draw(st.floats(0.0, 20.0)) for region in regions},
    )
    if faults:
        add_faults(draw, world, regions, keys)
    return world


def add_faults(draw: st.DrawFn, world: World, regions: list[str], keys: list[str]) -> None:
    fake = world.fake
    world.down_before = draw(st.sets(st.sampled_from(regions), max_size=1 if draw(st.booleans()) else 0))
    world.unknown = {
        (region, key) for region in world.down_before for key in keys if draw(st.sampled_from([False, False, True]))
    }
    fake.down = set(world.down_before)
    fake.lost = draw(st.sets(st.sampled_from(regions), max_size=2))
    fake.noop = draw(st.sets(st.tuples(st.sampled_from(regions), st.sampled_from(resources.SERVICES)), max_size=3))
    world.faults = [
        "down before: %s" % sorted(world.down_before),
        "lost: %s, noop: %s" % (sorted(fake.lost), sorted(fake.noop)),
        misbehave(draw, fake, regions, PROJECT, calls_before_down=20, error_rates=[0.0, 0.0, 0.1]),
    ]


def run(world: World) -> tuple[dict[str, list[RegionView]], dict[str, ResourcePlan], ApplyResult]:
    views = world.snapshot()
    plans = plan_project(world.global_limits, views, world.policy)
    world.fake.budgets = {(PROJECT, resource): budget for resource, budget in world.global_limits.items()}
    return views, plans, apply_plans(PROJECT, plans, views, world.fake)


def answered(calls: Iterable[Call]) -> list[Call]:
    """Writes that stored something."""
    return [call for call in calls if call.kind == "write" and call.outcome in ("ok", "lost")]


# Properties under faults: refusals, outages, lost answers, no-op services and a busy tenant.


@PROPERTY
@given(worlds(faults=True))
def test_no_write_lets_the_regions_together_grant_more_than_the_global_limit(world: World) -> None:
    """The fake checks every write; a project that starts within G is within G at every instant."""
    within = world.within()
    run(world)
    for total in world.fake.sums:
        if total.resource in within:
            assert total.held <= total.budget, world.faults


@PROPERTY
@given(worlds(faults=True))
def test_every_decrease_is_written_before_any_increase(world: World) -> None:
    run(world)
    directions = []
    for call in answered(world.fake.calls):
        assert not (call.lowered and call.raised), call
        if call.lowered or call.raised:
            directions.append("lower" if call.lowered else "raise")
    assert directions == sorted(directions, key=["lower", "raise"].index), world.faults


@PROPERTY
@given(worlds(faults=True))
def test_the_result_tells_the_truth(world: World) -> None:
    views, plans, result = run(world)
    fake = world.fake
    # Every limit it says it knows is the region's limit now.
    for (region, resource), limit in result.confirmed.items():
        assert fake.limit_of(PROJECT, region, resource) == limit
    # Every limit that changed is reported, from the snapshot's value to the region's
    # (lowered and raised to a usage that grew, a limit changes twice), unless an answer was lost.
    changed: dict[tuple[str, str], list[Change]] = {}
    for change in result.changes:
        changed.setdefault((change.region, change.resource), []).append(change)
    lost = {(call.region, key) for call in fake.calls if call.outcome == "lost" for key in call.body}
    for resource, per_region in views.items():
        for view in per_region:
            key = (view.region, resource)
            now = fake.limit_of(PROJECT, view.region, resource)
            if key in changed:
                chain = [view.limit] + [change.new for change in changed[key]]
                assert [(change.old, change.new) for change in changed[key]] == list(itertools.pairwise(chain))
                assert chain[-1] == now
            elif key not in lost and view.reachable:
                assert now == view.limit
    # A call that failed without an answer makes its region and service unreachable, and the
    # apply calls them no more.
    for number, call in enumerate(fake.calls):
        if call.outcome in ("down", "failed", "lost"):
            assert (call.region, call.service) in result.unreachable
            later = fake.calls[number + 1 :]
            assert not [other for other in later if (other.region, other.service) == (call.region, call.service)]
    # A service that accepted a change and stored nothing is a failure.
    for call in fake.calls:
        if call.outcome == "noop" and any(fake.limit_of(PROJECT, call.region, k) != v for k, v in call.body.items()):
            assert any(
                f.region == call.region and f.service == call.service and f.message.startswith(ACCEPTED_UNCHANGED)
                for f in result.failures
            )


@PROPERTY
@given(worlds(faults=True))
def test_regions_down_before_the_apply_are_never_called_and_keep_their_limits(world: World) -> None:
    before = {region: dict(world.fake.limits[(PROJECT, region)]) for region in world.down_before}
    run(world)
    assert not [call for call in world.fake.calls if call.region in world.down_before]
    for region, limits in before.items():
        assert world.fake.limits[(PROJECT, region)] == limits


@st.composite
def rebalances(draw: st.DrawFn) -> World:
    """One split resource in 3 or 4 regions, its global limit moved, and some decreases failing.

    Each region may fail in one way: a service that stores nothing, a lost
    answer, a refusal, or an outage at its first call. The other regions
    must then be raised by no more than was actually freed.
    """
    regions = sorted(draw(st.lists(st.sampled_from(REGIONS), min_size=3, max_size=4, unique=True)))
    key = draw(st.sampled_from(SPLIT))
    usage = {region: draw(st.integers(0, 10)) for region in regions}
    old = draw(st.integers(0, 100))
    limits = within_budget({region: draw(st.integers(0, 60)) for region in regions}, usage, old)
    fake = FakeRegions()
    for region in regions:
        fake.set(PROJECT, region, key, limits[region], usage[region])
    new = max(old + draw(st.integers(-20, 40)), 0)
    world = World(fake, {key: new}, Policy(name=draw(st.sampled_from(HEADROOM_POLICIES))))
    modes = {region: draw(st.sampled_from(["ok", "noop", "lost", "refused", "down"])) for region in regions}
    world.faults = ["%s: %s" % item for item in sorted(modes.items())]
    service = resources.service_of(key)
    assert service is not None
    fake.noop = {(region, service) for region, mode in modes.items() if mode == "noop"}
    fake.lost = {region for region, mode in modes.items() if mode == "lost"}

    def fault(call: Call) -> RegionError | None:
        mode = modes[call.region]
        if mode == "down" or (mode == "refused" and call.kind == "write"):
            return RegionError(call.region, call.service, mode, refused=mode == "refused")
        return None

    fake.fault = fault
    return world


@PROPERTY
@given(rebalances())
def test_a_decrease_that_fails_frees_nothing(world: World) -> None:
    """Whatever way a decrease fails, the increases stay within what the others really freed."""
    within = world.within()
    run(world)
    for total in world.fake.sums:
        if total.resource in within:
            assert total.held <= total.budget, world.faults


# Properties without faults (regions may still be down the whole time).


@PROPERTY
@given(worlds(faults=False), st.data())
def test_one_apply_reaches_every_target_and_a_second_writes_nothing(world: World, data: st.DataObject) -> None:
    down = data.draw(st.sets(st.sampled_from(world.fake.regions(PROJECT))))
    world.down_before = set(down)
    world.fake.down = set(down)
    views, plans, result = run(world)
    assert result.failures == []
    for resource, resource_plan in plans.items():
        for view in views[resource]:
            if not view.reachable:
                continue
            now = world.fake.limit_of(PROJECT, view.region, resource)
            goal = at_least_usage(resource_plan.targets[view.region], view.usage)
            if resource_plan.frozen is not None and view.limit is not None and above(view.usage, view.limit):
                assert now == view.limit  # never raised while the budget is spent or unknown
            else:
                assert now == goal

    writes = Counter((call.region, call.service) for call in world.fake.writes())
    assert max(writes.values(), default=0) <= 2  # one for decreases, one for increases
    reads = [call for call in world.fake.calls if call.kind == "read"]
    assert len(reads) == len([call for call in world.fake.writes() if call.lowered])

    calls = len(world.fake.calls)
    _, again, second = run(world)
    assert again == plans
    assert len(world.fake.calls) == calls
    assert second.changes == []
    assert second.failures == []


# The tricky cases, one by one.


def three_regions(key: str, limits: dict[str, int], usage: dict[str, int], own: bool = True) -> FakeRegions:
    fake = FakeRegions()
    for region, limit in limits.items():
        fake.set(PROJECT, region, key, limit, usage.get(region, 0), own=own)
    return fake


def views_of(fake: FakeRegions, key: str, down: Iterable[str] = (), unknown: Iterable[str] = ()) -> list[RegionView]:
    return [
        RegionView(
            region,
            usage=fake.usage_of(PROJECT, region, key),
            limit=None if region in unknown else fake.limit_of(PROJECT, region, key),
            reachable=region not in down,
        )
        for region in fake.regions(PROJECT)
    ]


def apply_one(fake: FakeRegions, key: str, budget: int, views: list[RegionView]) -> ApplyResult:
    fake.budgets = {(PROJECT, key): budget}
    plans = plan_project({key: budget}, {key: views}, Policy())
    return apply_plans(PROJECT, plans, {key: views}, fake)


def test_a_rebalance_lowers_reads_back_then_raises_one_request_per_region() -> None:
    fake = three_regions("cores", {"RegionOne": 40, "RegionTwo": 10, "RegionThree": 10}, {"RegionOne": 5})
    result = apply_one(fake, "cores", 65, views_of(fake, "cores"))
    assert [(call.kind, call.region, call.body) for call in fake.calls] == [
        ("write", "RegionOne", {"cores": 25}),
        ("read", "RegionOne", {}),
        ("write", "RegionThree", {"cores": 20}),
        ("write", "RegionTwo", {"cores": 20}),
    ]
    assert result.failures == []
    assert result.usage == {("RegionOne", "cores"): 5}
    assert [(c.region, c.old, c.new) for c in result.changes] == [
        ("RegionOne", 40, 25),
        ("RegionThree", 10, 20),
        ("RegionTwo", 10, 20),
    ]


def test_an_overspent_project_is_lowered_to_its_usage_and_nothing_is_raised() -> None:
    fake = three_regions("cores", {"RegionOne": 10, "RegionTwo": 4, "RegionThree": 9}, {"RegionOne": 8, "RegionTwo": 6})
    views = views_of(fake, "cores")
    assert plan_project({"cores": 12}, {"cores": views}, Policy())["cores"].frozen == OVERSPENT
    result = apply_one(fake, "cores", 12, views)
    # RegionTwo was forced below its usage by someone: it stays there. Raised to the usage
    # read, it would hand out room if the tenant has deleted something since.
    assert {r: fake.limit_of(PROJECT, r, "cores") for r in REGIONS[1:]} == {
        "RegionOne": 8,
        "RegionThree": 0,
        "RegionTwo": 4,
    }
    assert not [call for call in fake.writes() if call.raised]
    assert result.failures == []


def test_a_region_down_and_never_confirmed_holds_every_other_region_at_its_usage() -> None:
    fake = three_regions("cores", {"RegionOne": 20, "RegionTwo": 20, "RegionThree": 20}, {"RegionOne": 3})
    fake.down = {"RegionThree"}
    views = views_of(fake, "cores", down=["RegionThree"], unknown=["RegionThree"])
    assert plan_project({"cores": 60}, {"cores": views}, Policy())["cores"].frozen == UNKNOWN_BUDGET
    result = apply_one(fake, "cores", 60, views)
    assert fake.limit_of(PROJECT, "RegionOne", "cores") == 3
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 0
    assert fake.limit_of(PROJECT, "RegionThree", "cores") == 20
    assert not [call for call in fake.calls if call.region == "RegionThree"]
    assert result.failures == []


def test_a_region_down_keeps_its_confirmed_limit_and_the_others_share_the_rest() -> None:
    fake = three_regions("cores", {"RegionOne": 10, "RegionTwo": 10, "RegionThree": 30}, {"RegionThree": 4})
    fake.down = {"RegionThree"}
    result = apply_one(fake, "cores", 70, views_of(fake, "cores", down=["RegionThree"]))
    assert {r: fake.limit_of(PROJECT, r, "cores") for r in REGIONS[1:]} == {
        "RegionOne": 20,
        "RegionThree": 30,
        "RegionTwo": 20,
    }
    assert result.unreachable == set()


def test_a_refused_decrease_is_retried_once_at_the_fresh_usage() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10}, {"RegionOne": 2})
    views = views_of(fake, "cores")  # the plan: RegionOne 21, RegionTwo 19 of 40

    def tenant_boots_servers(fake: FakeRegions) -> None:
        if len(fake.calls) == 0:
            fake.usage[(PROJECT, "RegionOne")]["cores"] = 26

    fake.before_call = tenant_boots_servers
    result = apply_one(fake, "cores", 40, views)
    assert [(call.kind, call.outcome, call.body) for call in fake.calls if call.region == "RegionOne"] == [
        ("write", "refused", {"cores": 21}),
        ("read", "ok", {}),
        ("write", "ok", {"cores": 26}),
        ("read", "ok", {}),
    ]
    # Only what RegionOne really freed goes to RegionTwo: 40 - 26.
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 14
    assert result.failures == []
    assert result.usage[("RegionOne", "cores")] == 26


def test_a_decrease_refused_twice_is_a_failure_and_frees_nothing() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10}, {"RegionOne": 2})

    def forbidden(call: Call) -> RegionError | None:
        if call.kind == "write" and call.region == "RegionOne":
            return RegionError(call.region, call.service, "403 Forbidden", refused=True)
        return None

    fake.fault = forbidden
    result = apply_one(fake, "cores", 40, views_of(fake, "cores"))
    assert fake.limit_of(PROJECT, "RegionOne", "cores") == 30
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 10
    assert [(f.region, f.message, f.refused) for f in result.failures] == [("RegionOne", "403 Forbidden", True)]
    assert result.unreachable == set()


def test_cinder_stores_a_limit_below_a_usage_that_grew_and_the_read_back_sees_it() -> None:
    # volumes at cinder's default in RegionOne: cinder does not check usage for it.
    fake = three_regions("volumes", {"RegionOne": 20, "RegionTwo": 0}, {"RegionOne": 2}, own=False)
    views = views_of(fake, "volumes")  # the plan: RegionOne 11, RegionTwo 9 of 20

    def tenant_creates_volumes(fake: FakeRegions) -> None:
        if len(fake.calls) == 0:
            fake.usage[(PROJECT, "RegionOne")]["volumes"] = 15

    fake.before_call = tenant_creates_volumes
    result = apply_one(fake, "volumes", 20, views)
    assert [(call.kind, call.body) for call in fake.calls[:2]] == [("write", {"volumes": 11}), ("read", {})]
    assert result.usage[("RegionOne", "volumes")] == 15
    # RegionOne holds 15, not 11: RegionTwo gets 5, not 9. RegionOne's limit is raised to
    # its usage, which holds nothing more.
    assert fake.limit_of(PROJECT, "RegionTwo", "volumes") == 5
    assert fake.limit_of(PROJECT, "RegionOne", "volumes") == 15
    assert result.failures == []


def test_accepted_but_unchanged_is_a_failure_and_frees_nothing() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10}, {})
    fake.noop = {("RegionOne", resources.NOVA)}
    result = apply_one(fake, "cores", 40, views_of(fake, "cores"))
    assert fake.limit_of(PROJECT, "RegionOne", "cores") == 30
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 10
    assert [(f.region, f.message) for f in result.failures] == [
        ("RegionOne", ACCEPTED_UNCHANGED + ": cores=30 (asked 20)")
    ]
    assert result.changes == []
    assert result.confirmed[("RegionOne", "cores")] == 30


def test_a_decrease_without_an_answer_frees_nothing_and_stops_that_region() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10}, {})
    fake.lost = {"RegionOne"}
    result = apply_one(fake, "cores", 40, views_of(fake, "cores"))
    assert fake.limit_of(PROJECT, "RegionOne", "cores") == 20  # it was written after all
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 10  # but nobody counted on it
    assert result.unreachable == {("RegionOne", resources.NOVA)}
    assert ("RegionOne", "cores") not in result.confirmed
    assert [f.refused for f in result.failures] == [False]


def test_a_region_lost_between_its_decrease_and_its_read_back_frees_nothing() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10}, {})

    def region_fails(fake: FakeRegions) -> None:
        if len(fake.calls) == 1:
            fake.down.add("RegionOne")

    fake.before_call = region_fails
    result = apply_one(fake, "cores", 40, views_of(fake, "cores"))
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 10
    assert result.changes == [Change("RegionOne", "cores", 30, 20)]  # the PUT's answer
    assert ("RegionOne", "cores") not in result.confirmed  # but not what RegionOne holds
    assert result.unreachable == {("RegionOne", resources.NOVA)}


def test_a_cinder_decrease_without_a_read_back_frees_nothing() -> None:
    # Cinder stores 11 below a usage that grew to 15; the answer says 11, RegionOne holds 15.
    fake = three_regions("volumes", {"RegionOne": 20, "RegionTwo": 0}, {"RegionOne": 2}, own=False)

    def tenant_then_outage(fake: FakeRegions) -> None:
        if len(fake.calls) == 0:
            fake.usage[(PROJECT, "RegionOne")]["volumes"] = 15
        if len(fake.calls) == 1:
            fake.down.add("RegionOne")

    fake.before_call = tenant_then_outage
    result = apply_one(fake, "volumes", 20, views_of(fake, "volumes"))
    assert fake.limit_of(PROJECT, "RegionOne", "volumes") == 11
    assert fake.limit_of(PROJECT, "RegionTwo", "volumes") == 0  # 9 would make 24 of 20
    assert ("RegionOne", "volumes") not in result.confirmed


def test_an_increase_without_an_answer_is_counted_as_made() -> None:
    fake = three_regions("cores", {"RegionOne": 30, "RegionTwo": 10, "RegionThree": 10}, {})
    fake.lost = {"RegionThree"}
    result = apply_one(fake, "cores", 60, views_of(fake, "cores"))
    assert fake.limit_of(PROJECT, "RegionThree", "cores") == 20
    assert fake.limit_of(PROJECT, "RegionTwo", "cores") == 20
    assert ("RegionThree", "cores") not in result.confirmed
    assert result.unreachable == {("RegionThree", resources.NOVA)}


def test_unlimited_and_copied_limits_are_written_without_a_budget() -> None:
    fake = FakeRegions()
    for region in ("RegionOne", "RegionTwo"):
        fake.set(PROJECT, region, "cores", 10, 4)
        fake.set(PROJECT, region, "metadata_items", 128)
        fake.set(PROJECT, region, "key_pairs", 10)
    views = {key: views_of(fake, key) for key in ("cores", "metadata_items", "key_pairs")}
    plans = plan_project({"cores": UNLIMITED, "metadata_items": 64, "key_pairs": 100}, views, Policy())
    result = apply_plans(PROJECT, plans, views, fake)
    assert [(call.region, call.body) for call in fake.writes()] == [
        ("RegionOne", {"metadata_items": 64}),
        ("RegionTwo", {"metadata_items": 64}),
        ("RegionOne", {"cores": UNLIMITED, "key_pairs": 100}),
        ("RegionTwo", {"cores": UNLIMITED, "key_pairs": 100}),
    ]
    assert result.failures == []


def test_a_copied_limit_below_a_region_usage_stops_at_that_usage() -> None:
    fake = three_regions("key_pairs", {"RegionOne": 10, "RegionTwo": 10}, {"RegionOne": 7, "RegionTwo": 1})
    views = {"key_pairs": views_of(fake, "key_pairs")}
    result = apply_plans(PROJECT, plan_project({"key_pairs": 5}, views, Policy()), views, fake)
    assert fake.limit_of(PROJECT, "RegionOne", "key_pairs") == 7
    assert fake.limit_of(PROJECT, "RegionTwo", "key_pairs") == 5
    assert result.failures == []


def test_security_groups_made_separately_in_each_region_are_split() -> None:
    # No copies on record: three groups in three regions are three groups of G = 5.
    fake = three_regions(
        "security_group", {"RegionOne": 10, "RegionTwo": 10, "RegionThree": 10}, dict.fromkeys(REGIONS[1:], 1)
    )
    result = apply_one(fake, "security_group", 5, views_of(fake, "security_group"))
    assert {r: fake.limit_of(PROJECT, r, "security_group") for r in REGIONS[1:]} == {
        "RegionOne": 2,
        "RegionThree": 2,
        "RegionTwo": 1,
    }
    assert result.failures == []


def test_an_unreachable_service_error_is_reported_with_its_keys() -> None:
    fake = three_regions("port", {"RegionOne": 30, "RegionTwo": 10}, {})
    fake.down = {"RegionTwo"}
    result = apply_one(fake, "port", 40, views_of(fake, "port"))
    assert [(f.region, f.service, f.refused, f.resources) for f in result.failures] == [
        ("RegionTwo", resources.NEUTRON, False, ("port",))
    ]
