"""kingsync.db.quota.limits on every database: a project's global limits
(and when they make it managed, or no longer), quota classes, and the
effective limits."""

from __future__ import annotations

import datetime

import pytest

from kingsync.db.models import MANAGED_BY_DISCOVERY, MANAGED_BY_LIMITS
from kingsync.db.quota import audit, projects, regional, settings
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota.errors import NotFound
from kingsync.db.session import transaction
from kingsync.quota import resources
from tests.unit.db.conftest import Clock
from tests.unit.db.quota.helpers import ADMIN, LATER, OTHER, PROJECT, audit_trail, claim, project_state, set_limits

# -- project limits ------------------------------------------------------------------------------------


def test_set_project_limits_returns_what_was_written(db_url: str) -> None:
    with transaction(db_url) as s:
        assert global_limits.set_project_limits(s, PROJECT, {"cores": 40, "ram": -1}, ADMIN) == {"cores": 40, "ram": -1}
    with transaction(db_url) as s:
        assert global_limits.get_project_limits(s, PROJECT) == {"cores": 40, "ram": -1}
        assert global_limits.get_project_limits(s, OTHER) == {}


def test_setting_limits_again_updates_them_and_keeps_the_others(db_url: str) -> None:
    set_limits(db_url, {"cores": 40, "ram": 1000})
    set_limits(db_url, {"cores": 50, "instances": 5})
    with transaction(db_url) as s:
        assert global_limits.get_project_limits(s, PROJECT) == {"cores": 50, "instances": 5, "ram": 1000}


def test_limit_changes_are_audited_with_who_and_why_and_unchanged_values_are_not(db_url: str) -> None:
    set_limits(db_url, {"cores": 40, "ram": 1000})
    set_limits(db_url, {"cores": 50, "ram": 1000}, actor=LATER)
    assert audit_trail(db_url) == [(None, "cores", None, 40), (None, "ram", None, 1000), (None, "cores", 40, 50)]
    with transaction(db_url) as s:
        newest = audit.list_audit(s, PROJECT)[0]
    assert (newest.actor, newest.reason, newest.request_id) == ("other-admin", "admin", "req-2")
    assert (newest.project_id, newest.class_name) == (PROJECT, None)
    assert newest.id is not None and newest.created_at is not None


def test_first_limit_makes_the_project_managed_and_due_now(db_url: str, clock: Clock) -> None:
    assert project_state(db_url) is None
    set_limits(db_url, {"cores": 40})
    state = project_state(db_url)
    assert state is not None
    assert (state.managed_by, state.next_check_at, state.created_at) == (MANAGED_BY_LIMITS, clock.now, clock.now)
    assert state.lease_owner is None and state.last_status is None


def test_a_limit_change_makes_a_project_due_again_at_once(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    (claimed,) = claim(db_url, "engine-a")
    with transaction(db_url) as s:
        projects.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
    clock.advance(10)
    set_limits(db_url, {"cores": 50})
    assert claim(db_url, "engine-a") == [PROJECT]


def test_a_discovered_project_stays_discovered_when_an_admin_sets_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        projects.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    set_limits(db_url, {"cores": 40})
    state = project_state(db_url)
    assert state is not None and state.managed_by == MANAGED_BY_DISCOVERY


def test_delete_all_limits_returns_and_audits_them(db_url: str) -> None:
    set_limits(db_url, {"ram": 1000, "cores": 40})
    with transaction(db_url) as s:
        assert global_limits.delete_project_limits(s, PROJECT, None, LATER) == ["cores", "ram"]
    with transaction(db_url) as s:
        assert global_limits.get_project_limits(s, PROJECT) == {}
    assert audit_trail(db_url)[-2:] == [(None, "cores", 40, None), (None, "ram", 1000, None)]


def test_delete_named_limits_keeps_the_others(db_url: str) -> None:
    set_limits(db_url, {"ram": 1000, "cores": 40, "instances": 5})
    with transaction(db_url) as s:
        assert global_limits.delete_project_limits(s, PROJECT, ["ram", "cores"], ADMIN) == ["ram", "cores"]
    with transaction(db_url) as s:
        assert global_limits.get_project_limits(s, PROJECT) == {"instances": 5}


def test_delete_limits_of_a_project_without_any_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(NotFound, match="^Project quota not found$"):
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)


