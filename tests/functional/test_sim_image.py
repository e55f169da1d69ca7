"""The simulated Glance beyond what the real one can be asked to show:
memory use while streaming and importing, persistence, interrupted and
racing uploads, faults and import methods set at run time, the import lock's
expiry, and that a project's calls do not scan every image."""

from __future__ import annotations

import datetime
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
from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from kingsync.sim.image import listing, store
from kingsync.sim.image.state import State, new_image

Json = dict[str, Any]
MiB = 1024 * 1024
CHUNK = 64 * 1024
OCTETS = {"Content-Type": "application/octet-stream"}


def _connect(
    cloud: SimCloud, tmp_path: Path, persona: str = "member", region: str = "RegionOne"
) -> openstack.connection.Connection:
    path = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)])
    return openstack.connection.Connection(config=config.get_one(cloud=f"kingsync-sim-{persona}", region_name=region))


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


# -- glance-download ---------------------------------------------------------------------------------------


def _import(
    cloud: SimCloud,
    tmp_path: Path,
    source_id: str,
    target_id: str,
    source: str = "RegionOne",
    target: str = "RegionTwo",
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Import ``source_id`` into ``target_id`` by glance-download; the image and its tasks once it settled."""
    conn = _connect(cloud, tmp_path, region=target)
    method = {"name": "glance-download", "glance_image_id": source_id, "glance_region": source}
    assert conn.image.post(f"/images/{target_id}/import", json={"method": method}).status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks: list[dict[str, Any]] = conn.image.get(f"/images/{target_id}/tasks").json()["tasks"]
        if all(task["status"] in ("success", "failure") for task in tasks):
            return conn.image.get(f"/images/{target_id}").json(), tasks
        time.sleep(0.05)
    raise AssertionError("the import did not end within 60 s")


def test_a_large_import_is_never_held_whole_in_memory(sim_cloud: SimCloud, tmp_path: Path) -> None:
    size = 128 * MiB
    source = _new(_connect(sim_cloud, tmp_path), name="big-source")
    _connect(sim_cloud, tmp_path).image.put(f"/images/{source}/file", data=_zeros(size), headers=OCTETS)
    target = _new(_connect(sim_cloud, tmp_path, region="RegionTwo"), id=source)
    tracemalloc.start()
    try:
        image, tasks = _import(sim_cloud, tmp_path, source, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert image["status"] == "active" and image["size"] == size and tasks[0]["message"] == "Copied 128 MiB"
    assert peak < 24 * MiB, f"peak {peak / MiB:.1f} MiB while importing {size / MiB:.0f} MiB"
    for region in ("RegionOne", "RegionTwo"):
        _connect(sim_cloud, tmp_path, region=region).image.delete(f"/images/{source}")


@pytest.mark.parametrize("faults", [{"error_rate": 1.0}, {"down": True}])
def test_faults_of_the_source_region_fail_the_import(fresh_sim: SimCloud, tmp_path: Path, faults: Json) -> None:
    source = _new(_connect(fresh_sim, tmp_path), name="source")
    _connect(fresh_sim, tmp_path).image.put(f"/images/{source}/file", data=b"data", headers=OCTETS)
    target = _new(_connect(fresh_sim, tmp_path, region="RegionTwo"), name="target")
    SimControl(fresh_sim.auth_url).set_faults("RegionOne", **faults)
    image, tasks = _import(fresh_sim, tmp_path, source, target)
    assert [t["status"] for t in tasks] == ["failure"]
    assert image["status"] == "queued" and image["os_glance_importing_to_stores"] == "fs"
    SimControl(fresh_sim.auth_url).clear_faults("RegionOne")
    image, tasks = _import(fresh_sim, tmp_path, source, target)
    assert image["status"] == "active" and sorted(t["status"] for t in tasks) == ["failure", "success"]


def test_faults_of_the_target_region_apply_to_import_and_tasks(fresh_sim: SimCloud, tmp_path: Path) -> None:
    conn = _connect(fresh_sim, tmp_path, region="RegionTwo")
    target = _new(conn, name="target")
    SimControl(fresh_sim.auth_url).set_faults("RegionTwo", error_rate=1.0, error_status=500)
    method = {"name": "glance-download", "glance_image_id": str(uuid.uuid4()), "glance_region": "RegionOne"}
    assert conn.image.post(f"/images/{target}/import", json={"method": method}, raise_exc=False).status_code == 500
    assert conn.image.get(f"/images/{target}/tasks", raise_exc=False).status_code == 500
    SimControl(fresh_sim.auth_url).clear_faults("RegionTwo")
    assert conn.image.get(f"/images/{target}/tasks").json() == {"tasks": []}


def test_import_methods_are_set_per_region_at_run_time(fresh_sim: SimCloud, tmp_path: Path) -> None:
    control = SimControl(fresh_sim.auth_url)
    assert [r["import_methods"] for r in control.regions()] == [
        ["glance-direct", "web-download"],
        ["glance-direct", "web-download", "glance-download"],
        ["glance-direct", "web-download", "glance-download"],
    ]
    control.set_import_methods("RegionOne", ["glance-download"])
    conn = _connect(fresh_sim, tmp_path)
    assert conn.image.get("/info/import").json()["import-methods"]["value"] == ["glance-download"]
    target = conn.image.post("/images", json={"disk_format": "raw", "container_format": "bare"})
    assert target.headers["OpenStack-image-import-methods"] == "glance-download"
    source = _new(_connect(fresh_sim, tmp_path, region="RegionTwo"), name="from-two")
    _connect(fresh_sim, tmp_path, region="RegionTwo").image.put(f"/images/{source}/file", data=b"2", headers=OCTETS)
    image, _ = _import(fresh_sim, tmp_path, source, target.json()["id"], source="RegionTwo", target="RegionOne")
    assert image["status"] == "active"
    control.set_import_methods("RegionTwo", [])
    created = _connect(fresh_sim, tmp_path, region="RegionTwo").image.post("/images", json={})
    assert "OpenStack-image-import-methods" not in created.headers  # glance sends no empty header
    for bad in (["glance-download", "glance-download"], ["ftp"], "glance-download"):
        with pytest.raises(RuntimeError, match="400"):
            control.set_import_methods("RegionOne", bad)  # type: ignore[arg-type]


def test_a_stale_import_lock_is_broken_after_an_hour(sim_cloud: SimCloud, tmp_path: Path) -> None:
    conn = _connect(sim_cloud, tmp_path)
    source = _new(conn, name="vanishing")
    conn.image.put(f"/images/{source}/file", data=b"v" * 100, headers=OCTETS)
    (Path(sim_cloud.data_dir) / "image" / "RegionOne" / source).unlink()
    target = _new(_connect(sim_cloud, tmp_path, region="RegionTwo"), name="locked")
    image, (failed,) = _import(sim_cloud, tmp_path, source, target)
    assert image["os_glance_import_task"] == failed["id"] and image["os_glance_failed_import"] == "fs"
    good = _new(conn, name="good")
    conn.image.put(f"/images/{good}/file", data=b"g", headers=OCTETS)

    async def age() -> None:
        task = sim_cloud.regions["RegionTwo"].image.task(target, failed["id"])
        assert task is not None
        task["updated_at"] = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=61)).strftime(
            "%Y-%m-%dT%H:%M:%S.000000"
        )

    sim_cloud.call(age())
    image, tasks = _import(sim_cloud, tmp_path, good, target)
    assert image["status"] == "active" and "os_glance_import_task" not in image
    assert image["os_glance_failed_import"] == "" and image["os_glance_importing_to_stores"] == ""
    assert sorted(t["status"] for t in tasks) == ["failure", "success"]


def test_import_tasks_survive_a_restart(tmp_path: Path) -> None:
    state_file, data_dir = str(tmp_path / "state.json"), str(tmp_path / "data")
    cloud = SimCloud(regions=2, port=0, state_file=state_file, data_dir=data_dir).start_in_thread()
    try:
        source = _new(_connect(cloud, tmp_path), name="source")
        _connect(cloud, tmp_path).image.put(f"/images/{source}/file", data=b"kept", headers=OCTETS)
        target = _new(_connect(cloud, tmp_path, region="RegionTwo"), id=source)
        _, tasks = _import(cloud, tmp_path, source, target)
    finally:
        cloud.stop_thread()
    cloud = SimCloud(regions=2, port=0, state_file=state_file, data_dir=data_dir).start_in_thread()
    try:
        conn = _connect(cloud, tmp_path, region="RegionTwo")
        assert conn.image.get(f"/images/{target}/tasks").json()["tasks"] == tasks
        assert conn.image.get(f"/images/{target}/file").content == b"kept"
    finally:
        cloud.stop_thread()


def test_stopping_the_simulator_cancels_running_imports(tmp_path: Path) -> None:
    cloud = SimCloud(regions=2, port=0).start_in_thread()
    source = _new(_connect(cloud, tmp_path), name="slow")
    _connect(cloud, tmp_path).image.put(f"/images/{source}/file", data=b"s", headers=OCTETS)
    target = _new(_connect(cloud, tmp_path, region="RegionTwo"), name="target")
    SimControl(cloud.auth_url).set_faults("RegionOne", latency_ms=30_000)
    method = {"name": "glance-download", "glance_image_id": source, "glance_region": "RegionOne"}
    conn = _connect(cloud, tmp_path, region="RegionTwo")
    assert conn.image.post(f"/images/{target}/import", json={"method": method}).status_code == 202
    time.sleep(0.2)
    start = time.monotonic()
    cloud.stop_thread()
    assert time.monotonic() - start < 5
