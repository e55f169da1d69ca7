"""The calls that read the regions now: ``detail`` (Kingbird's, usage summed
over regions) and ``dry-run`` (kingsync's: the regional limits a change
would produce, and who would refuse them). Both write nothing."""

from __future__ import annotations

import uuid

import pytest

from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import Api, Persona


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


@pytest.fixture
def control(sim_cloud: SimCloud) -> SimControl:
    return SimControl(sim_cloud.auth_url)


@pytest.fixture
def project(control: SimControl) -> str:
    """A Keystone project of its own (nova checks it exists): usage set in the simulator stays for the session."""
    (project_id,) = control.create_projects(1, prefix="quota-api-" + uuid.uuid4().hex[:8])
    return project_id


def test_detail_shows_limits_and_usage_summed_over_regions(admin_api: Api, control: SimControl, project: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + project, json={"quota_set": {"cores": 40}})
    control.set_usage("RegionOne", project, compute={"cores": 4, "instances": 2})
    control.set_usage("RegionTwo", project, compute={"cores": 6, "instances": 1}, volume={"gigabytes": 30})
    resp = admin_api.call("GET", "/os-quota-sets/%s/detail" % project)
    assert resp.status_code == 200, resp.text
    detail = resp.json()["quota_set"]
    assert (detail["limits"]["cores"], detail["usage"]["cores"]) == (40, 10)
    assert detail["usage"]["instances"] == 3
    assert detail["usage"]["gigabytes"] == 30
    # python-kingbirdclient looks every usage key up in limits.
    assert set(detail["usage"]) <= set(detail["limits"])


def test_detail_answers_with_a_region_down(admin_api: Api, control: SimControl, project: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + project, json={"quota_set": {"cores": 40}})
    control.set_usage("RegionOne", project, compute={"cores": 4})
    control.set_faults("RegionThree", down=True)
    try:
        resp = admin_api.call("GET", "/os-quota-sets/%s/detail" % project)
    finally:
        control.clear_faults("RegionThree")
    assert resp.status_code == 200, resp.text
    assert resp.json()["quota_set"]["usage"]["cores"] == 4


def test_a_member_sees_the_detail_of_their_own_project(api: Api) -> None:
    resp = api.call("GET", "/os-quota-sets/%s/detail" % api.persona.project_id)
    assert resp.status_code == 200, resp.text


def test_dry_run_shows_the_plan_and_writes_nothing(admin_api: Api, control: SimControl, project: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + project, json={"quota_set": {"cores": 40}})
    control.set_usage("RegionOne", project, compute={"cores": 4})
    control.set_usage("RegionTwo", project, compute={"cores": 6})
    resp = admin_api.call("POST", "/os-quota-sets/%s/dry-run" % project, json={"quota_set": {"cores": 16}})
    assert resp.status_code == 200, resp.text
    plan = resp.json()["dry_run"]
    assert plan["limits"]["cores"] == 16
    cores = {region: plan["regions"][region]["cores"] for region in ("RegionOne", "RegionTwo", "RegionThree")}
    assert [cores[r]["usage"] for r in sorted(cores)] == [4, 0, 6]
    assert sum(view["planned"] for view in cores.values()) <= 16
    assert all(view["planned"] >= view["usage"] for view in cores.values())
    assert plan["unreachable"] == []
    # Nothing written: the limit and the audit history are as they were.
    assert admin_api.call("GET", "/os-quota-sets/" + project).json()["quota_set"]["cores"] == 40
    assert len(admin_api.call("GET", "/os-quota-sets/%s/audit" % project).json()["audit"]) == 1


def test_dry_run_names_the_regions_that_would_refuse(admin_api: Api, control: SimControl, project: str) -> None:
    control.set_usage("RegionOne", project, compute={"cores": 9})
    resp = admin_api.call("POST", "/os-quota-sets/%s/dry-run" % project, json={"quota_set": {"cores": 12}})
    assert resp.status_code == 200, resp.text
    (refusal,) = [r for r in resp.json()["dry_run"]["refusals"] if r["resource"] == "cores"]
    assert (refusal["region"], refusal["minimum"]) == ("RegionOne", 9)
    assert "usage 9" in refusal["reason"]


def test_dry_run_lists_unreachable_regions(admin_api: Api, control: SimControl, project: str) -> None:
    control.set_faults("RegionTwo", down=True)
    try:
        resp = admin_api.call("POST", "/os-quota-sets/%s/dry-run" % project, json={"quota_set": {"cores": 12}})
    finally:
        control.clear_faults("RegionTwo")
    assert resp.status_code == 200, resp.text
    assert any(line.startswith("RegionTwo") for line in resp.json()["dry_run"]["unreachable"])


def test_dry_run_checks_the_body_as_update_does(admin_api: Api, project: str) -> None:
    resp = admin_api.call("POST", "/os-quota-sets/%s/dry-run" % project, json={"quota_set": {"cpus": 1}})
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "unknown_quota_resource"


def test_a_member_cannot_dry_run(api: Api) -> None:
    resp = api.call("POST", "/os-quota-sets/%s/dry-run" % api.persona.project_id, json={"quota_set": {"cores": 1}})
    assert resp.status_code == 403
