"""The simulated Glance beyond what the real one can be asked to show:
memory use while streaming, persistence, interrupted and racing uploads,
and that a project's calls do not scan every image."""

from __future__ import annotations

import hashlib
import socket
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import openstack.config
import openstack.connection
import pytest

from kingsync.sim.auth import Context
from kingsync.sim.cloud import SimCloud
from kingsync.sim.image import listing, store
from kingsync.sim.image.state import State, new_image

MiB = 1024 * 1024
CHUNK = 64 * 1024
OCTETS = {"Content-Type": "application/octet-stream"}


def _connect(cloud: SimCloud, tmp_path: Path, persona: str = "member") -> openstack.connection.Connection:
    path = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)])
    return openstack.connection.Connection(
        config=config.get_one(cloud=f"kingsync-sim-{persona}", region_name="RegionOne")
    )


def _zeros(size: int) -> Iterator[bytes]:
    block = bytes(CHUNK)
    for offset in range(0, size, CHUNK):
        yield block[: min(CHUNK, size - offset)]


def _new(conn: openstack.connection.Connection, **body: Any) -> str:
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    image_id: str = conn.image.post("/images", json=body).json()["id"]
    return image_id


def test_large_image_is_never_held_whole_in_memory(sim_cloud: SimCloud, tmp_path: Path) -> None:
    conn = _connect(sim_cloud, tmp_path)
    size = 192 * MiB
    image_id = _new(conn, name="big")
    tracemalloc.start()
    try:
        assert conn.image.put(f"/images/{image_id}/file", data=_zeros(size), headers=OCTETS).status_code == 204
        digest = hashlib.sha512()
        download = conn.image.download_image(image_id, stream=True)
        for chunk in download.iter_content(CHUNK):
            digest.update(chunk)
        download.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.sha512()
    for chunk in _zeros(size):
        expected.update(chunk)
    image = conn.image.get(f"/images/{image_id}").json()
    assert image["os_hash_value"] == expected.hexdigest() == digest.hexdigest()
    assert peak < 24 * MiB, f"peak {peak / MiB:.1f} MiB while moving {size / MiB:.0f} MiB"
    conn.image.delete(f"/images/{image_id}")


def test_image_data_lives_in_the_data_dir_and_goes_with_the_image(sim_cloud: SimCloud, tmp_path: Path) -> None:
    conn = _connect(sim_cloud, tmp_path)
    image_id = _new(conn, name="on-disk")
    conn.image.put(f"/images/{image_id}/file", data=b"x" * 1000, headers=OCTETS)
    path = Path(sim_cloud.data_dir) / "image" / "RegionOne" / image_id
    assert path.stat().st_size == 1000
    conn.image.delete(f"/images/{image_id}")
    assert not path.exists()


def test_images_and_their_data_survive_a_restart(tmp_path: Path) -> None:
    state_file, data_dir = str(tmp_path / "state.json"), str(tmp_path / "data")
    cloud = SimCloud(regions=1, port=0, state_file=state_file, data_dir=data_dir).start_in_thread()
    try:
        conn = _connect(cloud, tmp_path)
        kept = _new(conn, name="kept", tags=["t"], color="red")
        conn.image.put(f"/images/{kept}/file", data=b"payload", headers=OCTETS)
        gone = _new(conn, name="gone")
        conn.image.delete(f"/images/{gone}")
    finally:
        cloud.stop_thread()
    cloud = SimCloud(regions=1, port=0, state_file=state_file, data_dir=data_dir).start_in_thread()
    try:
        conn = _connect(cloud, tmp_path)
        image = conn.image.get(f"/images/{kept}").json()
        assert (image["status"], image["tags"], image["color"]) == ("active", ["t"], "red")
        assert conn.image.get(f"/images/{kept}/file").content == b"payload"
        assert conn.image.post("/images", json={"id": gone}, raise_exc=False).status_code == 409
        assert [i["id"] for i in conn.image.get("/images?tag=t").json()["images"]] == [kept]
    finally:
        cloud.stop_thread()


def test_dropped_upload_puts_the_image_back_in_the_queue(sim_cloud: SimCloud, tmp_path: Path) -> None:
    conn = _connect(sim_cloud, tmp_path)
    image_id = _new(conn, name="dropped")
    endpoint = urlparse(conn.image.get_endpoint())
    head = (
        f"PUT {endpoint.path.rstrip('/')}/images/{image_id}/file HTTP/1.1\r\nHost: {endpoint.netloc}\r\n"
        f"X-Auth-Token: {conn.session.get_token()}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {10 * MiB}\r\n\r\n"
    )
    with socket.create_connection((endpoint.hostname, endpoint.port)) as sock:
        sock.sendall(head.encode() + bytes(MiB))
        deadline = time.monotonic() + 5
        while conn.image.get(f"/images/{image_id}").json()["status"] != "saving" and time.monotonic() < deadline:
            time.sleep(0.02)
    deadline = time.monotonic() + 5
    while conn.image.get(f"/images/{image_id}").json()["status"] != "queued" and time.monotonic() < deadline:
        time.sleep(0.02)
    image = conn.image.get(f"/images/{image_id}").json()
    assert image["status"] == "queued" and image["size"] is None
    folder = Path(sim_cloud.data_dir) / "image" / "RegionOne"
    assert not list(folder.glob(image_id + "*"))
    assert conn.image.put(f"/images/{image_id}/file", data=b"again", headers=OCTETS).status_code == 204
    conn.image.delete(f"/images/{image_id}")


def test_image_deleted_during_upload_is_410_and_leaves_no_data(sim_cloud: SimCloud, tmp_path: Path) -> None:
    conn = _connect(sim_cloud, tmp_path)
    admin = _connect(sim_cloud, tmp_path, "admin")
    image_id = _new(conn, name="racing")

    def body() -> Iterator[bytes]:
        yield bytes(CHUNK)
        assert admin.image.delete(f"/images/{image_id}").status_code == 204
        yield bytes(CHUNK)

    resp = conn.image.put(f"/images/{image_id}/file", data=body(), headers=OCTETS, raise_exc=False)
    assert resp.status_code == 410
    assert f"Image {image_id} could not be found after upload." in resp.text
    assert not list((Path(sim_cloud.data_dir) / "image" / "RegionOne").glob(image_id + "*"))


def test_upload_over_the_size_cap_is_413(sim_cloud: SimCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "SIZE_CAP", 100_000)
    conn = _connect(sim_cloud, tmp_path)
    image_id = _new(conn, name="too-big")
    resp = conn.image.put(f"/images/{image_id}/file", data=_zeros(200_000), headers=OCTETS, raise_exc=False)
    assert resp.status_code == 413
    assert conn.image.get(f"/images/{image_id}").json()["status"] == "queued"
    conn.image.delete(f"/images/{image_id}")


def test_a_projects_listing_reads_only_what_it_may_see() -> None:
    state = State()
    for n in range(20_000):
        owner = "project-%d" % (n % 10_000)
        visibility = "public" if n % 5000 == 0 else "private"
        state.add(new_image(str(uuid.uuid4()), owner, {"visibility": visibility}, {}, []))
    ctx = Context(user_id="u", project_id="project-7", roles=("member", "reader"))
    query = listing.Query(
        limit=25,
        marker=None,
        member_status="accepted",
        tags=[],
        filters={"os_hidden": "false"},
        sort=[("created_at", "desc"), ("id", "desc")],
    )
    seen = list(listing.candidates(state, ctx, query))
    assert len(seen) == 2 + 4  # its own two, and the four public ones
    page, more = listing.select(state, ctx, query)
    assert len(page) == 6 and not more
