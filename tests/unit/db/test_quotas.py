"""kingsync.db.quotas on every database: global limits, classes, settings,
regional state, audit, and the engine's queue of managed projects."""

from __future__ import annotations

import datetime

import pytest

from kingsync.db import quotas
from kingsync.db.models import MANAGED_BY_DISCOVERY, MANAGED_BY_LIMITS
from kingsync.db.session import transaction
from kingsync.quota import resources
from tests.unit.db.conftest import Clock

PROJECT = "p" * 32
OTHER = "o" * 32
ADMIN = quotas.Actor("admin-user", "admin", "req-1")
LATER = quotas.Actor("other-admin", "admin", "req-2")


def _audit(url: str, project_id: str = PROJECT) -> list[tuple[str | None, str, int | None, int | None]]:
    """(region, resource, old, new) of a project's audit, oldest first."""
    with transaction(url) as s:
        entries = quotas.list_audit(s, project_id)
    return [(e.region, e.resource, e.old_limit, e.new_limit) for e in reversed(entries)]


def _state(url: str, project_id: str = PROJECT) -> quotas.ProjectState | None:
    with transaction(url) as s:
        return quotas.get_project_state(s, project_id)


def _set_limits(url: str, limits: dict[str, int], project_id: str = PROJECT, actor: quotas.Actor = ADMIN) -> None:
    with transaction(url) as s:
        quotas.set_project_limits(s, project_id, limits, actor)


def _claim(url: str, engine: str, limit: int = 10, lease: float = 60) -> list[str]:
    with transaction(url) as s:
        return quotas.claim_projects(s, engine, limit, lease)


# -- project limits ------------------------------------------------------------------------------------


def test_set_project_limits_returns_what_was_written(db_url: str) -> None:
    with transaction(db_url) as s:
        assert quotas.set_project_limits(s, PROJECT, {"cores": 40, "ram": -1}, ADMIN) == {"cores": 40, "ram": -1}
    with transaction(db_url) as s:
        assert quotas.get_project_limits(s, PROJECT) == {"cores": 40, "ram": -1}
        assert quotas.get_project_limits(s, OTHER) == {}


def test_setting_limits_again_updates_them_and_keeps_the_others(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40, "ram": 1000})
    _set_limits(db_url, {"cores": 50, "instances": 5})
    with transaction(db_url) as s:
        assert quotas.get_project_limits(s, PROJECT) == {"cores": 50, "instances": 5, "ram": 1000}


def test_limit_changes_are_audited_with_who_and_why_and_unchanged_values_are_not(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40, "ram": 1000})
    _set_limits(db_url, {"cores": 50, "ram": 1000}, actor=LATER)
    assert _audit(db_url) == [(None, "cores", None, 40), (None, "ram", None, 1000), (None, "cores", 40, 50)]
    with transaction(db_url) as s:
        newest = quotas.list_audit(s, PROJECT)[0]
    assert (newest.actor, newest.reason, newest.request_id) == ("other-admin", "admin", "req-2")
    assert (newest.project_id, newest.class_name) == (PROJECT, None)
    assert newest.id is not None and newest.created_at is not None


def test_first_limit_makes_the_project_managed_and_due_now(db_url: str, clock: Clock) -> None:
    assert _state(db_url) is None
    _set_limits(db_url, {"cores": 40})
    state = _state(db_url)
    assert state is not None
    assert (state.managed_by, state.next_check_at, state.created_at) == (MANAGED_BY_LIMITS, clock.now, clock.now)
    assert state.lease_owner is None and state.last_status is None


