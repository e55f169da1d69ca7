"""Counting kingsync's copies of security groups once: copy classes, dup, the limits to plan with."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kingsync.quota import copies, usage
from kingsync.quota.model import RegionView
from kingsync.quota.resources import UNLIMITED
from tests.unit.quota.copygroups import PROJECT, SHARED, Groups, group, rule, security_groups

PROPERTY = settings(max_examples=300, deadline=None)
NONE = {copies.GROUPS: 0, copies.RULES: 0}


def dup_of(world: Groups, readable: set[str] | None = None) -> dict[str, int]:
    return copies.duplicates(world.links(), world.listed(readable), PROJECT)


# Properties.


@PROPERTY
@given(security_groups(), st.data())
def test_dup_is_what_the_regions_count_more_than_once(world: Groups, data: st.DataObject) -> None:
    """Equal to the oracle, so never negative; regions that could not be read hold no member that counts."""
    readable = data.draw(st.sets(st.sampled_from(world.regions)))
    found = dup_of(world, readable)
    assert found == world.true_dup(readable)
    assert min(found.values()) >= 0


@PROPERTY
@given(security_groups())
def test_without_records_nothing_counts_twice(world: Groups) -> None:
    assert copies.duplicates([], world.listed(), PROJECT) == NONE


@PROPERTY
@given(security_groups(), st.data())
def test_a_group_in_no_class_never_changes_dup(world: Groups, data: st.DataObject) -> None:
    listed = world.listed()
    before = copies.duplicates(world.links(), listed, PROJECT)
    region = data.draw(st.sampled_from(world.regions))
    # Even one with every rule a class shares, and a remote group of its own.
    rules = [{**shared, "remote_group_id": "stranger"} if shared["remote_group_id"] else shared for shared in SHARED]
    listed[region] = [*listed[region], group("stranger", data.draw(st.sampled_from([[], rules])))]
    assert copies.duplicates(world.links(), listed, PROJECT) == before


@PROPERTY
@given(st.integers(1, 4), st.lists(st.sampled_from(range(len(SHARED))), unique=True), st.permutations(range(4)))
def test_a_class_of_k_identical_members_counts_k_minus_one_times_over(
    k: int, chosen: list[int], order: list[int]
) -> None:
    regions = ["RegionFour", "RegionOne", "RegionThree", "RegionTwo"]
    shared = [SHARED[i] for i in chosen]
    members = [(regions[order[i]], "m%d" % i) for i in range(k)]
    links = [(members[i - 1], members[i]) for i in range(1, k)]  # a chain R -> R' -> R''
    listed = {
        region: [group(group_id, [{**r, "remote_group_id": group_id} if r["remote_group_id"] else r for r in shared])]
        for region, group_id in members
    }
    assert copies.duplicates(links, listed, PROJECT) == {
        copies.GROUPS: k - 1,
        copies.RULES: (k - 1) * len(shared),
    }


@PROPERTY
@given(security_groups(absent=False), st.data())
def test_a_member_missing_from_the_lists_lowers_dup(world: Groups, data: st.DataObject) -> None:
    """A copy deleted by hand, or not listed, is not counted: one group less counted twice."""
    counted = [klass for klass in world.classes if len(klass.members) > 1]
    if not counted:
        return
    before = dup_of(world)
    klass = data.draw(st.sampled_from(counted))
    data.draw(st.sampled_from(klass.members)).present = False
    after = dup_of(world)
    assert after[copies.GROUPS] == before[copies.GROUPS] - 1
    assert after[copies.RULES] == before[copies.RULES] - len(klass.shared)


@PROPERTY
@given(security_groups(), st.randoms(use_true_random=False))
def test_the_order_and_direction_of_the_records_do_not_matter(world: Groups, rng: random.Random) -> None:
    listed = world.listed()
    links = world.links()
    shuffled = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in links]
    rng.shuffle(shuffled)
    assert copies.duplicates(shuffled, listed, PROJECT) == copies.duplicates(links, listed, PROJECT)
    names = copies.classes(links)
    assert names == copies.classes(shuffled)
    assert all(names[name] == name and name <= node for node, name in names.items())


# Cases.


def test_rules_neutron_calls_duplicates_are_one_rule_and_rules_that_differ_each_count() -> None:
    source = group("a", [rule(protocol="tcp", remote_ip_prefix="0.0.0.0/0"), rule(protocol="udp")])
    copy = group("b", [rule(protocol="6"), rule(protocol="udp", port_range_min=53, port_range_max=53)])
    links = [(("RegionOne", "a"), ("RegionTwo", "b"))]
    found = copies.duplicates(links, {"RegionOne": [source], "RegionTwo": [copy]}, PROJECT)
    assert found == {copies.GROUPS: 1, copies.RULES: 1}  # tcp from anywhere, spelt two ways


def test_a_rule_referring_to_a_copy_equals_one_referring_to_its_source() -> None:
    # web allows ssh from db; in RegionTwo, web' allows it from db' (both copied).
    web = group("web", [rule(remote_group_id="db", protocol="tcp", port_range_min=22, port_range_max=22)])
    web2 = group("web2", [rule(remote_group_id="db2", protocol="tcp", port_range_min=22, port_range_max=22)])
    db, db2 = group("db", []), group("db2", [])
    links = [(("RegionOne", "web"), ("RegionTwo", "web2")), (("RegionOne", "db"), ("RegionTwo", "db2"))]
    listed = {"RegionOne": [web, db], "RegionTwo": [web2, db2]}
    assert copies.duplicates(links, listed, PROJECT) == {copies.GROUPS: 2, copies.RULES: 1}
    # Not copied, db3 in RegionTwo is another group: the rule referring to it is another rule.
    web3 = group("web2", [rule(remote_group_id="db3", protocol="tcp", port_range_min=22, port_range_max=22)])
    listed = {"RegionOne": [web, db], "RegionTwo": [web3, db2, group("db3", [])]}
    assert copies.duplicates(links, listed, PROJECT) == {copies.GROUPS: 2, copies.RULES: 0}


def test_a_chain_of_copies_is_one_class() -> None:
    members = [("RegionOne", "a"), ("RegionTwo", "b"), ("RegionThree", "c")]
    links = [(members[0], members[1]), (members[1], members[2])]
    listed = {region: [group(group_id, [rule(direction="egress")])] for region, group_id in members}
    assert copies.duplicates(links, listed, PROJECT) == {copies.GROUPS: 2, copies.RULES: 2}
    assert set(copies.classes(links).values()) == {("RegionOne", "a")}


def test_rules_of_another_project_in_the_group_are_not_the_projects_usage() -> None:
    admins = {**rule(protocol="icmp"), "project_id": "admin-project"}
    links = [(("RegionOne", "a"), ("RegionTwo", "b"))]
    listed = {"RegionOne": [group("a", [admins])], "RegionTwo": [group("b", [admins])]}
    assert copies.duplicates(links, listed, PROJECT) == {copies.GROUPS: 1, copies.RULES: 0}


def test_the_limits_to_plan_with_add_dup_to_finite_limits_only() -> None:
    dup = {copies.GROUPS: 2, copies.RULES: 8}
    limits = {"security_group": 5, "security_group_rule": UNLIMITED, "cores": 10}
    assert copies.planning_limits(limits, dup) == {"security_group": 7, "security_group_rule": UNLIMITED, "cores": 10}
    assert copies.planning_limits({"security_group": 0}, {}) == {"security_group": 0}


def test_groups_are_listed_only_for_copies_under_a_finite_limit() -> None:
    links = [(("RegionOne", "a"), ("RegionThree", "b"))]
    assert copies.regions_to_read({"security_group": 5}, links) == ["RegionOne", "RegionThree"]
    assert copies.regions_to_read({"security_group": UNLIMITED, "security_group_rule": 9}, links) == [
        "RegionOne",
        "RegionThree",
    ]
    assert copies.regions_to_read({"security_group": 5}, []) == []
    assert copies.regions_to_read({"security_group": UNLIMITED, "security_group_rule": UNLIMITED}, links) == []
    assert copies.regions_to_read({"cores": 5}, links) == []


def test_usage_over_regions_counts_copies_once() -> None:
    views = {
        "security_group": [RegionView("RegionOne", 5, 5), RegionView("RegionTwo", 5, 5), RegionView("R3", 6, 6)],
        "security_group_rule": [RegionView("RegionOne", 16, 20), RegionView("RegionTwo", 16, 20)],
        "key_pairs": [RegionView("RegionOne", 3, 10), RegionView("RegionTwo", 4, 10)],
        "cores": [RegionView("RegionOne", 3, 10), RegionView("RegionTwo", 4, 10)],
    }
    dup = {copies.GROUPS: 4, copies.RULES: 12}
    assert usage.aggregate_usage(views, dup) == {
        "security_group": 12,
        "security_group_rule": 20,
        "key_pairs": 4,
        "cores": 7,
    }
    assert usage.aggregate_usage(views)["security_group"] == 16
    # 5 of 12 distinct groups left, not 0 of 16.
    assert usage.nearness({"security_group": 12}, {"security_group": views["security_group"]}, dup) == 0.0
    assert usage.nearness({"security_group": 16}, {"security_group": views["security_group"]}, dup) == 0.25
