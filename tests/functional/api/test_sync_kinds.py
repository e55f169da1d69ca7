"""Every kind through POST /v1.0/{project_id}/os-sync: who may ask for it, and
how a source that is missing, ambiguous or hidden is answered; and the
admin's view of every project's jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import pytest

from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import Api, Persona, all_jobs

TARGETS = ["RegionTwo", "RegionThree"]


def entry(kind: str, resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"resource_type": kind, "resources": resources, "source": "RegionOne", "target": TARGETS, **extra}


@pytest.fixture
def sim_connection(sim_cloud: SimCloud, tmp_path: Path) -> Iterator[Callable[[str], openstack.connection.Connection]]:
    """``sim_connection("admin")`` / ``("member")``: RegionOne as the simulator's admin or demo."""
    path = tmp_path / "clouds.yaml"
    sim_cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)], load_envvars=False)
    made: list[openstack.connection.Connection] = []

    def connect(persona: str) -> openstack.connection.Connection:
        conn = openstack.connection.Connection(
            config=config.get_one(cloud=f"kingsync-sim-{persona}", region_name="RegionOne")
        )
        made.append(conn)
        return conn

    yield connect
    for conn in made:
        conn.close()


@pytest.fixture
def flavor(sim_connection: Callable[[str], openstack.connection.Connection]) -> Iterator[str]:
    name = "fl-" + uuid.uuid4().hex[:10]
    made = sim_connection("admin").compute.create_flavor(name=name, ram=512, vcpus=1, disk=1)
    yield name
    sim_connection("admin").compute.delete_flavor(made.id, ignore_missing=True)


@pytest.fixture
def group(sim_connection: Callable[[str], openstack.connection.Connection]) -> str:
    """A security group of demo's (project demo) in RegionOne."""
    name = "sg-" + uuid.uuid4().hex[:10]
    sim_connection("member").network.create_security_group(name=name, description="web tier")
    return name


# -- flavors: admins only (Kingbird's contract) ------------------------------------------------


def test_a_members_flavor_sync_is_403_and_leaves_no_job(api: Api, flavor: str, db_url: str) -> None:
    resp = api.create(entry("flavor", [flavor]))
    assert resp.status_code == 403
    assert "kingsync:sync:create:flavor" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


def test_an_admin_syncs_a_flavor_by_name_or_id(
    api_url: str, admin: Persona, flavor: str, db_url: str, sim_connection: Callable[[str], Any]
) -> None:
    flavor_id = sim_connection("admin").compute.find_flavor(flavor).id
    resp = Api(api_url, admin).create(entry("flavor", [flavor, flavor_id]))
    assert resp.status_code == 200, resp.text
    (job,) = all_jobs(db_url)
    assert {(i.resource_type, i.resource) for i in job.items} == {("flavor", flavor), ("flavor", flavor_id)}


def test_a_missing_flavor_is_404(api_url: str, admin: Persona, db_url: str) -> None:
    resp = Api(api_url, admin).create(entry("flavor", ["no-such-flavor"]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (404, "resource_not_found")
    assert "no-such-flavor" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


# -- security groups: the caller's project's own ----------------------------------------------


def test_a_member_syncs_a_security_group_by_name(api: Api, group: str, db_url: str) -> None:
    assert api.create(entry("security_group", [group])).status_code == 200
    (job,) = all_jobs(db_url)
    assert {(i.resource_type, i.resource) for i in job.items} == {("security_group", group)}


def test_a_missing_security_group_is_404(api: Api, db_url: str) -> None:
    resp = api.create(entry("security_group", ["no-such-group"]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (404, "resource_not_found")
    assert all_jobs(db_url) == []


def test_another_projects_group_by_id_is_404(api_url: str, demo2: Persona, group: str, sim_connection: Any) -> None:
    group_id = sim_connection("member").network.find_security_group(group).id
    resp = Api(api_url, demo2).create(entry("security_group", [group_id]))
    assert resp.status_code == 404
    assert group not in resp.text  # the other project's group is not described


def test_a_name_two_groups_share_is_409_naming_their_ids(
    api: Api, group: str, db_url: str, sim_connection: Callable[[str], Any]
) -> None:
    network = sim_connection("member").network
    second = network.create_security_group(name=group, description="the other one")
    resp = api.create(entry("security_group", [group]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (409, "ambiguous_resource")
    assert second.id in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


# -- unknown kinds --------------------------------------------------------------------------------


def test_an_unknown_kind_is_400_listing_the_kinds(api: Api, db_url: str) -> None:
    resp = api.create(entry("volume", ["x"]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (400, "unsupported_resource_type")
    message = resp.json()["error"]["message"]
    assert "Bad resource_type" in message and "flavor, image, keypair, security_group" in message
    assert all_jobs(db_url) == []


# -- an admin's view of every project's jobs ---------------------------------------------------------


def test_an_admin_lists_and_shows_every_projects_jobs(
    api: Api, api_url: str, admin: Persona, demo: Persona, keypair: str
) -> None:
    job_id = api.create(entry("keypair", [keypair])).json()["job_status"]["id"]
    boss = Api(api_url, admin)
    assert boss.request("GET", "/").json()["job_set"] == []  # Kingbird's list: the admin's own jobs
    everyone = boss.request("GET", "/", params={"all_projects": "true"}).json()["job_set"]
    assert [(j["id"], j["project_id"], j["user_id"]) for j in everyone] == [(job_id, demo.project_id, demo.user_id)]
    narrowed = boss.request("GET", "/", params={"all_projects": "1", "project_id": admin.project_id})
    assert narrowed.json()["job_set"] == []
    assert boss.request("GET", "/" + job_id).status_code == 404
    shown = boss.request("GET", "/" + job_id, params={"all_projects": "True"})
    assert shown.status_code == 200 and len(shown.json()["job_set"]) == 2


def test_a_member_asking_for_every_project_is_403(api: Api) -> None:
    resp = api.request("GET", "/", params={"all_projects": "true"})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("params", "words"),
    [({"all_projects": "maybe"}, "all_projects must be true or false"), ({"project_id": "x"}, "add all_projects")],
)
def test_bad_list_queries_are_400(api_url: str, admin: Persona, params: dict[str, str], words: str) -> None:
    resp = Api(api_url, admin).request("GET", "/", params=params)
    assert resp.status_code == 400
    assert words in resp.json()["error"]["message"]