def test_a_limit_change_makes_a_project_due_again_at_once(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    (claimed,) = _claim(db_url, "engine-a")
    with transaction(db_url) as s:
        quotas.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
    clock.advance(10)
    _set_limits(db_url, {"cores": 50})
    assert _claim(db_url, "engine-a") == [PROJECT]


def test_a_discovered_project_stays_discovered_when_an_admin_sets_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    _set_limits(db_url, {"cores": 40})
    state = _state(db_url)
    assert state is not None and state.managed_by == MANAGED_BY_DISCOVERY


def test_delete_all_limits_returns_and_audits_them(db_url: str) -> None:
    _set_limits(db_url, {"ram": 1000, "cores": 40})
    with transaction(db_url) as s:
        assert quotas.delete_project_limits(s, PROJECT, None, LATER) == ["cores", "ram"]
    with transaction(db_url) as s:
        assert quotas.get_project_limits(s, PROJECT) == {}
    assert _audit(db_url)[-2:] == [(None, "cores", 40, None), (None, "ram", 1000, None)]


def test_delete_named_limits_keeps_the_others(db_url: str) -> None:
    _set_limits(db_url, {"ram": 1000, "cores": 40, "instances": 5})
    with transaction(db_url) as s:
        assert quotas.delete_project_limits(s, PROJECT, ["ram", "cores"], ADMIN) == ["ram", "cores"]
    with transaction(db_url) as s:
        assert quotas.get_project_limits(s, PROJECT) == {"instances": 5}


def test_delete_limits_of_a_project_without_any_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(quotas.NotFound, match="^Project quota not found$"):
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)


