"""Glance v2: what kingsync's image sync asks of it, and the rules it meets
on the way (ids, visibility, status, validation, the shape of errors)."""

from __future__ import annotations

import hashlib
import html
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack.connection
import openstack.exceptions
import pytest
import requests

from tests.conformance.conftest import TargetCloud

MiB = 1024 * 1024
CHUNK = 64 * 1024
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}

Conn = openstack.connection.Connection
Create = Callable[..., dict[str, Any]]


def _chunks(seed: bytes, size: int) -> Iterator[bytes]:
    """``size`` pseudo-random bytes, made chunk by chunk (never held whole)."""
    counter = 0
    left = size
    while left > 0:
        block = hashlib.shake_256(seed + counter.to_bytes(8, "big")).digest(min(CHUNK, left))
        counter += 1
        left -= len(block)
        yield block


def _digests(chunks: Iterator[bytes]) -> dict[str, Any]:
    md5, sha256, sha512, size = hashlib.md5(), hashlib.sha256(), hashlib.sha512(), 0
    for chunk in chunks:
        md5.update(chunk)
        sha256.update(chunk)
        sha512.update(chunk)
        size += len(chunk)
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest(), "sha512": sha512.hexdigest(), "size": size}


@pytest.fixture
def create(cloud: TargetCloud) -> Iterator[Create]:
    """Create images (POST /v2/images) as a persona in a region; every one
    is deleted afterwards, protected or not."""
    made: list[tuple[str, str]] = []

    def make(persona: str = "member", region: str | None = None, **body: Any) -> dict[str, Any]:
        conn = cloud.connect(persona, region)
        resp = conn.image.post("/images", json=body)
        image: dict[str, Any] = resp.json()
        made.append((region or cloud.regions[0], image["id"]))
        return image

    yield make
    for region, image_id in made:
        admin = cloud.admin(region)
        admin.image.patch(
            f"/images/{image_id}",
            json=[{"op": "replace", "path": "/protected", "value": False}],
            headers=PATCH,
            raise_exc=False,
        )
        admin.image.delete(f"/images/{image_id}", raise_exc=False)


def _upload(conn: Conn, image_id: str, data: Any) -> requests.Response:
    resp: requests.Response = conn.image.put(f"/images/{image_id}/file", data=data, headers=OCTETS, raise_exc=False)
    return resp


def _get(conn: Conn, image_id: str) -> dict[str, Any]:
    image: dict[str, Any] = conn.image.get(f"/images/{image_id}").json()
    return image


# -- data --------------------------------------------------------------------------------------------