def test_delete_of_a_limit_that_is_not_set_names_it_and_deletes_nothing(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s, pytest.raises(NotFound, match="ram"):
        global_limits.delete_project_limits(s, PROJECT, ["cores", "ram"], ADMIN)
    with transaction(db_url) as s:
        assert global_limits.get_project_limits(s, PROJECT) == {"cores": 40}


def test_deleting_the_last_limit_unmanages_the_project_and_forgets_its_regional_state(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        regional.save_regional(s, PROJECT, [regional.RegionalUpdate("RegionOne", "cores", limit=20, usage=3)])
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)
    assert project_state(db_url) is None
    with transaction(db_url) as s:
        assert regional.get_regional(s, PROJECT) == {}
        assert projects.managed_projects(s) == []


def test_a_project_with_a_region_setting_stays_managed_without_limits(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)
    assert project_state(db_url) is not None
    with transaction(db_url) as s:
        settings.delete_region_setting(s, PROJECT, "RegionTwo", ADMIN)
    assert project_state(db_url) is None


def test_a_project_with_a_pin_stays_managed_without_limits(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionTwo", False, {"cores": 4}, ADMIN)
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)
    assert project_state(db_url) is not None


def test_a_project_with_a_headroom_policy_stays_managed_without_limits(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        settings.set_project_policy(s, PROJECT, "proportional", 0.2, ADMIN)
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)
    assert project_state(db_url) is not None
    with transaction(db_url) as s:
        settings.delete_project_policy(s, PROJECT, ADMIN)
    assert project_state(db_url) is None


def test_a_discovered_project_stays_managed_without_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        projects.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        global_limits.delete_project_limits(s, PROJECT, None, ADMIN)
    assert project_state(db_url) is not None


# -- quota classes and effective limits ----------------------------------------------------------------


def test_set_class_stores_its_limits_and_audits_them_without_a_project(db_url: str) -> None:
    with transaction(db_url) as s:
        assert global_limits.set_class(s, "gold", {"cores": 100}, ADMIN) == {"cores": 100}
        global_limits.set_class(s, "gold", {"cores": 200, "ram": 5}, LATER)
    with transaction(db_url) as s:
        assert global_limits.get_class(s, "gold") == {"cores": 200, "ram": 5}
        assert global_limits.get_class(s, "silver") == {}
        assert audit.list_audit(s, PROJECT) == []


def test_delete_class_removes_all_its_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        global_limits.set_class(s, "gold", {"cores": 100, "ram": 5}, ADMIN)
    with transaction(db_url) as s:
        global_limits.delete_class(s, "gold", ADMIN)
    with transaction(db_url) as s:
        assert global_limits.get_class(s, "gold") == {}


def test_delete_of_an_unknown_class_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(NotFound, match="^Quota class not found$"):
        global_limits.delete_class(s, "gold", ADMIN)


def test_effective_limits_are_defaults_then_default_class_then_the_projects_own(db_url: str) -> None:
    with transaction(db_url) as s:
        global_limits.set_class(s, "default", {"cores": 30, "ram": 4096}, ADMIN)
        global_limits.set_class(s, "gold", {"cores": 999}, ADMIN)  # a class no project is held to
        global_limits.set_project_limits(s, PROJECT, {"ram": 8192, "server_groups": 3}, ADMIN)
    with transaction(db_url) as s:
        defaults = global_limits.effective_defaults(s)
        limits = global_limits.effective_limits(s, PROJECT)
        other = global_limits.effective_limits(s, OTHER)
    assert defaults == {**resources.defaults(), "cores": 30, "ram": 4096}
    assert limits == {**resources.defaults(), "cores": 30, "ram": 8192, "server_groups": 3}
    assert other == defaults


def test_effective_limits_many_agrees_with_effective_limits(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    set_limits(db_url, {"ram": 1}, project_id=OTHER)
    with transaction(db_url) as s:
        global_limits.set_class(s, "default", {"instances": 3}, ADMIN)
    with transaction(db_url) as s:
        many = global_limits.effective_limits_many(s, [PROJECT, OTHER, "unknown"])
        one = {p: global_limits.effective_limits(s, p) for p in (PROJECT, OTHER, "unknown")}
        assert global_limits.effective_limits_many(s, []) == {}
    assert many == one


def test_a_default_class_change_makes_every_managed_project_due(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        (claimed,) = projects.claim_projects(s, "engine-a", 1, 60)
        projects.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
    clock.advance(10)
    with transaction(db_url) as s:
        global_limits.set_class(s, "gold", {"cores": 1}, ADMIN)
    assert claim(db_url, "engine-a") == []
    with transaction(db_url) as s:
        global_limits.set_class(s, "default", {"cores": 1}, ADMIN)
    assert claim(db_url, "engine-a") == [PROJECT]