def test_delete_of_a_limit_that_is_not_set_names_it_and_deletes_nothing(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s, pytest.raises(quotas.NotFound, match="ram"):
        quotas.delete_project_limits(s, PROJECT, ["cores", "ram"], ADMIN)
    with transaction(db_url) as s:
        assert quotas.get_project_limits(s, PROJECT) == {"cores": 40}


def test_deleting_the_last_limit_unmanages_the_project_and_forgets_its_regional_state(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        quotas.save_regional(s, PROJECT, [quotas.RegionalUpdate("RegionOne", "cores", limit=20, usage=3)])
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)
    assert _state(db_url) is None
    with transaction(db_url) as s:
        assert quotas.get_regional(s, PROJECT) == {}
        assert quotas.managed_projects(s) == []


def test_a_project_with_a_region_setting_stays_managed_without_limits(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)
    assert _state(db_url) is not None
    with transaction(db_url) as s:
        quotas.delete_region_setting(s, PROJECT, "RegionTwo", ADMIN)
    assert _state(db_url) is None


def test_a_project_with_a_pin_stays_managed_without_limits(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionTwo", False, {"cores": 4}, ADMIN)
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)
    assert _state(db_url) is not None


def test_a_project_with_a_headroom_policy_stays_managed_without_limits(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        quotas.set_project_policy(s, PROJECT, "proportional", 0.2, ADMIN)
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)
    assert _state(db_url) is not None
    with transaction(db_url) as s:
        quotas.delete_project_policy(s, PROJECT, ADMIN)
    assert _state(db_url) is None


def test_a_discovered_project_stays_managed_without_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        quotas.delete_project_limits(s, PROJECT, None, ADMIN)
    assert _state(db_url) is not None


# -- quota classes and effective limits ----------------------------------------------------------------


def test_set_class_stores_its_limits_and_audits_them_without_a_project(db_url: str) -> None:
    with transaction(db_url) as s:
        assert quotas.set_class(s, "gold", {"cores": 100}, ADMIN) == {"cores": 100}
        quotas.set_class(s, "gold", {"cores": 200, "ram": 5}, LATER)
    with transaction(db_url) as s:
        assert quotas.get_class(s, "gold") == {"cores": 200, "ram": 5}
        assert quotas.get_class(s, "silver") == {}
        assert quotas.list_audit(s, PROJECT) == []


def test_delete_class_removes_all_its_limits(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_class(s, "gold", {"cores": 100, "ram": 5}, ADMIN)
    with transaction(db_url) as s:
        quotas.delete_class(s, "gold", ADMIN)
    with transaction(db_url) as s:
        assert quotas.get_class(s, "gold") == {}


def test_delete_of_an_unknown_class_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(quotas.NotFound, match="^Quota class not found$"):
        quotas.delete_class(s, "gold", ADMIN)


def test_effective_limits_are_defaults_then_default_class_then_the_projects_own(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_class(s, "default", {"cores": 30, "ram": 4096}, ADMIN)
        quotas.set_class(s, "gold", {"cores": 999}, ADMIN)  # a class no project is held to
        quotas.set_project_limits(s, PROJECT, {"ram": 8192, "server_groups": 3}, ADMIN)
    with transaction(db_url) as s:
        defaults = quotas.effective_defaults(s)
        limits = quotas.effective_limits(s, PROJECT)
        other = quotas.effective_limits(s, OTHER)
    assert defaults == {**resources.defaults(), "cores": 30, "ram": 4096}
    assert limits == {**resources.defaults(), "cores": 30, "ram": 8192, "server_groups": 3}
    assert other == defaults


def test_effective_limits_many_agrees_with_effective_limits(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    _set_limits(db_url, {"ram": 1}, project_id=OTHER)
    with transaction(db_url) as s:
        quotas.set_class(s, "default", {"instances": 3}, ADMIN)
    with transaction(db_url) as s:
        many = quotas.effective_limits_many(s, [PROJECT, OTHER, "unknown"])
        one = {p: quotas.effective_limits(s, p) for p in (PROJECT, OTHER, "unknown")}
        assert quotas.effective_limits_many(s, []) == {}
    assert many == one


def test_a_default_class_change_makes_every_managed_project_due(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        (claimed,) = quotas.claim_projects(s, "engine-a", 1, 60)
        quotas.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
    clock.advance(10)
    with transaction(db_url) as s:
        quotas.set_class(s, "gold", {"cores": 1}, ADMIN)
    assert _claim(db_url, "engine-a") == []
    with transaction(db_url) as s:
        quotas.set_class(s, "default", {"cores": 1}, ADMIN)
    assert _claim(db_url, "engine-a") == [PROJECT]


# -- region settings -----------------------------------------------------------------------------------


def test_region_settings_are_kept_per_region(db_url: str) -> None:
    with transaction(db_url) as s:
        made = quotas.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
        quotas.set_region_setting(s, PROJECT, "RegionOne", False, {"cores": 4, "ram": 512}, ADMIN)
    assert made == quotas.RegionSetting("RegionTwo", True, {})
    with transaction(db_url) as s:
        assert quotas.get_region_settings(s, PROJECT) == {
            "RegionOne": quotas.RegionSetting("RegionOne", False, {"cores": 4, "ram": 512}),
            "RegionTwo": quotas.RegionSetting("RegionTwo", True, {}),
        }
        assert quotas.get_region_settings(s, OTHER) == {}


def test_a_region_setting_makes_the_project_managed(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
    state = _state(db_url)
    assert state is not None and state.managed_by == MANAGED_BY_LIMITS


def test_setting_a_region_again_replaces_its_pins_and_audits_each_change(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionOne", False, {"cores": 4, "ram": 512}, ADMIN)
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionOne", True, {"cores": 6, "instances": 2}, ADMIN)
    with transaction(db_url) as s:
        assert quotas.get_region_settings(s, PROJECT)["RegionOne"].pins == {"cores": 6, "instances": 2}
    assert sorted(_audit(db_url)[2:]) == [
        ("RegionOne", "cores", 4, 6),
        ("RegionOne", "excluded", 0, 1),
        ("RegionOne", "instances", None, 2),
        ("RegionOne", "ram", 512, None),
    ]


def test_delete_region_setting_audits_what_it_removes(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionOne", True, {"cores": 4}, ADMIN)
    with transaction(db_url) as s:
        quotas.delete_region_setting(s, PROJECT, "RegionOne", ADMIN)
    with transaction(db_url) as s:
        assert quotas.get_region_settings(s, PROJECT) == {}
    assert sorted(_audit(db_url)[2:]) == [("RegionOne", "cores", 4, None), ("RegionOne", "excluded", 1, 0)]


def test_delete_of_a_region_without_a_setting_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_region_setting(s, PROJECT, "RegionOne", True, {}, ADMIN)
    with transaction(db_url) as s, pytest.raises(quotas.NotFound, match="RegionTwo"):
        quotas.delete_region_setting(s, PROJECT, "RegionTwo", ADMIN)


# -- headroom policy -----------------------------------------------------------------------------------


def test_a_project_without_a_policy_follows_the_deployment(db_url: str) -> None:
    with transaction(db_url) as s:
        assert quotas.get_project_policy(s, PROJECT) == (None, None)


def test_project_policy_is_stored_and_audited_in_words(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_project_policy(s, PROJECT, "proportional", 0.25, ADMIN)
    with transaction(db_url) as s:
        quotas.set_project_policy(s, PROJECT, "even", None, ADMIN)
        quotas.set_project_policy(s, PROJECT, "even", None, ADMIN)  # no change, no entry
    with transaction(db_url) as s:
        assert quotas.get_project_policy(s, PROJECT) == ("even", None)
    with transaction(db_url) as s:
        quotas.delete_project_policy(s, PROJECT, ADMIN)
        assert quotas.get_project_policy(s, PROJECT) == (None, None)
    assert _audit(db_url) == [
        (None, "headroom_policy: default -> proportional floor=0.25", None, None),
        (None, "headroom_policy: proportional floor=0.25 -> even", None, None),
        (None, "headroom_policy: even -> default", None, None),
    ]


def test_a_floor_round_trips_exactly(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.set_project_policy(s, PROJECT, "proportional", 0.1, ADMIN)
    with transaction(db_url) as s:
        assert quotas.get_project_policy(s, PROJECT) == ("proportional", 0.1)


def test_delete_of_a_policy_never_set_is_not_found(db_url: str) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s, pytest.raises(quotas.NotFound):
        quotas.delete_project_policy(s, PROJECT, ADMIN)
    with transaction(db_url) as s, pytest.raises(quotas.NotFound):
        quotas.delete_project_policy(s, OTHER, ADMIN)


# -- regional state ------------------------------------------------------------------------------------


def test_save_regional_stores_limits_and_usage_with_their_times(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        quotas.save_regional(
            s,
            PROJECT,
            [
                quotas.RegionalUpdate("RegionOne", "cores", limit=20, usage=3, demand=0.5),
                quotas.RegionalUpdate("RegionTwo", "cores", usage=7),
            ],
        )
    with transaction(db_url) as s:
        assert quotas.get_regional(s, PROJECT) == {
            ("RegionOne", "cores"): quotas.Regional("RegionOne", "cores", 20, clock.now, 3, clock.now, 0.5),
            ("RegionTwo", "cores"): quotas.Regional("RegionTwo", "cores", None, None, 7, clock.now, 0.0),
        }


def test_save_regional_leaves_what_an_update_keeps(db_url: str, clock: Clock) -> None:
    confirmed = clock.now
    with transaction(db_url) as s:
        quotas.save_regional(s, PROJECT, [quotas.RegionalUpdate("RegionOne", "cores", limit=20, usage=3, demand=0.5)])
    clock.advance(30)
    with transaction(db_url) as s:
        quotas.save_regional(s, PROJECT, [quotas.RegionalUpdate("RegionOne", "cores", usage=5)])
    with transaction(db_url) as s:
        after_usage = quotas.get_regional(s, PROJECT)[("RegionOne", "cores")]
    assert after_usage == quotas.Regional("RegionOne", "cores", 20, confirmed, 5, clock.now, 0.5)
    with transaction(db_url) as s:
        quotas.save_regional(s, PROJECT, [quotas.RegionalUpdate("RegionOne", "cores", limit=None, demand=1.5)])
    with transaction(db_url) as s:
        after_limit = quotas.get_regional(s, PROJECT)[("RegionOne", "cores")]
    assert after_limit == quotas.Regional("RegionOne", "cores", None, None, 5, clock.now, 1.5)


def test_regional_state_is_per_project(db_url: str) -> None:
    with transaction(db_url) as s:
        quotas.save_regional(s, PROJECT, [quotas.RegionalUpdate("RegionOne", "cores", limit=20)])
        quotas.save_regional(s, OTHER, [quotas.RegionalUpdate("RegionOne", "cores", limit=30)])
    with transaction(db_url) as s:
        assert quotas.get_regional(s, PROJECT)[("RegionOne", "cores")].limit == 20


# -- region health -------------------------------------------------------------------------------------


def test_region_status_keeps_the_last_time_a_service_answered(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        quotas.set_region_status(s, "RegionOne", "nova", True, None)
        quotas.set_region_status(s, "RegionOne", "cinder", True, None)
    answered = clock.now
    clock.advance(60)
    with transaction(db_url) as s:
        quotas.set_region_status(s, "RegionOne", "nova", False, "connection refused")
    with transaction(db_url) as s:
        status = quotas.list_region_status(s)
    assert status == {
        ("RegionOne", "cinder"): quotas.RegionStatus("RegionOne", "cinder", True, None, answered, answered),
        ("RegionOne", "nova"): quotas.RegionStatus(
            "RegionOne", "nova", False, "connection refused", clock.now, answered
        ),
    }
    clock.advance(60)
    with transaction(db_url) as s:
        quotas.set_region_status(s, "RegionOne", "nova", True, None)
    with transaction(db_url) as s:
        back = quotas.list_region_status(s)[("RegionOne", "nova")]
    assert (back.reachable, back.last_error, back.checked_at, back.last_ok_at) == (True, None, clock.now, clock.now)


# -- audit ---------------------------------------------------------------------------------------------


def test_engine_entries_are_stored_as_given(db_url: str, clock: Clock) -> None:
    when = clock.now - datetime.timedelta(seconds=5)
    entry = quotas.AuditEntry.regional(PROJECT, "RegionOne", "cores", 10, 12, "kingsync", "rebalance", when)
    with transaction(db_url) as s:
        quotas.add_audit(s, [entry])
        quotas.add_audit(s, [])
    with transaction(db_url) as s:
        (stored,) = quotas.list_audit(s, PROJECT)
    assert stored == quotas.AuditEntry(
        PROJECT, None, "RegionOne", "cores", 10, 12, "kingsync", "rebalance", None, when, stored.id
    )


def test_audit_is_listed_newest_first_a_page_at_a_time(db_url: str, clock: Clock) -> None:
    for n in range(5):
        _set_limits(db_url, {"cores": n})
        clock.advance(1)
    _set_limits(db_url, {"cores": 99}, project_id=OTHER)
    with transaction(db_url) as s:
        first = quotas.list_audit(s, PROJECT, limit=2)
        second = quotas.list_audit(s, PROJECT, limit=2, before_id=first[-1].id)
        last = quotas.list_audit(s, PROJECT, limit=2, before_id=second[-1].id)
        assert quotas.list_audit(s, PROJECT, before_id=last[-1].id) == []
    assert [e.new_limit for e in first + second + last] == [4, 3, 2, 1, 0]


def test_audit_entries_made_together_page_by_id(db_url: str) -> None:
    _set_limits(db_url, {"cores": 1, "ram": 2, "instances": 3})
    with transaction(db_url) as s:
        first = quotas.list_audit(s, PROJECT, limit=1)
        rest = quotas.list_audit(s, PROJECT, before_id=first[0].id)
    assert sorted(e.resource for e in first + rest) == ["cores", "instances", "ram"]


def test_a_marker_of_another_project_lists_nothing(db_url: str) -> None:
    _set_limits(db_url, {"cores": 1})
    _set_limits(db_url, {"cores": 1}, project_id=OTHER)
    with transaction(db_url) as s:
        (theirs,) = quotas.list_audit(s, OTHER)
        assert quotas.list_audit(s, PROJECT, before_id=theirs.id) == []


# -- the engine's queue --------------------------------------------------------------------------------


def test_ensure_managed_adds_only_new_projects_due_now(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        assert quotas.ensure_managed(s, [PROJECT, OTHER, OTHER], MANAGED_BY_DISCOVERY) == 1
        assert quotas.ensure_managed(s, [PROJECT, OTHER], MANAGED_BY_DISCOVERY) == 0
        assert quotas.managed_projects(s) == sorted([PROJECT, OTHER])
    state, other = _state(db_url), _state(db_url, OTHER)
    assert state is not None and state.managed_by == MANAGED_BY_LIMITS
    assert other is not None and (other.managed_by, other.next_check_at) == (MANAGED_BY_DISCOVERY, clock.now)


def test_claim_takes_due_projects_most_overdue_first(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        quotas.ensure_managed(s, [OTHER], MANAGED_BY_DISCOVERY)
    clock.advance(1)
    with transaction(db_url) as s:
        quotas.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    assert _claim(db_url, "engine-a", limit=1) == [OTHER]
    assert _claim(db_url, "engine-a", limit=5) == [PROJECT]
    state = _state(db_url)
    expires = clock.now + datetime.timedelta(seconds=60)
    assert state is not None and (state.lease_owner, state.lease_expires_at) == ("engine-a", expires)


def test_a_project_not_yet_due_is_not_claimed(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    (claimed,) = _claim(db_url, "engine-a")
    with transaction(db_url) as s:
        assert quotas.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(seconds=30), "ok", None)
    assert _claim(db_url, "engine-b") == []
    clock.advance(30)
    assert _claim(db_url, "engine-b") == [PROJECT]


def test_a_leased_project_is_not_claimed_until_its_lease_expires(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    assert _claim(db_url, "engine-a", lease=60) == [PROJECT]
    clock.advance(59)
    assert _claim(db_url, "engine-b") == []
    clock.advance(2)
    assert _claim(db_url, "engine-b") == [PROJECT]  # engine-a is presumed dead
    with transaction(db_url) as s:
        assert not quotas.renew_project(s, PROJECT, "engine-a", 60)
        assert not quotas.release_project(s, PROJECT, "engine-a", clock.now, "ok", None)
    state = _state(db_url)
    assert state is not None and state.lease_owner == "engine-b" and state.last_status is None


def test_renewing_keeps_the_project_away_from_other_engines(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    _claim(db_url, "engine-a", lease=60)
    clock.advance(50)
    with transaction(db_url) as s:
        assert quotas.renew_project(s, PROJECT, "engine-a", 60)
    clock.advance(50)
    assert _claim(db_url, "engine-b") == []


def test_release_records_the_round_and_when_to_look_again(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    _claim(db_url, "engine-a")
    clock.advance(5)
    due = clock.now + datetime.timedelta(seconds=900)
    with transaction(db_url) as s:
        assert quotas.release_project(s, PROJECT, "engine-a", due, "partial", "RegionTwo nova: timed out")
    state = _state(db_url)
    assert state is not None
    assert (state.lease_owner, state.lease_expires_at, state.next_check_at) == (None, None, due)
    assert (state.last_reconciled_at, state.last_status, state.last_error) == (
        clock.now,
        "partial",
        "RegionTwo nova: timed out",
    )


def test_a_reconcile_asked_for_during_a_round_is_kept_when_the_round_ends(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    _claim(db_url, "engine-a", lease=60)
    clock.advance(5)
    with transaction(db_url) as s:
        quotas.request_reconcile(s, PROJECT)
    clock.advance(5)
    with transaction(db_url) as s:
        assert quotas.renew_project(s, PROJECT, "engine-a", 60)
        quotas.release_project(s, PROJECT, "engine-a", clock.now + datetime.timedelta(seconds=900), "ok", None)
    assert _claim(db_url, "engine-b") == [PROJECT]


def test_request_reconcile_makes_a_project_due_now(db_url: str, clock: Clock) -> None:
    _set_limits(db_url, {"cores": 40})
    _claim(db_url, "engine-a")
    with transaction(db_url) as s:
        quotas.release_project(s, PROJECT, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
        quotas.request_reconcile(s, PROJECT)
    assert _claim(db_url, "engine-a") == [PROJECT]


def test_request_reconcile_of_an_unmanaged_project_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(quotas.NotFound):
        quotas.request_reconcile(s, PROJECT)
