"""The flavor decision: normalised comparison, and create, unchanged, conflict,
update in place or replace, with force or when finishing kingsync's own copy."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kingsync.db.models import CONFLICT, CREATED, REPLACED, UNCHANGED, UPDATED
from kingsync.sync.flavor_plan import (
    FIELDS,
    IN_PLACE,
    CheckSpecs,
    Create,
    Decision,
    Delete,
    Describe,
    Flavor,
    Grant,
    Revoke,
    SetSpecs,
    Step,
    UnsetSpec,
    decide,
    differences,
)

_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_. ", min_size=1, max_size=12).map(str.strip)
_PROJECTS = st.lists(st.sampled_from(["p1", "p2", "p3", "p4"]), unique=True).map(lambda ps: tuple(sorted(ps)))
_SPECS = st.dictionaries(
    st.sampled_from(["hw:cpu_policy", "hw:numa_nodes", "trait:CUSTOM_GOLD", "mycompany:x", "count"]),
    st.sampled_from(["1", "2", "shared", "dedicated", "required", "y"]),
)


@st.composite
def flavors(draw: st.DrawFn) -> Flavor:
    is_public = draw(st.booleans())
    return Flavor(
        id=draw(_IDS),
        name=draw(_NAMES.filter(bool)),
        vcpus=draw(st.integers(1, 64)),
        ram=draw(st.integers(1, 1 << 20)),
        disk=draw(st.integers(0, 1000)),
        ephemeral=draw(st.integers(0, 100)),
        swap=draw(st.integers(0, 4096)),
        rxtx_factor=draw(st.sampled_from([1.0, 1.5, 2.0])),
        is_public=is_public,
        description=draw(st.one_of(st.none(), st.text(min_size=1, max_size=10))),
        extra_specs=draw(_SPECS),
        access=() if is_public else draw(_PROJECTS),
    )


@st.composite
def variants(draw: st.DrawFn, source: Flavor, fields: tuple[str, ...] = FIELDS) -> Flavor:
    """``source`` with some of ``fields`` drawn anew (maybe none)."""
    other = draw(flavors())
    changed = draw(st.lists(st.sampled_from(fields), unique=True))
    target = dataclasses.replace(source, **{name: getattr(other, name) for name in changed})
    if target.is_public:
        target = dataclasses.replace(target, access=())
    return target


def api_body(flavor: Flavor, microversion: tuple[int, int] = (2, 61)) -> dict[str, Any]:
    """``flavor`` as nova answers GET /flavors/{id} at ``microversion``."""
    return {
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "swap": flavor.swap if flavor.swap or microversion >= (2, 75) else "",
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "OS-FLV-DISABLED:disabled": False,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor,
        "links": [{"rel": "self", "href": "http://nova/v2.1/flavors/" + flavor.id}],
        "description": flavor.description,
        "extra_specs": dict(flavor.extra_specs),
    }


def apply(target: Flavor | None, steps: tuple[Step, ...]) -> Flavor | None:
    """What nova makes of ``target`` after ``steps``: a model of its flavor API."""
    for step in steps:
        match step:
            case CheckSpecs(_):
                pass  # asks, changes nothing
            case Delete(flavor_id):
                assert target is not None and target.id == flavor_id
                target = None
            case Create(flavor):
                assert target is None, "nova answers 409"
                target = dataclasses.replace(flavor, extra_specs={}, access=())
            case SetSpecs(specs):
                assert target is not None
                target = dataclasses.replace(target, extra_specs={**target.extra_specs, **specs})
            case UnsetSpec(key):
                assert target is not None and key in target.extra_specs
                target = dataclasses.replace(
                    target, extra_specs={k: v for k, v in target.extra_specs.items() if k != key}
                )
            case Describe(description):
                assert target is not None
                target = dataclasses.replace(target, description=description)
            case Grant(project):
                assert target is not None and not target.is_public and project not in target.access
                target = dataclasses.replace(target, access=tuple(sorted((*target.access, project))))
            case Revoke(project):
                assert target is not None and project in target.access
                target = dataclasses.replace(target, access=tuple(p for p in target.access if p != project))
    return target


# -- normalisation ------------------------------------------------------------------------


@given(flavors(), st.sampled_from([(2, 61), (2, 74), (2, 75), (2, 101)]))
def test_nova_answers_for_one_flavor_at_any_microversion_read_the_same(
    flavor: Flavor, microversion: tuple[int, int]
) -> None:
    # swap is "" before 2.75 when there is none, 0 from 2.75 on
    body = api_body(flavor, microversion)
    assert Flavor.from_api(body, flavor.access) == flavor
    assert decide(flavor, Flavor.from_api(body, flavor.access), force=False) == Decision(UNCHANGED)


@given(flavors())
def test_no_description_is_none_or_empty_alike(flavor: Flavor) -> None:
    none, empty = api_body(flavor) | {"description": None}, api_body(flavor) | {"description": ""}
    assert Flavor.from_api(none, flavor.access) == Flavor.from_api(empty, flavor.access)


def test_specs_are_strings_and_access_a_sorted_list_and_links_do_not_count() -> None:
    body = api_body(Flavor("42", "m1.small", 1, 512, 1, is_public=False))
    body |= {"extra_specs": {"hw:numa_nodes": 2}, "rxtx_factor": "1.0", "links": [], "OS-FLV-DISABLED:disabled": True}
    flavor = Flavor.from_api(body, ["p2", "p1", "p2"])
    assert (flavor.extra_specs, flavor.rxtx_factor, flavor.access) == ({"hw:numa_nodes": "2"}, 1.0, ("p1", "p2"))


def test_a_public_flavor_has_no_access_list() -> None:
    assert Flavor.from_api(api_body(Flavor("42", "m1.small", 1, 512, 1)), ["p1"]).access == ()


# -- decisions ------------------------------------------------------------------------------


@given(flavors(), st.booleans(), st.booleans())
def test_nothing_in_the_target_means_create_first(source: Flavor, force: bool, resume: bool) -> None:
    decision = decide(source, None, force, resume)
    assert decision.result == CREATED and decision.steps[0] == Create(source)
    assert apply(None, decision.steps) == source


@given(st.data(), flavors(), st.booleans())
def test_the_steps_of_a_decision_make_the_target_equal_the_source(
    data: st.DataObject, source: Flavor, resume: bool
) -> None:
    target = data.draw(variants(source))
    decision = decide(source, target, force=True, resume=resume)
    assert apply(target, decision.steps) == source


@given(st.data(), flavors(), st.booleans())
def test_force_never_conflicts(data: st.DataObject, source: Flavor, resume: bool) -> None:
    target = data.draw(st.one_of(st.none(), variants(source)))
    assert decide(source, target, force=True, resume=resume).result != CONFLICT


@given(st.data(), flavors())
def test_without_force_a_different_target_is_a_conflict_naming_exactly_the_differing_fields(
    data: st.DataObject, source: Flavor
) -> None:
    target = data.draw(variants(source))
    differing = [name for name in FIELDS if getattr(source, name) != getattr(target, name)]
    assume(differing)
    assert decide(source, target, force=False) == Decision(CONFLICT, (), tuple(differing))


@given(st.data(), flavors())
def test_only_description_specs_and_access_are_changed_in_place(data: st.DataObject, source: Flavor) -> None:
    target = data.draw(variants(source, tuple(sorted(IN_PLACE))))
    assume(differences(source, target))
    decision = decide(source, target, force=True)
    assert decision.result == UPDATED
    assert not any(isinstance(step, Create | Delete) for step in decision.steps)


@given(st.data(), flavors(), st.sampled_from(sorted(set(FIELDS) - IN_PLACE)))
def test_any_other_difference_replaces_the_target(data: st.DataObject, source: Flavor, fixed: str) -> None:
    target = data.draw(variants(source))
    assume(getattr(target, fixed) != getattr(source, fixed))
    decision = decide(source, target, force=True)
    # The specs are asked about before anything is deleted.
    check = (CheckSpecs(dict(source.extra_specs)),) if source.extra_specs else ()
    assert decision.result == REPLACED
    assert decision.steps[: len(check) + 2] == (*check, Delete(target.id), Create(source))


@given(st.data(), flavors())
def test_kingsyncs_unfinished_copy_is_finished_in_place_without_force(data: st.DataObject, source: Flavor) -> None:
    target = data.draw(variants(source, tuple(sorted(IN_PLACE))))
    assume(differences(source, target))
    decision = decide(source, target, force=False, resume=True)
    assert decision.result == UPDATED and apply(target, decision.steps) == source


def test_an_unfinished_copy_whose_sizes_differ_is_still_a_conflict_without_force() -> None:
    # It can only be replaced, and replacing what may no longer be kingsync's takes force.
    source = Flavor("42", "m1.small", 1, 512, 1)
    decision = decide(source, dataclasses.replace(source, ram=1024), force=False, resume=True)
    assert decision == Decision(CONFLICT, (), ("ram",))


def test_a_flavor_holding_the_name_under_another_id_differs_in_id() -> None:
    source = Flavor("42", "m1.small", 1, 512, 1)
    target = dataclasses.replace(source, id="7")
    assert decide(source, target, force=False).differing == ("id",)
    assert decide(source, target, force=True).steps == (Delete("7"), Create(source))


def test_a_private_flavor_is_made_then_given_its_specs_then_its_access() -> None:
    source = Flavor("42", "m1.small", 1, 512, 1, is_public=False, extra_specs={"a": "1"}, access=("p1", "p2"))
    assert decide(source, None, force=False).steps == (
        Create(source),
        SetSpecs({"a": "1"}),
        Grant("p1"),
        Grant("p2"),
    )


def test_an_update_sends_only_what_changed_and_the_specs_first() -> None:
    source = Flavor(
        "42", "m1", 1, 512, 1, is_public=False, description="new", extra_specs={"a": "1", "b": "2"}, access=("p1",)
    )
    target = dataclasses.replace(source, description=None, extra_specs={"a": "1", "b": "3", "c": "4"}, access=("p2",))
    decision = decide(source, target, force=True)
    assert decision == Decision(
        UPDATED,
        (SetSpecs({"b": "2"}), UnsetSpec("c"), Describe("new"), Grant("p1"), Revoke("p2")),
        ("description", "extra_specs", "access"),
    )


@pytest.mark.parametrize("force", [False, True])
def test_an_identical_target_is_unchanged_even_with_force(force: bool) -> None:
    source = Flavor("42", "m1.small", 1, 512, 1, extra_specs={"a": "1"})
    assert decide(source, dataclasses.replace(source), force) == Decision(UNCHANGED)
