"""Images through POST /v1.0/{project_id}/os-sync: a project syncs its own
images, by id or by name; another project's are refused or not seen; an
image that is not active is refused; an admin may sync any image by id."""

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
Make = Callable[..., dict[str, Any]]


def entry(resources: list[str]) -> dict[str, Any]:
    return {"resource_type": "image", "resources": resources, "source": "RegionOne", "target": TARGETS}


@pytest.fixture
def make_image(sim_cloud: SimCloud, tmp_path: Path) -> Iterator[Make]:
    """``make_image("member" | "admin", data=b"..." or None, **fields)``: an image of demo's or the
    admin's in RegionOne."""
    path = tmp_path / "clouds.yaml"
    sim_cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)], load_envvars=False)
    made: list[openstack.connection.Connection] = []

    def make(persona: str, data: bytes | None = b"image data", **fields: Any) -> dict[str, Any]:
        conn = openstack.connection.Connection(
            config=config.get_one(cloud=f"kingsync-sim-{persona}", region_name="RegionOne")
        )
        made.append(conn)
        body = {"name": "img-" + uuid.uuid4().hex[:8], "disk_format": "raw", "container_format": "bare", **fields}
        image: dict[str, Any] = conn.image.post("/images", json=body).json()
        if data is not None:
            conn.image.put(
                "/images/%s/file" % image["id"], data=data, headers={"Content-Type": "application/octet-stream"}
            )
        return image

    yield make
    for conn in made:
        conn.close()


def test_a_member_syncs_its_projects_image_by_id_or_by_name(api: Api, make_image: Make, db_url: str) -> None:
    image = make_image("member")
    resp = api.create(entry([image["id"], image["name"]]))
    assert resp.status_code == 200, resp.text
    (job,) = all_jobs(db_url)
    assert {(i.resource_type, i.resource) for i in job.items} == {("image", image["id"]), ("image", image["name"])}
    shown = api.request("GET", "/" + job.id).json()["job_set"]
    assert all(item["progress"] is None for item in shown)  # nothing moved yet


def test_another_projects_public_image_is_403_naming_the_rule(api: Api, make_image: Make, db_url: str) -> None:
    image = make_image("admin", visibility="public")
    resp = api.create(entry([image["id"]]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (403, "resource_not_owned")
    assert "syncs only its own images" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_another_projects_private_image_is_404_and_not_described(
    api_url: str, demo2: Persona, make_image: Make, db_url: str, visibility: str
) -> None:
    image = make_image("member", visibility=visibility)
    resp = Api(api_url, demo2).create(entry([image["id"]]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (404, "resource_not_found")
    assert image["name"] not in resp.text and image["owner"] not in resp.text
    assert all_jobs(db_url) == []


def test_an_admin_syncs_another_projects_image_by_id(
    api_url: str, admin: Persona, make_image: Make, db_url: str
) -> None:
    image = make_image("member")
    assert Api(api_url, admin).create(entry([image["id"]])).status_code == 200
    assert len(all_jobs(db_url)) == 1


def test_an_image_without_data_is_409_not_ready(api: Api, make_image: Make, db_url: str) -> None:
    image = make_image("member", data=None)
    resp = api.create(entry([image["id"]]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (409, "resource_not_ready")
    assert "is queued: only an active image can be synced" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


def test_a_name_two_images_share_is_409_and_a_missing_one_404(api: Api, make_image: Make, db_url: str) -> None:
    name = "twin-" + uuid.uuid4().hex[:6]
    make_image("member", name=name)
    make_image("member", name=name)
    resp = api.create(entry([name]))
    assert (resp.status_code, resp.json()["error"]["type"]) == (409, "ambiguous_resource")
    missing = api.create(entry(["no-such-image"]))
    assert (missing.status_code, missing.json()["error"]["type"]) == (404, "resource_not_found")
    assert all_jobs(db_url) == []
