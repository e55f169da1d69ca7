"""A project region by region (``.../regions``), and its pins and exclusion
in one region (``.../regions/{region}``): kingsync's, from the database."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kingsync import regions
from kingsync.db import session
from kingsync.db.quota import regional
from tests.functional.api.conftest import Api, Doorbell, Override, Persona

REGIONS = ["RegionOne", "RegionThree", "RegionTwo"]  # the catalog's, sorted


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


def setting_path(project_id: str, region: str) -> str:
    return "/os-quota-sets/%s/regions/%s" % (project_id, region)


def overview(who: Api, project_id: str) -> Any:
    resp = who.call("GET", "/os-quota-sets/%s/regions" % project_id)
    assert resp.status_code == 200, resp.text
    return resp.json()


def record_round(db_url: str, project_id: str) -> datetime.datetime:
    """Play the engine: what it would store after reading RegionOne and failing on RegionTwo's cinder."""
    now = datetime.datetime(2027, 1, 10, 12, 0, 0)
    with session.transaction(db_url) as db:
        regional.save_regional(
            db,
            project_id,
            [
                regional.RegionalUpdate("RegionOne", "cores", limit=12, usage=4, demand=0.5),
                regional.RegionalUpdate("RegionTwo", "cores", limit=8, usage=6, demand=0.0),
            ],
            now=now,
        )
        for service in ("nova", "neutron", "cinder"):
            regional.set_region_status(db, "RegionOne", service, True, None, now=now)
            regional.set_region_status(db, "RegionTwo", service, service != "cinder", None, now=now)
        regional.set_region_status(db, "RegionTwo", "cinder", False, "connection refused", now=now)
    return now


# -- the overview --------------------------------------------------------------------------------


def test_a_project_kingsync_does_not_manage(api: Api) -> None:
    found = overview(api, api.persona.project_id)
    assert [region["region"] for region in found["regions"]] == REGIONS
    for region in found["regions"]:
        assert region == {
            "region": region["region"],
            "state": "unknown",
            "services": {},
            "excluded": False,
            "resources": {},
        }
    assert found["project"] == {
        "managed": False,
        "headroom_policy": {"name": "even", "floor": None, "source": "deployment"},
        "last_reconciled_at": None,
        "last_status": None,
        "last_error": None,
        "next_check_at": None,
    }


def test_a_managed_project_shows_what_the_engine_last_found(admin_api: Api, demo: Persona, db_url: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + demo.project_id, json={"quota_set": {"cores": 20}})
    admin_api.call("PUT", setting_path(demo.project_id, "RegionThree"), json={"region_setting": {"excluded": True}})
    admin_api.call("PUT", setting_path(demo.project_id, "RegionOne"), json={"region_setting": {"pins": {"cores": 10}}})
    record_round(db_url, demo.project_id)
    found = overview(admin_api, demo.project_id)
    by_name = {region["region"]: region for region in found["regions"]}
    one, two, three = by_name["RegionOne"], by_name["RegionTwo"], by_name["RegionThree"]
    assert one["state"] == "reachable"
    assert one["resources"]["cores"] == {
        "usage": 4,
        "limit": 12,
        "pin": 10,
        "confirmed_at": "2027-01-10T12:00:00",
        "usage_at": "2027-01-10T12:00:00",
    }
    assert two["state"] == "unreachable"
    assert two["services"]["cinder"] == {
        "reachable": False,
        "last_error": "connection refused",
        "checked_at": "2027-01-10T12:00:00",
        "last_ok_at": None,
    }
    assert two["services"]["nova"]["reachable"] is True
    # A region not confirmed yet shows every managed resource, unknown; ignored ones are not shown.
    assert (three["state"], three["excluded"]) == ("unknown", True)
    assert three["resources"]["cores"] == {
        "usage": None,
        "limit": None,
        "pin": None,
        "confirmed_at": None,
        "usage_at": None,
    }
    assert "fixed_ips" not in three["resources"]
    project = found["project"]
    assert project["managed"] is True
    assert project["next_check_at"] is not None


def test_a_region_gone_from_the_catalog_still_shows(admin_api: Api, demo: Persona, db_url: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + demo.project_id, json={"quota_set": {"cores": 20}})
    with session.transaction(db_url) as db:
        regional.save_regional(db, demo.project_id, [regional.RegionalUpdate("RegionGone", "cores", limit=3, usage=3)])
    names = [region["region"] for region in overview(admin_api, demo.project_id)["regions"]]
    assert names == [*REGIONS, "RegionGone"]


def test_regions_that_cannot_be_listed_are_503(api: Api, override: Override) -> None:
    override("regions", cloud="no-such-cloud")
    regions.reset()
    resp = api.call("GET", "/os-quota-sets/%s/regions" % api.persona.project_id)
    assert resp.status_code == 503
    assert resp.json()["error"]["type"] == "region_unavailable"
    assert "list of regions could not be read" in resp.json()["error"]["message"]


