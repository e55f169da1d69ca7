"""Glance's glance-download import, as kingsync's image sync drives it: the
target glance pulls an image from another region's glance, under the same
id, while the copy is hidden; its task says how it went.

Both clouds enable glance-download in every region but RegionOne. The
source is always in RegionOne, the target in RegionTwo.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack.connection
import pytest
import requests

from tests.conformance.conftest import DEVCLOUD_HOME, TargetCloud

MiB = 1024 * 1024
OCTETS = {"Content-Type": "application/octet-stream"}
PLAIN = {"Accept": "text/plain"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
INTERNAL_ERROR = "Task failed due to Internal Error"
TASK_KEYS = [
    *("id", "type", "status", "owner", "expires_at", "created_at", "updated_at", "deleted_at", "deleted"),
    *("image_id", "request_id", "user_id", "input", "result", "message"),
]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000$")

Conn = openstack.connection.Connection
Make = Callable[..., dict[str, Any]]


@pytest.fixture
def make(cloud: TargetCloud) -> Iterator[Make]:
    """Create an image as a persona in a region (raw/bare unless told);
    every one is deleted afterwards, protected or not."""
    made: list[tuple[str, str]] = []

    def create(region: str, persona: str = "member", data: bytes | None = None, **body: Any) -> dict[str, Any]:
        body = {"disk_format": "raw", "container_format": "bare", **body}
        conn = cloud.connect(persona, region)
        image: dict[str, Any] = conn.image.post("/images", json=body).json()
        made.append((region, image["id"]))
        if data is not None:
            assert conn.image.put(f"/images/{image['id']}/file", data=data, headers=OCTETS).status_code == 204
            image = conn.image.get(f"/images/{image['id']}").json()
        return image

    yield create
    for region, image_id in made:
        admin = cloud.admin(region)
        unprotect = [{"op": "replace", "path": "/protected", "value": False}]
        admin.image.patch(f"/images/{image_id}", json=unprotect, headers=PATCH, raise_exc=False)
        admin.image.delete(f"/images/{image_id}", raise_exc=False)


def _method(source_id: str, **fields: str) -> dict[str, Any]:
    return {"name": "glance-download", "glance_image_id": source_id, "glance_region": "RegionOne", **fields}


def _import(conn: Conn, image_id: str, body: dict[str, Any]) -> requests.Response:
    resp: requests.Response = conn.image.post(f"/images/{image_id}/import", json=body, headers=PLAIN, raise_exc=False)
    return resp


def _image(conn: Conn, image_id: str) -> dict[str, Any]:
    image: dict[str, Any] = conn.image.get(f"/images/{image_id}").json()
    return image


def _tasks(conn: Conn, image_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = conn.image.get(f"/images/{image_id}/tasks").json()["tasks"]
    return found


def _settled(conn: Conn, image_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The image and its (only) task once the task has ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = _tasks(conn, image_id)
        if tasks and tasks[-1]["status"] in ("success", "failure"):
            assert len(tasks) == 1
            return _image(conn, image_id), tasks[0]
        time.sleep(0.05)
    raise AssertionError(f"the import task of {image_id} did not end within 60 s")


def _data_file(cloud: TargetCloud, region: str, image_id: str) -> Path:
    """Where the region's file store keeps the image's data."""
    if cloud.sim is not None:
        return Path(cloud.sim.data_dir) / "image" / region / image_id
    return DEVCLOUD_HOME / "data" / region / "glance" / "images" / image_id


# -- discovery ------------------------------------------------------------------------------------------


def test_glance_download_is_offered_in_every_region_but_the_first(cloud: TargetCloud) -> None:
    base = ["glance-direct", "web-download"]
    for region in cloud.regions:
        expected = base if region == "RegionOne" else [*base, "glance-download"]
        listed = cloud.member(region).image.get("/info/import").json()["import-methods"]
        assert listed == {"description": "Import methods available.", "type": "array", "value": expected}
        created = cloud.member(region).image.post("/images", json={"name": "probe"})
        cloud.member(region).image.delete(f"/images/{created.json()['id']}")
        assert created.headers["OpenStack-image-import-methods"] == ",".join(expected)


# -- the copy -------------------------------------------------------------------------------------------


def test_glance_download_copies_data_formats_and_whitelisted_properties(cloud: TargetCloud, make: Make) -> None:
    data = os.urandom(3 * MiB + 4321)
    props = {"os_distro": "cirros", "hw_disk_bus": "scsi", "trait:CUSTOM_KS": "required", "os_type": "linux"}
    source = make("RegionOne", data=data, min_disk=1, kingsync_origin="RegionOne", tags=["t1"], **props)
    target = make("RegionTwo", id=source["id"], name="copy", disk_format="qcow2", os_hidden=True, hw_keep="own")
    assert target["id"] == source["id"] and target["os_hidden"] is True and target["status"] == "queued"
    conn = cloud.member("RegionTwo")
    resp = _import(conn, target["id"], {"method": _method(source["id"], glance_service_interface="public")})
    assert resp.status_code == 202 and resp.content == b""
    assert resp.headers["Content-Type"] == "text/html; charset=UTF-8"
    image, task = _settled(conn, target["id"])
    assert image["status"] == "active" and image["id"] == source["id"]
    for key in ("size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "disk_format", "container_format"):
        assert image[key] == source[key], key
    assert image["size"] == len(data) and image["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert {k: image[k] for k in props} == props
    assert "kingsync_origin" not in image and image["min_disk"] == 0 and image["tags"] == []
    assert image["name"] == "copy" and image["os_hidden"] is True and image["hw_keep"] == "own"
    assert image["os_glance_importing_to_stores"] == "" and image["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in image
    assert conn.image.get(f"/images/{image['id']}/file").content == data
    assert list(task) == TASK_KEYS
    assert task["type"] == "api_image_import" and task["status"] == "success"
    assert task["result"] == {"image_id": image["id"]} and task["message"] == "Copied 3 MiB"
    assert task["image_id"] == image["id"] and task["owner"] == image["owner"]
    assert task["request_id"] == resp.headers["x-openstack-request-id"]
    assert task["user_id"] == cloud.user_id("demo") and not task["deleted"] and task["deleted_at"] is None
    assert all(STAMP.match(task[k]) for k in ("created_at", "updated_at", "expires_at"))
    method = _method(source["id"], glance_service_interface="public")
    assert task["input"] == {"image_id": image["id"], "import_req": {"method": method}, "backend": ["fs"]}


def test_the_copy_is_unhidden_and_protected_by_patch(cloud: TargetCloud, make: Make) -> None:
    source = make("RegionOne", data=b"d" * 5000)
    target = make("RegionTwo", id=source["id"], os_hidden=True)
    conn = cloud.member("RegionTwo")
    # Region names match case-insensitively; the interface defaults to public.
    resp = _import(conn, target["id"], {"method": {**_method(source["id"]), "glance_region": "regionone"}})
    assert resp.status_code == 202
    image, task = _settled(conn, target["id"])
    assert image["status"] == "active" and task["message"] == "Copied 0 MiB"
    assert task["input"]["import_req"]["method"]["glance_service_interface"] == "public"
    assert target["id"] not in [i["id"] for i in conn.image.get("/images").json()["images"]]
    assert target["id"] in [i["id"] for i in conn.image.get("/images?os_hidden=true").json()["images"]]
    ops = [
        {"op": "replace", "path": "/os_hidden", "value": False},
        {"op": "replace", "path": "/protected", "value": True},
    ]
    patched = conn.image.patch(f"/images/{target['id']}", json=ops, headers=PATCH).json()
    assert patched["os_hidden"] is False and patched["protected"] is True
    assert target["id"] in [i["id"] for i in conn.image.get("/images").json()["images"]]


# -- failures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["source queued", "source missing", "source private", "region unknown", "interface unknown"]
)
def test_a_failure_before_any_data_puts_the_image_back_as_it_was(cloud: TargetCloud, make: Make, case: str) -> None:
    active = make("RegionOne", data=b"s" * 1000)
    method = {
        "source queued": _method(make("RegionOne")["id"]),
        "source missing": _method(str(uuid.uuid4())),
        "source private": _method(make("RegionOne", persona="member2", data=b"p" * 10, visibility="private")["id"]),
        "region unknown": _method(active["id"], glance_region="RegionNine"),
        "interface unknown": _method(active["id"], glance_service_interface="bogus"),
    }[case]
    target = make("RegionTwo", disk_format="qcow2", hw_own="kept")
    conn = cloud.member("RegionTwo")
    assert _import(conn, target["id"], {"method": method}).status_code == 202
    image, task = _settled(conn, target["id"])
    assert task["status"] == "failure" and task["message"] == INTERNAL_ERROR
    assert task["result"] is None and task["expires_at"] is not None
    assert image["status"] == "queued" and image["disk_format"] == "qcow2" and image["hw_own"] == "kept"
    assert image["size"] is None and image["checksum"] is None and image["os_hash_value"] is None
    # glance leaves the store in the importing list: polling the image alone never ends.
    assert image["os_glance_importing_to_stores"] == "fs" and image["os_glance_failed_import"] == ""
    assert "os_glance_import_task" not in image
    # The lock is gone, so the import can be tried again.
    assert _import(conn, target["id"], {"method": _method(active["id"])}).status_code == 202
    deadline = time.monotonic() + 60
    while _image(conn, target["id"])["status"] != "active":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_failure_while_copying_data_keeps_the_lock_for_an_hour(cloud: TargetCloud, make: Make) -> None:
    source = make("RegionOne", data=b"q" * 5000, os_distro="copied")
    _data_file(cloud, "RegionOne", source["id"]).unlink()  # the source's record stays active
    assert cloud.member("RegionOne").image.get(f"/images/{source['id']}/file").status_code == 204
    target = make("RegionTwo", disk_format="qcow2", hw_own="kept")
    conn = cloud.member("RegionTwo")
    assert _import(conn, target["id"], {"method": _method(source["id"])}).status_code == 202
    image, task = _settled(conn, target["id"])
    assert task["status"] == "failure" and task["message"] == INTERNAL_ERROR
    # glance's revert stops halfway: the source's formats and properties stay,
    # the store is listed as failed, and the failed task keeps the lock.
    assert image["status"] == "queued" and image["size"] is None
    assert image["disk_format"] == "raw" and image["os_distro"] == "copied" and image["hw_own"] == "kept"
    assert image["os_glance_importing_to_stores"] == "" and image["os_glance_failed_import"] == "fs"
    assert image["os_glance_import_task"] == task["id"]
    again = _import(conn, target["id"], {"method": _method(make("RegionOne", data=b"x")["id"])})
    assert again.status_code == 409 and "Image has active task" in again.text
    assert conn.image.delete(f"/images/{target['id']}").status_code == 204


# -- refusals -------------------------------------------------------------------------------------------


def test_a_region_without_glance_download_refuses_it(cloud: TargetCloud, make: Make) -> None:
    source = make("RegionTwo", data=b"r2")
    target = make("RegionOne")
    method = {**_method(source["id"]), "glance_region": "RegionTwo"}
    resp = _import(cloud.member("RegionOne"), target["id"], {"method": method})
    assert resp.status_code == 400 and "Unknown import method name 'glance-download'." in resp.text


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({}, 400, "Import request requires a 'method' field."),
        ({"method": {}}, 400, "Import request requires a 'name' field."),
        ({"method": {"name": "copy-image"}}, 400, "Unknown import method name 'copy-image'."),
        ({"method": {"name": "glance-download", "glance_image_id": "SOURCE"}}, 400, "'glance_region' needs to be set"),
        ({"method": {"name": "glance-download", "glance_region": "RegionOne"}}, 400, "'glance_image_id' needs to be"),
        ({"method": _method("not-a-uuid")}, 400, "Remote image id does not look like a UUID: not-a-uuid"),
        ({"method": _method("SOURCE"), "all_stores": 1}, 400, "'all_stores' must be boolean value only"),
        ({"method": _method("SOURCE"), "stores": ["ceph"]}, 409, "Store for identifier ceph not found"),
    ],
)
def test_import_validation(cloud: TargetCloud, make: Make, body: dict[str, Any], status: int, text: str) -> None:
    source = make("RegionOne", data=b"v")
    if "glance_image_id" in body.get("method", {}) and body["method"]["glance_image_id"] == "SOURCE":
        body = {**body, "method": {**body["method"], "glance_image_id": source["id"]}}
    target = make("RegionTwo")
    resp = _import(cloud.member("RegionTwo"), target["id"], body)
    assert resp.status_code == status and text in resp.text, resp.text
    assert _image(cloud.member("RegionTwo"), target["id"])["status"] == "queued"
    assert _tasks(cloud.member("RegionTwo"), target["id"]) == []


@pytest.mark.parametrize(
    ("target", "status", "text"),
    [
        ({"data": b"already"}, 409, "Image with status active cannot be target for import"),
        ({"container_format": None}, 409, "'container_format' needs to be set before import"),
        ({"disk_format": None}, 409, "'disk_format' needs to be set before import"),
        ({"persona": "member2", "visibility": "community"}, 403, "not authorized to complete modify_image action"),
        ({"persona": "member2", "visibility": "private"}, 404, "No image found with ID"),
    ],
)
def test_the_target_must_be_a_queued_image_of_the_callers_project(
    cloud: TargetCloud, make: Make, target: dict[str, Any], status: int, text: str
) -> None:
    source = make("RegionOne", data=b"t")
    image = make("RegionTwo", **target)
    resp = _import(cloud.member("RegionTwo"), image["id"], {"method": _method(source["id"])})
    assert resp.status_code == status and text in resp.text, resp.text


def test_an_unknown_target_is_404(cloud: TargetCloud, make: Make) -> None:
    source = make("RegionOne", data=b"u")
    missing = str(uuid.uuid4())
    resp = _import(cloud.member("RegionTwo"), missing, {"method": _method(source["id"])})
    assert resp.status_code == 404 and f"No image found with ID {missing}" in resp.text


# -- tasks ----------------------------------------------------------------------------------------------


def test_tasks_belong_to_the_importing_project(cloud: TargetCloud, make: Make) -> None:
    source = make("RegionOne", persona="admin", data=b"a" * 100, visibility="public")
    target = make("RegionTwo", visibility="private")
    first = _import(cloud.member("RegionTwo"), target["id"], {"method": _method(source["id"])})
    listed = _tasks(cloud.member("RegionTwo"), target["id"])  # at once: the task exists from the 202 on
    assert [t["request_id"] for t in listed] == [first.headers["x-openstack-request-id"]]
    assert listed[0]["status"] in ("pending", "processing", "success")
    _settled(cloud.member("RegionTwo"), target["id"])
    other = cloud.member2("RegionTwo").image.get(f"/images/{target['id']}/tasks", raise_exc=False, headers=PLAIN)
    assert other.status_code == 404 and "The resource could not be found." in other.text
    missing = cloud.member("RegionTwo").image.get(f"/images/{uuid.uuid4()}/tasks", raise_exc=False)
    assert missing.status_code == 404
    # An admin's import into the member's image is the admin project's task.
    second = make("RegionTwo")
    assert _import(cloud.admin("RegionTwo"), second["id"], {"method": _method(source["id"])}).status_code == 202
    _settled(cloud.admin("RegionTwo"), second["id"])
    assert _image(cloud.member("RegionTwo"), second["id"])["status"] == "active"
    assert _tasks(cloud.member("RegionTwo"), second["id"]) == []


def test_import_and_tasks_answer_other_methods_as_glance_does(cloud: TargetCloud, make: Make) -> None:
    image = make("RegionTwo")
    conn = cloud.member("RegionTwo")
    resp = conn.image.get(f"/images/{image['id']}/import", raise_exc=False)
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    assert conn.image.put(f"/images/{image['id']}/tasks", raise_exc=False).status_code == 404


# -- the record and data calls the sync makes around an import -------------------------------------------


def test_a_chosen_id_stays_taken_after_delete(cloud: TargetCloud, make: Make) -> None:
    conn = cloud.member("RegionTwo")
    image = make("RegionTwo", id=str(uuid.uuid4()), os_hidden=True)
    assert conn.image.delete(f"/images/{image['id']}").status_code == 204
    resp = conn.image.post("/images", json={"id": image["id"], "name": "again"}, headers=PLAIN, raise_exc=False)
    assert resp.status_code == 409 and f"Image ID {image['id']} already exists!" in resp.text


@pytest.mark.parametrize(
    ("declared", "size", "text"),
    [
        (None, 300_000, None),  # the Content-Length is the size
        (300_000, 300_000, None),
        (5, 10, "Size exceeds: expected 5 bytes, got 10 bytes"),
        (100_000, 300_000, "Size exceeds: expected 100000 bytes, got 131072 bytes"),
        (300_000, 200_000, "Size mismatch: expected 300000 bytes, got 200000 bytes"),
        (-1, 10, "Size exceeds: expected -1 bytes, got 10 bytes"),
    ],
)
def test_upload_is_held_to_the_declared_size(
    cloud: TargetCloud, make: Make, declared: int | None, size: int, text: str | None
) -> None:
    conn = cloud.member("RegionTwo")
    image = make("RegionTwo")
    headers = {**OCTETS, **PLAIN}
    if declared is not None:
        headers["X-OpenStack-Image-Size"] = str(declared)
    resp = conn.image.put(f"/images/{image['id']}/file", data=os.urandom(size), headers=headers, raise_exc=False)
    after = _image(conn, image["id"])
    if text is None:
        assert resp.status_code == 204 and after["status"] == "active" and after["size"] == size
    else:
        assert resp.status_code == 400 and text in resp.text, resp.text
        assert after["status"] == "queued" and after["size"] is None
