"""The security group decision: which target group each group of the closure
is, what to create, and what to do with the group asked for."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kingsync.db.models import CONFLICT, ERROR
from kingsync.sync import errors
from kingsync.sync.sg_plan import (
    Action,
    Group,
    How,
    Refused,
    closure,
    decide,
    plan_groups,
    resolve,
)
from kingsync.sync.task import Copy
from tests.unit.sync.test_sg_rules import rules

EGRESS = (
    {"id": "e4", "direction": "egress", "ethertype": "IPv4"},
    {"id": "e6", "direction": "egress", "ethertype": "IPv6"},
)


def rule(remote: str | None = None, port: int = 22, **fields: Any) -> dict[str, Any]:
    found = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": port,
        "port_range_max": port,
        **fields,
    }
    if remote:
        found["remote_group_id"] = remote
    return found


def group(gid: str, name: str | None = None, *rules_: dict[str, Any], **fields: Any) -> Group:
    return Group(gid, name or gid, rules=tuple(rules_), **fields)


def copy_of(source: Group, target_id: str, mapping: dict[str, str], **fields: Any) -> Group:
    """The target group a faithful sync makes of ``source``: rules with remotes mapped, new ids."""
    copied = []
    for i, found in enumerate(source.rules):
        remote = found.get("remote_group_id")
        copied.append(
            {**found, "id": "%s-r%d" % (target_id, i), "remote_group_id": mapping[remote] if remote else None}
        )
    values = {"description": source.description, "stateful": source.stateful, **fields}
    return Group(target_id, source.name, rules=tuple(copied), **values)


def recorded(source_id: str, target_id: str, complete: bool = True) -> Copy:
    return Copy("RegionOne", source_id, "RegionTwo", target_id, complete)


DEFAULT_ONE = group("s-default", "default", rule("s-default", port=0, protocol=None))
DEFAULT_TWO = group("t-default", "default", rule("t-default", port=0, protocol=None))


def plan(source: list[Group], root: str, target: list[Group], record: dict[str, Copy] | None = None) -> Any:
    return plan_groups(
        [DEFAULT_ONE, *source], root, [DEFAULT_TWO, *target], record or {}, source_region="R1", target_region="R2"
    )


# -- which group is which ---------------------------------------------------------------------


def test_the_closure_follows_references_however_far_and_round_cycles() -> None:
    a = group("a", None, rule("b"), rule("a", port=23))
    b = group("b", None, rule("c"))
    c = group("c", None, rule("a"), rule("foreign"))
    lone = group("lone")
    assert sorted(closure([a, b, c, lone], "a")) == ["a", "b", "c"]
    assert closure([a, b, c, lone], "lone") == ["lone"]


def test_a_group_missing_in_the_target_is_created() -> None:
    web = group("web", None, rule())
    found = plan([web], "web", [])
    assert found.groups["web"].how is How.CREATE and found.to_create() == [web]


def test_a_cycle_creates_both_groups_before_any_rule() -> None:
    a, b = group("a", None, rule("b")), group("b", None, rule("a"), rule("b", port=80))
    found = plan([a, b], "a", [])
    assert [g.id for g in found.to_create()] == ["a", "b"]
    assert found.mapping() == {}  # nothing of the closure is in the target yet


def test_a_referenced_group_the_target_has_is_only_mapped_and_not_followed() -> None:
    web = group("web", None, rule("db"))
    # db refers to another project's group: fine, since db is not written
    db = group("db", None, rule("shared-elsewhere"))
    found = plan([web, db], "web", [group("t-db", "db", rule())])
    assert found.groups["db"].how is How.EXISTS and found.mapping()["db"] == "t-db"
    assert found.to_create() == [web]


def test_a_recorded_copy_wins_over_the_name() -> None:
    web = group("web", None, rule())
    target = [group("t-web-renamed", "web-old"), group("t-other", "web")]
    found = plan([web], "web", target, {"web": recorded("web", "t-web-renamed")})
    assert found.groups["web"].how is How.EXISTS and found.mapping()["web"] == "t-web-renamed"


def test_a_recorded_copy_deleted_since_falls_back_to_the_name() -> None:
    web = group("web")
    found = plan([web], "web", [group("t-web", "web")], {"web": recorded("web", "t-gone")})
    assert found.mapping()["web"] == "t-web"


def test_a_half_made_copy_on_record_is_to_be_finished() -> None:
    web = group("web", None, rule())
    found = plan([web], "web", [group("t-web", "web", *EGRESS)], {"web": recorded("web", "t-web", complete=False)})
    assert found.groups["web"].how is How.FINISH


def test_default_maps_to_the_targets_default_group() -> None:
    web = group("web", None, rule("s-default"))
    found = plan([web], "web", [])
    assert found.groups["s-default"].how is How.DEFAULT and found.mapping()["s-default"] == "t-default"


def test_several_target_groups_of_the_name_are_a_conflict() -> None:
    web = group("web")
    with pytest.raises(Refused) as refused:
        plan([web], "web", [group("t1", "web"), group("t2", "web")])
    assert refused.value.result == CONFLICT
    assert "several security groups named web in R2 (t1, t2)" in refused.value.message
    assert "cannot tell which is the copy" in refused.value.message


def test_several_target_groups_of_the_name_are_fine_when_the_record_says_which() -> None:
    web = group("web")
    found = plan([web], "web", [group("t1", "web"), group("t2", "web")], {"web": recorded("web", "t2")})
    assert found.mapping()["web"] == "t2"


def test_a_remote_group_of_another_project_is_refused() -> None:
    web = group("web", None, rule("theirs"))
    with pytest.raises(Refused) as refused:
        plan([web], "web", [])
    assert refused.value.result == ERROR
    assert "remote group theirs is not one of the project's own groups" in refused.value.message


def test_a_rule_with_an_address_group_is_refused() -> None:
    web = group("web", None, rule(remote_address_group_id="ag-1"))
    with pytest.raises(Refused) as refused:
        plan([web], "web", [])
    assert refused.value.result == ERROR and "address groups are not synced" in refused.value.message


def test_a_referenced_group_created_with_a_bad_reference_is_refused_too() -> None:
    web, db = group("web", None, rule("db")), group("db", None, rule(remote_address_group_id="ag-1"))
    with pytest.raises(Refused, match="address groups are not synced"):
        plan([web, db], "web", [])


def test_two_source_groups_of_one_name_cannot_be_told_apart_in_the_target() -> None:
    web, twin = group("web-1", "web"), group("web-2", "web")
    with pytest.raises(Refused) as refused:
        plan([web, twin], "web-1", [group("t-web", "web")])
    assert refused.value.result == CONFLICT


# -- the decision for the group asked for ------------------------------------------------------


def test_missing_is_create() -> None:
    assert decide(plan([group("web")], "web", []), force=False)[0] is Action.CREATE


def test_a_faithful_copy_is_unchanged_self_reference_included() -> None:
    web = group("web", None, rule("web"), rule("s-default", port=80), description="d", stateful=False)
    target = copy_of(web, "t-web", {"web": "t-web", "s-default": "t-default"})
    assert decide(plan([web], "web", [target]), force=True)[0] is Action.UNCHANGED


def test_a_different_group_is_a_conflict_that_says_what_differs() -> None:
    web = group("web", None, rule(port=22), rule(port=80), rule(port=443), description="web")
    target = group("t-web", "web", rule(port=22), *EGRESS[:1], description="old")
    action, diff = decide(plan([web], "web", [target]), force=False)
    assert action is Action.CONFLICT
    assert diff.describe() == "2 rules missing, 1 extra, description"


def test_force_updates_a_different_group() -> None:
    web = group("web", None, rule(), stateful=False)
    target = group("t-web", "web", rule(), stateful=True)
    action, diff = decide(plan([web], "web", [target]), force=True)
    assert action is Action.UPDATE and diff.describe() == "stateful"


def test_a_rule_referring_to_a_group_not_yet_copied_differs() -> None:
    web, db = group("web", None, rule("db")), group("db")
    target = group("t-web", "web", rule("t-nothing"))
    action, diff = decide(plan([web, db], "web", [target]), force=False)
    assert action is Action.CONFLICT and diff.describe() == "1 rule missing, 1 extra"


def test_the_default_group_is_merged_without_force_and_keeps_its_description() -> None:
    source = group("s-default", "default", rule("s-default", port=0, protocol=None), rule(port=22))
    target = group("t-default", "default", rule("t-default", port=0, protocol=None), rule(port=25), description="x")
    found = plan_groups([source], "s-default", [target], {})
    action, diff = decide(found, force=False)
    assert action is Action.MERGE and diff.describe() == "1 rule missing, 1 extra"


def test_a_default_group_with_the_same_rules_is_unchanged_whatever_its_description() -> None:
    source = group("s-default", "default", rule("s-default", port=0, protocol=None), description="mine")
    target = group("t-default", "default", rule("t-default", port=0, protocol=None), stateful=False)
    assert decide(plan_groups([source], "s-default", [target], {}), force=False)[0] is Action.UNCHANGED


def test_a_half_made_copy_is_finished_without_force() -> None:
    web = group("web", None, rule())
    target = group("t-web", "web", *EGRESS)
    found = plan([web], "web", [target], {"web": recorded("web", "t-web", complete=False)})
    assert decide(found, force=False)[0] is Action.FINISH


@given(st.data(), st.lists(rules(remote_groups=("web", "s-default")), max_size=6), st.booleans(), st.booleans())
def test_any_faithful_copy_is_unchanged(
    data: st.DataObject, rules_: list[dict[str, Any]], stateful: bool, force: bool
) -> None:
    web = group("web", None, *rules_, stateful=stateful, description="d")
    target = copy_of(web, "t-web", {"web": "t-web", "s-default": "t-default"})
    shuffled = list(target.rules)
    random.Random(data.draw(st.integers())).shuffle(shuffled)
    target = Group(target.id, target.name, target.description, target.stateful, tuple(shuffled))
    assert decide(plan([web], "web", [target]), force)[0] is Action.UNCHANGED


@given(st.lists(rules(remote_groups=("web",)), min_size=1, max_size=6), st.booleans())
def test_nothing_in_the_target_is_always_create(rules_: list[dict[str, Any]], force: bool) -> None:
    assert decide(plan([group("web", None, *rules_)], "web", []), force)[0] is Action.CREATE


# -- which source group a name means ------------------------------------------------------------


def test_a_name_or_an_id_finds_the_group() -> None:
    groups = [group("id-1", "web"), group("id-2", "db")]
    assert resolve(groups, "web", "p", "R1").id == "id-1"
    assert resolve(groups, "id-2", "p", "R1").id == "id-2"


def test_an_unknown_name_or_another_projects_id_is_not_found() -> None:
    with pytest.raises(errors.SourceNotFound, match="'theirs' not found in project p in region R1"):
        resolve([group("id-1", "web")], "theirs", "p", "R1")


def test_a_shared_name_is_ambiguous_and_names_the_ids() -> None:
    with pytest.raises(errors.SourceAmbiguous) as ambiguous:
        resolve([group("id-2", "web"), group("id-1", "web")], "web", "p", "R1")
    assert "(id-1, id-2); give the id of the one you mean" in ambiguous.value.message