def test_a_member_of_another_project_cannot_see_its_regions(api: Api, demo2: Persona) -> None:
    resp = api.call("GET", "/os-quota-sets/%s/regions" % demo2.project_id)
    assert resp.status_code == 403


# -- one region's setting -------------------------------------------------------------------------


def test_pins_and_exclusion_are_set_shown_and_deleted(
    admin_api: Api, api: Api, demo: Persona, doorbell: Doorbell
) -> None:
    where = setting_path(demo.project_id, "RegionTwo")
    body = {"region_setting": {"excluded": True, "pins": {"cores": 4, "volumes_ssd": 2}}}
    resp = admin_api.call("PUT", where, json=body)
    assert resp.status_code == 200, resp.text
    expected = {"region": "RegionTwo", "excluded": True, "pins": {"cores": 4, "volumes_ssd": 2}}
    assert resp.json() == {"region_setting": expected}
    assert doorbell.wait_quota()[1] == demo.project_id
    # The project's members may look.
    assert api.call("GET", where).json() == {"region_setting": expected}
    resp = admin_api.call("DELETE", where)
    assert resp.status_code == 200
    assert resp.json() == {"region_setting": {"region": "RegionTwo", "excluded": False, "pins": {}}}
    assert admin_api.call("GET", where).json()["region_setting"]["pins"] == {}


def test_a_put_replaces_the_whole_setting(admin_api: Api, demo: Persona) -> None:
    where = setting_path(demo.project_id, "RegionTwo")
    admin_api.call("PUT", where, json={"region_setting": {"excluded": True, "pins": {"cores": 4}}})
    resp = admin_api.call("PUT", where, json={"region_setting": {"pins": {"ram": 1024}}})
    assert resp.json() == {"region_setting": {"region": "RegionTwo", "excluded": False, "pins": {"ram": 1024}}}


def test_setting_changes_are_in_the_audit_history(admin_api: Api, demo: Persona) -> None:
    where = setting_path(demo.project_id, "RegionTwo")
    admin_api.call("PUT", where, json={"region_setting": {"excluded": True, "pins": {"cores": 4}}})
    admin_api.call("DELETE", where)
    entries = admin_api.call("GET", "/os-quota-sets/%s/audit" % demo.project_id).json()["audit"]
    # Newest first; an exclusion is recorded as resource "excluded", 1 (excluded) or 0.
    assert [(e["region"], e["resource"], e["old"], e["new"]) for e in entries] == [
        ("RegionTwo", "cores", 4, None),
        ("RegionTwo", "excluded", 1, 0),
        ("RegionTwo", "cores", None, 4),
        ("RegionTwo", "excluded", 0, 1),
    ]


def test_a_region_without_a_setting_shows_the_default(api: Api) -> None:
    resp = api.call("GET", setting_path(api.persona.project_id, "RegionOne"))
    assert resp.json() == {"region_setting": {"region": "RegionOne", "excluded": False, "pins": {}}}


def test_deleting_a_setting_that_is_not_there_is_404(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("DELETE", setting_path(demo.project_id, "RegionOne"))
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "region_setting_not_found"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_an_unknown_region_is_400_naming_the_regions(admin_api: Api, demo: Persona, method: str) -> None:
    resp = admin_api.call(
        method, setting_path(demo.project_id, "RegionNine"), json={"region_setting": {"excluded": True}}
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": 400,
        "title": "Bad Request",
        "type": "unknown_region",
        "message": "Unknown region RegionNine; the regions are: RegionOne, RegionThree, RegionTwo.",
    }


@pytest.mark.parametrize(
    ("setting", "type_", "words"),
    [
        ({"pins": {"key_pairs": 5}}, "invalid_body", "Only resources divided between the regions can be pinned"),
        ({"pins": {"cpus": 5}}, "unknown_quota_resource", "Invalid quota resource cpus"),
        ({"pins": {"cores": -1}}, "invalid_body", "less than the minimum of 0"),
        ({"excluded": "yes"}, "invalid_body", "excluded must be true or false"),
        ({}, "invalid_body", "region_setting required"),
        ({"excluded": True, "weight": 2}, "invalid_body", "Additional properties are not allowed"),
    ],
)
def test_a_bad_setting_is_400(admin_api: Api, demo: Persona, setting: object, type_: str, words: str) -> None:
    resp = admin_api.call("PUT", setting_path(demo.project_id, "RegionOne"), json={"region_setting": setting})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["type"] == type_
    assert words in resp.json()["error"]["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_member_cannot_change_a_setting(api: Api, method: str) -> None:
    resp = api.call(
        method, setting_path(api.persona.project_id, "RegionOne"), json={"region_setting": {"excluded": True}}
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["message"].startswith("Admin required")


def test_security_groups_can_be_pinned_now_that_they_are_divided(admin_api: Api, demo: Persona) -> None:
    pins = {"security_group": 4, "security_group_rule": 40}
    resp = admin_api.call("PUT", setting_path(demo.project_id, "RegionOne"), json={"region_setting": {"pins": pins}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["region_setting"]["pins"] == pins