def test_streamed_upload_and_download_keep_every_hash(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    assert image["status"] == "queued" and image["size"] is None and image["checksum"] is None
    size = 3 * MiB + 12345
    expected = _digests(_chunks(b"up", size))
    resp = _upload(conn, image["id"], _chunks(b"up", size))  # a generator: chunked transfer-encoding
    assert resp.status_code == 204
    image = _get(conn, image["id"])
    assert image["status"] == "active"
    assert image["size"] == size and image["virtual_size"] == size
    assert image["checksum"] == expected["md5"]
    assert image["os_hash_algo"] == "sha512" and image["os_hash_value"] == expected["sha512"]
    assert image["stores"] == "fs"
    download = conn.image.download_image(image["id"], stream=True)
    try:
        assert download.headers["Content-MD5"] == expected["md5"]
        assert int(download.headers["Content-Length"]) == size
        assert _digests(download.iter_content(CHUNK)) == expected
    finally:
        download.close()


def test_upload_with_content_length(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    data = os.urandom(100_000)
    assert _upload(conn, image["id"], data).status_code == 204
    assert _get(conn, image["id"])["checksum"] == hashlib.md5(data).hexdigest()
    assert conn.image.get(f"/images/{image['id']}/file").content == data


def test_sdk_create_image_with_data_uploads_by_put(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    data = os.urandom(300_000)
    image = conn.image.create_image(
        unique_name,
        data=data,
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
        validate_checksum=False,
        tags=["sdk"],
        kingsync_origin="RegionOne",
    )
    try:
        fetched = conn.image.get_image(image.id)
        assert fetched.status == "active"
        assert fetched.checksum == hashlib.md5(data).hexdigest()
        assert fetched.hash_value == hashlib.sha512(data).hexdigest()
        assert fetched.tags == ["sdk"]
        assert fetched.properties["kingsync_origin"] == "RegionOne"
        assert fetched.properties["owner_specified.openstack.object"] == f"images/{unique_name}"
        assert conn.image.download_image(fetched).content == data
    finally:
        conn.image.delete_image(image.id)


def test_image_without_data_downloads_as_204(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    image = create(name=unique_name)
    resp = cloud.member().image.get(f"/images/{image['id']}/file")
    assert resp.status_code == 204 and resp.content == b""


def test_upload_to_an_active_image_is_409(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    assert _upload(conn, image["id"], b"first").status_code == 204
    resp = _upload(conn, image["id"], b"second")
    assert resp.status_code == 409
    assert "Image status transition from active to saving is not allowed" in resp.text
    assert _get(conn, image["id"])["checksum"] == hashlib.md5(b"first").hexdigest()


def test_upload_needs_both_formats(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw")
    resp = _upload(conn, image["id"], b"data")
    assert resp.status_code == 400
    assert "Property container_format must be set prior to saving data." in resp.text
    assert _get(conn, image["id"])["status"] == "queued"


def test_data_that_is_not_the_disk_format_is_415_and_the_image_stays_queued(
    cloud: TargetCloud, create: Create, unique_name: str
) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="qcow2", container_format="bare")
    resp = _upload(conn, image["id"], os.urandom(5000))
    assert resp.status_code == 415
    assert "Image disk_format qcow2 does not match stream data raw" in resp.text
    after = _get(conn, image["id"])
    assert after["status"] == "queued" and after["size"] is None


def test_upload_needs_octet_stream(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    resp = conn.image.put(
        f"/images/{image['id']}/file", data=b"x", headers={"Content-Type": "application/json"}, raise_exc=False
    )
    assert resp.status_code == 415
    assert "Invalid content type application/json" in resp.text


def test_ranged_download(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    data = os.urandom(4000)
    _upload(conn, image["id"], data)
    resp = conn.image.get(f"/images/{image['id']}/file", headers={"Range": "bytes=10-19"})
    assert resp.status_code == 206
    assert resp.content == data[10:20]
    assert resp.headers["Content-Range"] == "bytes 10-19/4000"


def test_streamed_copy_between_regions_keeps_the_hashes(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    source_region, target_region = cloud.regions[0], cloud.regions[1]
    source = cloud.member(source_region)
    target = cloud.member(target_region)
    size = 5 * MiB + 7
    original = create(
        name=unique_name, region=source_region, disk_format="raw", container_format="bare", distro="cirros"
    )
    _upload(source, original["id"], _chunks(b"copy", size))
    original = _get(source, original["id"])
    copy = create(
        name=unique_name,
        region=target_region,
        id=original["id"],
        disk_format="raw",
        container_format="bare",
        distro="cirros",
    )
    download = source.image.download_image(original["id"], stream=True)
    try:
        assert _upload(target, copy["id"], download.iter_content(CHUNK)).status_code == 204
    finally:
        download.close()
    copied = _get(target, original["id"])
    for key in ("status", "size", "checksum", "os_hash_algo", "os_hash_value", "distro", "disk_format"):
        assert copied[key] == original[key], key


# -- records -----------------------------------------------------------------------------------------


def test_create_shows_every_key_glance_shows(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    resp = cloud.member().image.post("/images", json={"name": unique_name})
    image = resp.json()
    cloud.member().image.delete(f"/images/{image['id']}")
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith(f"/v2/images/{image['id']}")
    assert resp.headers["OpenStack-image-import-methods"] == "glance-direct,web-download"
    assert set(image) == {
        "name",
        "disk_format",
        "container_format",
        "visibility",
        "size",
        "virtual_size",
        "status",
        "checksum",
        "protected",
        "min_ram",
        "min_disk",
        "owner",
        "os_hidden",
        "os_hash_algo",
        "os_hash_value",
        "id",
        "created_at",
        "updated_at",
        "tags",
        "self",
        "file",
        "schema",
    }
    assert image["visibility"] == "shared"  # glance's default
    assert image["owner"] == cloud.project_id("demo")
    assert image["self"] == f"/v2/images/{image['id']}" and image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"


def test_properties_and_tags_are_kept(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    image = create(
        name=unique_name,
        disk_format="qcow2",
        container_format="bare",
        min_ram=512,
        min_disk=2,
        tags=["alpha", "beta", "alpha"],
        hw_disk_bus="scsi",
        os_distro="cirros",
    )
    fetched = _get(cloud.member(), image["id"])
    assert fetched["min_ram"] == 512 and fetched["min_disk"] == 2
    assert sorted(fetched["tags"]) == ["alpha", "beta"]
    assert fetched["hw_disk_bus"] == "scsi" and fetched["os_distro"] == "cirros"


def test_id_given_on_create_is_kept_and_a_second_use_is_409(
    cloud: TargetCloud, create: Create, unique_name: str
) -> None:
    image_id = str(uuid.uuid4())
    assert create(name=unique_name, id=image_id)["id"] == image_id
    resp = cloud.member().image.post("/images", json={"name": unique_name, "id": image_id}, raise_exc=False)
    assert resp.status_code == 409
    assert f"Image ID {image_id} already exists!" in resp.text


def test_id_of_a_deleted_image_stays_taken(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    image_id = str(uuid.uuid4())
    conn.image.post("/images", json={"name": unique_name, "id": image_id})
    conn.image.delete(f"/images/{image_id}")
    assert conn.image.get(f"/images/{image_id}", raise_exc=False).status_code == 404
    assert conn.image.post("/images", json={"id": image_id}, raise_exc=False).status_code == 409


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"disk_format": "bogus"}, 400, "Provided object does not match schema 'image': 'bogus' is not one of"),
        ({"visibility": "everyone"}, 400, "'everyone' is not one of ['community', 'public', 'private', 'shared']"),
        ({"hw_disk_bus": 5}, 400, "5 is not of type 'string'"),
        ({"min_ram": -1}, 400, "Invalid value '-1' for parameter 'min_ram': Cannot be a negative value"),
        ({"id": "not-a-uuid"}, 400, "does not match"),
        ({"status": "active"}, 403, "Attribute 'status' is read-only."),
        ({"checksum": "0" * 32}, 403, "Attribute 'checksum' is read-only."),
        ({"locations": []}, 403, "Attribute 'locations' is reserved."),
        ({"os_glance_import_task": "x"}, 403, "Attribute 'os_glance_import_task' is reserved."),
    ],
)
def test_create_validation(cloud: TargetCloud, body: dict[str, Any], status: int, text: str) -> None:
    resp = cloud.member().image.post("/images", json=body, raise_exc=False, headers={"Accept": "text/plain"})
    if resp.status_code == 201:
        cloud.member().image.delete(f"/images/{resp.json()['id']}")
    assert resp.status_code == status
    assert text in resp.text


def test_errors_are_webob_pages_in_the_media_type_asked_for(cloud: TargetCloud) -> None:
    conn = cloud.member()
    missing = str(uuid.uuid4())
    html = conn.image.get(f"/images/{missing}", raise_exc=False, headers={"Accept": "*/*"})
    assert html.status_code == 404
    assert html.headers["Content-Type"].lower() == "text/html; charset=utf-8"
    assert html.text == (
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>"
        f"\n  No image found with ID {missing}<br /><br />\n\n\n\n </body>\n</html>"
    )
    plain = conn.image.get(f"/images/{missing}", raise_exc=False, headers={"Accept": ""})
    assert plain.text == f"404 Not Found\n\nNo image found with ID {missing}\n\n   "
    as_json = conn.image.get(f"/images/{missing}", raise_exc=False, headers={"Accept": "application/json"})
    assert as_json.json() == {
        "message": f"No image found with ID {missing}<br /><br />\n\n\n",
        "code": "404 Not Found",
        "title": "Not Found",
    }


def test_request_without_a_token_is_a_webob_401(cloud: TargetCloud) -> None:
    endpoint = cloud.member().image.get_endpoint()
    resp = requests.get(endpoint.rstrip("/") + "/images", timeout=10)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Keystone uri=")
    assert "<h1>401 Unauthorized</h1>" in resp.text


# -- patch -------------------------------------------------------------------------------------------


def _patch(conn: Conn, image_id: str, ops: list[dict[str, Any]]) -> requests.Response:
    resp: requests.Response = conn.image.patch(f"/images/{image_id}", json=ops, headers=PATCH, raise_exc=False)
    return resp


def test_patch_adds_replaces_and_removes_properties(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, color="red", size_hint="s")
    resp = _patch(
        conn,
        image["id"],
        [
            {"op": "add", "path": "/shape", "value": "round"},
            {"op": "replace", "path": "/color", "value": "blue"},
            {"op": "remove", "path": "/size_hint"},
            {"op": "replace", "path": "/name", "value": unique_name + "-2"},
            {"op": "replace", "path": "/min_disk", "value": 3},
        ],
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["shape"] == "round" and body["color"] == "blue" and "size_hint" not in body
    assert body["name"] == unique_name + "-2" and body["min_disk"] == 3
    assert _get(conn, image["id"]) == body


@pytest.mark.parametrize(
    ("ops", "status", "text"),
    [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403, "Attribute 'status' is read-only."),
        ([{"op": "remove", "path": "/name"}], 403, "Property name may not be removed."),
        ([{"op": "replace", "path": "/nope", "value": "x"}], 409, "Property nope does not exist."),
        ([{"op": "remove", "path": "/nope"}], 409, "Property nope does not exist."),
        ([{"op": "replace", "path": "/owner", "value": "x"}], 403, "Owner can't be updated by non admin."),
        ([{"op": "add", "path": "/x", "value": 1}], 400, "1 is not of type 'string'"),
        ([{"op": "move", "path": "/x", "value": "y"}], 400, "Invalid operation: `move`."),
        ([{"op": "add", "path": "/a/b", "value": "y"}], 400, "Invalid JSON pointer for this resource: '/a/b'"),
    ],
)
def test_patch_rules(
    cloud: TargetCloud, create: Create, unique_name: str, ops: list[dict[str, Any]], status: int, text: str
) -> None:
    image = create(name=unique_name)
    resp = _patch(cloud.member(), image["id"], ops)
    assert resp.status_code == status
    assert text in html.unescape(resp.text)


def test_patch_needs_the_json_patch_media_type(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    image = create(name=unique_name)
    resp = cloud.member().image.patch(
        f"/images/{image['id']}", json=[], raise_exc=False, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 415
    assert resp.headers["Accept-Patch"] == (
        "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch"
    )


def test_formats_are_fixed_once_the_image_has_data(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    _upload(conn, image["id"], b"data")
    resp = _patch(conn, image["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}])
    assert resp.status_code == 403
    assert "Attribute disk_format can be only replaced for a queued image." in resp.text


def test_tags_are_added_and_removed(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, tags=["a"])
    assert conn.image.put(f"/images/{image['id']}/tags/b").status_code == 204
    assert conn.image.delete(f"/images/{image['id']}/tags/a").status_code == 204
    assert _get(conn, image["id"])["tags"] == ["b"]
    assert conn.image.delete(f"/images/{image['id']}/tags/a", raise_exc=False).status_code == 404


# -- listing -----------------------------------------------------------------------------------------


def _ids(conn: Conn, query: str) -> tuple[list[str], dict[str, Any]]:
    body: dict[str, Any] = conn.image.get("/images?" + query).json()
    return [i["id"] for i in body["images"]], body


def test_list_filters_by_tag_name_property_and_status(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    first = create(name=unique_name + "-a", tags=[unique_name], color="red", disk_format="raw", container_format="bare")
    second = create(name=unique_name + "-b", tags=[unique_name, "extra"], color="blue")
    _upload(conn, first["id"], b"x" * 10)
    tag = f"tag={unique_name}"
    assert sorted(_ids(conn, tag)[0]) == sorted([first["id"], second["id"]])
    assert _ids(conn, f"{tag}&tag=extra")[0] == [second["id"]]
    assert _ids(conn, f"name={unique_name}-a")[0] == [first["id"]]
    assert _ids(conn, f"{tag}&color=blue")[0] == [second["id"]]
    assert _ids(conn, f"{tag}&status=active")[0] == [first["id"]]
    assert _ids(conn, f"{tag}&size_min=5")[0] == [first["id"]]
    assert sorted(_ids(conn, f"{tag}&name=in:{unique_name}-a,{unique_name}-b")[0]) == sorted(
        [first["id"], second["id"]]
    )


def test_list_pages_with_limit_and_marker(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    made = [create(name=f"{unique_name}-{n}", tags=[unique_name])["id"] for n in range(3)]
    page, body = _ids(conn, f"tag={unique_name}&limit=2&sort=name:asc")
    assert page == made[:2]
    assert body["first"] == f"/v2/images?tag={unique_name}&limit=2&sort=name%3Aasc"
    assert body["next"] == f"/v2/images?tag={unique_name}&limit=2&sort=name%3Aasc&marker={made[1]}"
    assert body["schema"] == "/v2/schemas/images"
    page, body = _ids(conn, body["next"].split("?", 1)[1])
    assert page == made[2:]
    assert "next" not in body
    sdk = [i.id for i in conn.image.images(tag=unique_name, sort="name:asc", limit=1)]
    assert sdk == made


def test_list_validation(cloud: TargetCloud) -> None:
    conn = cloud.member()
    for query, text in [
        ("limit=x", "limit param must be an integer"),
        ("sort_key=color", "Invalid sort key: color."),
        ("visibility=everyone", "Invalid visibility value: everyone"),
        (f"marker={uuid.uuid4()}", "No image found with ID"),
        ("name=a:b", "Unable to filter by unknown operator 'a'."),
    ]:
        resp = conn.image.get("/images?" + query, raise_exc=False)
        assert resp.status_code == 400, query
        assert text in html.unescape(resp.text), query


# -- who may do what -----------------------------------------------------------------------------------


def test_member_cannot_make_a_public_image(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    resp = conn.image.post("/images", json={"name": unique_name, "visibility": "public"}, raise_exc=False)
    assert resp.status_code == 403
    assert "You are not authorized to complete publicize_image action." in resp.text
    image = create(name=unique_name)
    resp = _patch(conn, image["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert resp.status_code == 403


def test_member_cannot_create_for_another_project(cloud: TargetCloud, unique_name: str) -> None:
    other = cloud.project_id("demo2")
    resp = cloud.member().image.post("/images", json={"name": unique_name, "owner": other}, raise_exc=False)
    assert resp.status_code == 403
    assert f"You are not permitted to create images owned by '{other}'" in html.unescape(resp.text)


def test_admin_creates_a_public_image_owned_by_a_project(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    demo = cloud.project_id("demo")
    image = create("admin", name=unique_name, visibility="public", owner=demo, tags=[unique_name])
    assert image["owner"] == demo and image["visibility"] == "public"
    assert _ids(cloud.member2(), f"tag={unique_name}")[0] == [image["id"]]
    resp = _patch(cloud.member2(), image["id"], [{"op": "add", "path": "/x", "value": "y"}])
    assert resp.status_code == 403  # visible, but not theirs


def test_private_image_of_another_project_is_invisible(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    image = create(
        name=unique_name, visibility="private", tags=[unique_name], disk_format="raw", container_format="bare"
    )
    _upload(cloud.member(), image["id"], b"secret")
    other = cloud.member2()
    assert other.image.get(f"/images/{image['id']}", raise_exc=False).status_code == 404
    assert other.image.get(f"/images/{image['id']}/file", raise_exc=False).status_code == 404
    assert _patch(other, image["id"], [{"op": "add", "path": "/x", "value": "y"}]).status_code == 404
    assert other.image.delete(f"/images/{image['id']}", raise_exc=False).status_code == 404
    assert _ids(other, f"tag={unique_name}")[0] == []
    admin_view = _ids(cloud.admin(), f"tag={unique_name}")[0]
    assert admin_view == [image["id"]]  # an admin lists every project's images


def test_sharing_needs_the_member_to_accept(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    owner, other = cloud.member(), cloud.member2()
    other_project = cloud.project_id("demo2")
    image = create(name=unique_name, tags=[unique_name])  # visibility "shared" by default
    resp = owner.image.post(f"/images/{image['id']}/members", json={"member": other_project})
    assert resp.json()["status"] == "pending" and resp.json()["schema"] == "/v2/schemas/member"
    assert (
        owner.image.post(f"/images/{image['id']}/members", json={"member": other_project}, raise_exc=False).status_code
        == 409
    )
    assert _ids(other, f"tag={unique_name}")[0] == []
    assert _ids(other, f"tag={unique_name}&member_status=pending")[0] == [image["id"]]
    assert other.image.get(f"/images/{image['id']}").status_code == 200
    assert (
        owner.image.put(
            f"/images/{image['id']}/members/{other_project}", json={"status": "accepted"}, raise_exc=False
        ).status_code
        == 403
    )
    other.image.put(f"/images/{image['id']}/members/{other_project}", json={"status": "accepted"})
    assert _ids(other, f"tag={unique_name}")[0] == [image["id"]]
    members = owner.image.get(f"/images/{image['id']}/members").json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == [(other_project, "accepted")]
    owner.image.delete(f"/images/{image['id']}/members/{other_project}")
    assert other.image.get(f"/images/{image['id']}", raise_exc=False).status_code == 404


def test_private_images_have_no_members(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    image = create(name=unique_name, visibility="private")
    resp = cloud.member().image.post(
        f"/images/{image['id']}/members", json={"member": cloud.project_id("demo2")}, raise_exc=False
    )
    assert resp.status_code == 403
    assert f"Not allowed to create members for image {image['id']}." in resp.text


# -- delete ------------------------------------------------------------------------------------------------


def test_delete_removes_the_image_and_its_data(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    _upload(conn, image["id"], b"data")
    assert conn.image.delete(f"/images/{image['id']}").status_code == 204
    assert conn.image.get(f"/images/{image['id']}", raise_exc=False).status_code == 404
    assert conn.image.get(f"/images/{image['id']}/file", raise_exc=False).status_code == 404
    resp = conn.image.delete(f"/images/{image['id']}", raise_exc=False)
    assert resp.status_code == 404
    assert f"Failed to find image {image['id']} to delete" in resp.text


def test_protected_image_cannot_be_deleted(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, protected=True)
    resp = conn.image.delete(f"/images/{image['id']}", raise_exc=False)
    assert resp.status_code == 403
    assert f"Image {image['id']} is protected and cannot be deleted." in resp.text
    with pytest.raises(openstack.exceptions.ForbiddenException):
        conn.image.delete_image(image["id"])


def test_deactivated_image_data_is_for_admins_only(cloud: TargetCloud, create: Create, unique_name: str) -> None:
    conn = cloud.member()
    image = create(name=unique_name, disk_format="raw", container_format="bare")
    _upload(conn, image["id"], b"data")
    assert conn.image.post(f"/images/{image['id']}/actions/deactivate").status_code == 204
    assert _get(conn, image["id"])["status"] == "deactivated"
    assert conn.image.get(f"/images/{image['id']}/file", raise_exc=False).status_code == 403
    assert cloud.admin().image.get(f"/images/{image['id']}/file").content == b"data"
    conn.image.post(f"/images/{image['id']}/actions/reactivate")
    assert _get(conn, image["id"])["status"] == "active"


# -- discovery and clients ------------------------------------------------------------------------------------


def test_version_discovery_lists_v2_unauthenticated(cloud: TargetCloud) -> None:
    endpoint = cloud.member().image.get_endpoint()
    root = endpoint.rstrip("/").removesuffix("/v2")
    listed = requests.get(root + "/", timeout=10)
    assert listed.status_code == 300
    versions = {v["id"]: v["status"] for v in listed.json()["versions"]}
    assert versions["v2.17"] == "CURRENT" and versions["v2.0"] == "SUPPORTED"
    assert listed.json()["versions"][0]["links"] == [{"rel": "self", "href": root + "/v2/"}]
    assert requests.get(root + "/versions", timeout=10).status_code == 200


def test_info_documents(cloud: TargetCloud) -> None:
    conn = cloud.member()
    methods = conn.image.get("/info/import").json()["import-methods"]
    assert methods["value"] == ["glance-direct", "web-download"]
    assert conn.image.get("/info/stores").json() == {"stores": [{"id": "fs", "default": "true"}]}
    schema = conn.image.get("/schemas/image").json()
    assert schema["name"] == "image" and schema["additionalProperties"] == {"type": "string"}


def test_openstack_cli_creates_lists_and_saves_an_image(cloud: TargetCloud, unique_name: str, tmp_path: Path) -> None:
    source = tmp_path / "in.raw"
    source.write_bytes(os.urandom(MiB))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml))
    cli = [
        str(Path(sys.executable).parent / "openstack"),
        "--os-cloud",
        f"{cloud.prefix}-member",
        "--os-region-name",
        cloud.regions[0],
    ]

    def run(*args: str) -> str:
        out = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    image_id = run(
        "image",
        "create",
        "--file",
        str(source),
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--property",
        "distro=cirros",
        unique_name,
        "-f",
        "value",
        "-c",
        "id",
    ).strip()
    try:
        assert unique_name in run("image", "list", "-f", "value", "-c", "Name")
        run("image", "save", "--file", str(tmp_path / "out.raw"), image_id)
        assert (tmp_path / "out.raw").read_bytes() == source.read_bytes()
    finally:
        run("image", "delete", image_id)
