"""kingsync.db.quota.regional on every database: what the engine last knew
of a project in each region, and of each region's services."""

from __future__ import annotations

from kingsync.db.quota import regional
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock
from tests.unit.db.quota.helpers import OTHER, PROJECT

# -- regional state ------------------------------------------------------------------------------------


def test_save_regional_stores_limits_and_usage_with_their_times(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        regional.save_regional(
            s,
            PROJECT,
            [
                regional.RegionalUpdate("RegionOne", "cores", limit=20, usage=3, demand=0.5),
                regional.RegionalUpdate("RegionTwo", "cores", usage=7),
            ],
        )
    with transaction(db_url) as s:
        assert regional.get_regional(s, PROJECT) == {
            ("RegionOne", "cores"): regional.Regional("RegionOne", "cores", 20, clock.now, 3, clock.now, 0.5),
            ("RegionTwo", "cores"): regional.Regional("RegionTwo", "cores", None, None, 7, clock.now, 0.0),
        }


def test_save_regional_leaves_what_an_update_keeps(db_url: str, clock: Clock) -> None:
    confirmed = clock.now
    with transaction(db_url) as s:
        regional.save_regional(
            s, PROJECT, [regional.RegionalUpdate("RegionOne", "cores", limit=20, usage=3, demand=0.5)]
        )
    clock.advance(30)
    with transaction(db_url) as s:
        regional.save_regional(s, PROJECT, [regional.RegionalUpdate("RegionOne", "cores", usage=5)])
    with transaction(db_url) as s:
        after_usage = regional.get_regional(s, PROJECT)[("RegionOne", "cores")]
    assert after_usage == regional.Regional("RegionOne", "cores", 20, confirmed, 5, clock.now, 0.5)
    with transaction(db_url) as s:
        regional.save_regional(s, PROJECT, [regional.RegionalUpdate("RegionOne", "cores", limit=None, demand=1.5)])
    with transaction(db_url) as s:
        after_limit = regional.get_regional(s, PROJECT)[("RegionOne", "cores")]
    assert after_limit == regional.Regional("RegionOne", "cores", None, None, 5, clock.now, 1.5)


def test_regional_state_is_per_project(db_url: str) -> None:
    with transaction(db_url) as s:
        regional.save_regional(s, PROJECT, [regional.RegionalUpdate("RegionOne", "cores", limit=20)])
        regional.save_regional(s, OTHER, [regional.RegionalUpdate("RegionOne", "cores", limit=30)])
    with transaction(db_url) as s:
        assert regional.get_regional(s, PROJECT)[("RegionOne", "cores")].limit == 20


# -- region health -------------------------------------------------------------------------------------


def test_region_status_keeps_the_last_time_a_service_answered(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        regional.set_region_status(s, "RegionOne", "nova", True, None)
        regional.set_region_status(s, "RegionOne", "cinder", True, None)
    answered = clock.now
    clock.advance(60)
    with transaction(db_url) as s:
        regional.set_region_status(s, "RegionOne", "nova", False, "connection refused")
    with transaction(db_url) as s:
        status = regional.list_region_status(s)
    assert status == {
        ("RegionOne", "cinder"): regional.RegionStatus("RegionOne", "cinder", True, None, answered, answered),
        ("RegionOne", "nova"): regional.RegionStatus(
            "RegionOne", "nova", False, "connection refused", clock.now, answered
        ),
    }
    clock.advance(60)
    with transaction(db_url) as s:
        regional.set_region_status(s, "RegionOne", "nova", True, None)
    with transaction(db_url) as s:
        back = regional.list_region_status(s)[("RegionOne", "nova")]
    assert (back.reachable, back.last_error, back.checked_at, back.last_ok_at) == (True, None, clock.now, clock.now)
