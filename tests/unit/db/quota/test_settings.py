"""kingsync.db.quota.settings on every database: a project's region
settings (exclusion, pins) and its headroom policy, each change audited."""

from __future__ import annotations

import pytest

from kingsync.db.models import MANAGED_BY_LIMITS
from kingsync.db.quota import settings
from kingsync.db.quota.errors import NotFound
from kingsync.db.session import transaction
from tests.unit.db.quota.helpers import ADMIN, OTHER, PROJECT, audit_trail, project_state, set_limits

# -- region settings -----------------------------------------------------------------------------------


def test_region_settings_are_kept_per_region(db_url: str) -> None:
    with transaction(db_url) as s:
        made = settings.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
        settings.set_region_setting(s, PROJECT, "RegionOne", False, {"cores": 4, "ram": 512}, ADMIN)
    assert made == settings.RegionSetting("RegionTwo", True, {})
    with transaction(db_url) as s:
        assert settings.get_region_settings(s, PROJECT) == {
            "RegionOne": settings.RegionSetting("RegionOne", False, {"cores": 4, "ram": 512}),
            "RegionTwo": settings.RegionSetting("RegionTwo", True, {}),
        }
        assert settings.get_region_settings(s, OTHER) == {}


def test_a_region_setting_makes_the_project_managed(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionTwo", True, {}, ADMIN)
    state = project_state(db_url)
    assert state is not None and state.managed_by == MANAGED_BY_LIMITS


def test_setting_a_region_again_replaces_its_pins_and_audits_each_change(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionOne", False, {"cores": 4, "ram": 512}, ADMIN)
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionOne", True, {"cores": 6, "instances": 2}, ADMIN)
    with transaction(db_url) as s:
        assert settings.get_region_settings(s, PROJECT)["RegionOne"].pins == {"cores": 6, "instances": 2}
    assert sorted(audit_trail(db_url)[2:]) == [
        ("RegionOne", "cores", 4, 6),
        ("RegionOne", "excluded", 0, 1),
        ("RegionOne", "instances", None, 2),
        ("RegionOne", "ram", 512, None),
    ]


def test_delete_region_setting_audits_what_it_removes(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionOne", True, {"cores": 4}, ADMIN)
    with transaction(db_url) as s:
        settings.delete_region_setting(s, PROJECT, "RegionOne", ADMIN)
    with transaction(db_url) as s:
        assert settings.get_region_settings(s, PROJECT) == {}
    assert sorted(audit_trail(db_url)[2:]) == [("RegionOne", "cores", 4, None), ("RegionOne", "excluded", 1, 0)]


def test_delete_of_a_region_without_a_setting_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_region_setting(s, PROJECT, "RegionOne", True, {}, ADMIN)
    with transaction(db_url) as s, pytest.raises(NotFound, match="RegionTwo"):
        settings.delete_region_setting(s, PROJECT, "RegionTwo", ADMIN)


# -- headroom policy -----------------------------------------------------------------------------------


def test_a_project_without_a_policy_follows_the_deployment(db_url: str) -> None:
    with transaction(db_url) as s:
        assert settings.get_project_policy(s, PROJECT) == (None, None)


def test_project_policy_is_stored_and_audited_in_words(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_project_policy(s, PROJECT, "proportional", 0.25, ADMIN)
    with transaction(db_url) as s:
        settings.set_project_policy(s, PROJECT, "even", None, ADMIN)
        settings.set_project_policy(s, PROJECT, "even", None, ADMIN)  # no change, no entry
    with transaction(db_url) as s:
        assert settings.get_project_policy(s, PROJECT) == ("even", None)
    with transaction(db_url) as s:
        settings.delete_project_policy(s, PROJECT, ADMIN)
        assert settings.get_project_policy(s, PROJECT) == (None, None)
    assert audit_trail(db_url) == [
        (None, "headroom_policy: default -> proportional floor=0.25", None, None),
        (None, "headroom_policy: proportional floor=0.25 -> even", None, None),
        (None, "headroom_policy: even -> default", None, None),
    ]


def test_a_floor_round_trips_exactly(db_url: str) -> None:
    with transaction(db_url) as s:
        settings.set_project_policy(s, PROJECT, "proportional", 0.1, ADMIN)
    with transaction(db_url) as s:
        assert settings.get_project_policy(s, PROJECT) == ("proportional", 0.1)


def test_delete_of_a_policy_never_set_is_not_found(db_url: str) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s, pytest.raises(NotFound):
        settings.delete_project_policy(s, PROJECT, ADMIN)
    with transaction(db_url) as s, pytest.raises(NotFound):
        settings.delete_project_policy(s, OTHER, ADMIN)
