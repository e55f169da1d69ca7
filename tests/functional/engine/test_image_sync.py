"""The engine syncs images between simulated regions, over real HTTP: both
data paths, verified copies, conflicts, force, burnt ids, kernels first."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kingsync.db import jobs
from kingsync.db.models import CONFLICT, CREATED, FAILURE, REPLACED, SUCCESS, UNCHANGED, UPDATED
from kingsync.db.session import transaction
from kingsync.sync import glance
from tests.functional.engine.conftest import EngineFactory, Env

TARGETS = ["RegionTwo", "RegionThree"]
MiB = 1024 * 1024
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def data(seed: str, size: int) -> bytes:
    return hashlib.shake_256(seed.encode()).digest(size)


def make_image(env: Env, region: str, payload: bytes, persona: str = "member", **fields: Any) -> dict[str, Any]:
    """An active image of ``persona`` in ``region`` holding ``payload``."""
    conn = env.connect(persona, region)
    body = {"name": "img-" + uuid.uuid4().hex[:8], "disk_format": "raw", "container_format": "bare", **fields}
    image: dict[str, Any] = conn.image.post("/images", json=body).json()
    conn.image.put("/images/%s/file" % image["id"], data=payload, headers={"Content-Type": "application/octet-stream"})
    found: dict[str, Any] = conn.image.get("/images/" + image["id"]).json()
    assert found["status"] == "active"
    return found


def read(env: Env, region: str, image_id: str) -> dict[str, Any] | None:
    return glance.get(env.admin(region), image_id)


def bytes_of(env: Env, region: str, image_id: str) -> bytes:
    return env.admin(region).image.get("/images/%s/file" % image_id).content


def sync(env: Env, engine: EngineFactory, image_id: str, targets: list[str], force: bool = False) -> jobs.Job:
    entry = jobs.Entry("image", [image_id], "RegionOne", targets, force)
    with transaction(env.db_url) as session:
        job_id = jobs.create_job(session, env.demo_project_id, env.demo_user_id, [entry]).id
    with engine():
        return env.wait_for(job_id, timeout=60)


@pytest.fixture
def streamed(env: Env) -> Env:
    env.overrides.set("images", glance_download=False)
    env.engine_options(retry_backoff=0.1)
    return env


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The regions the engine read image data from."""
    seen: list[str] = []
    real = glance.download

    def counted(conn: Any, image_id: str) -> Any:
        seen.append(str(conn.config.region_name))
        return real(conn, image_id)

    monkeypatch.setattr(glance, "download", counted)
    yield seen


def same_copy(source: dict[str, Any], copy: dict[str, Any] | None) -> None:
    assert copy is not None
    keys = ("name", "size", "os_hash_value", "checksum", "disk_format", "container_format", "owner", "tags")
    assert {k: copy[k] for k in keys} == {k: source[k] for k in keys}
    assert (copy["status"], copy["os_hidden"], copy["visibility"]) == ("active", False, source["visibility"])


def test_an_image_is_streamed_to_two_regions_reading_the_source_once(
    streamed: Env, engine: EngineFactory, downloads: list[str]
) -> None:
    payload = data("two", 3 * MiB + 17)
    source = make_image(streamed, "RegionOne", payload, tags=["golden"], os_distro="debian", min_ram=256)
    job = sync(streamed, engine, source["id"], TARGETS)

    assert job.status == SUCCESS
    assert downloads == ["RegionOne"]  # one read for both targets
    for item in job.items:
        assert (item.result, item.target_id) == (CREATED, source["id"])
        assert (item.bytes_done, item.bytes_total) == (len(payload), len(payload))
        copy = read(streamed, item.target_region, source["id"])
        same_copy(source, copy)
        assert copy is not None and copy["os_distro"] == "debian" and copy["min_ram"] == 256
        assert bytes_of(streamed, item.target_region, source["id"]) == payload


def test_a_rerun_is_unchanged_a_changed_copy_a_conflict_and_force_updates_it(
    streamed: Env, engine: EngineFactory
) -> None:
    source = make_image(streamed, "RegionOne", data("meta", 4096))
    assert sync(streamed, engine, source["id"], ["RegionTwo"]).status == SUCCESS
    assert [i.result for i in sync(streamed, engine, source["id"], ["RegionTwo"]).items] == [UNCHANGED]

    streamed.admin("RegionTwo").image.patch(
        "/images/" + source["id"], json=[{"op": "replace", "path": "/name", "value": "renamed"}], headers=PATCH
    )
    conflict = sync(streamed, engine, source["id"], ["RegionTwo"])
    assert (conflict.status, conflict.items[0].result) == (FAILURE, CONFLICT)
    assert "metadata differs (name)" in str(conflict.items[0].error)

    forced = sync(streamed, engine, source["id"], ["RegionTwo"], force=True)
    assert [i.result for i in forced.items] == [UPDATED]
    same_copy(source, read(streamed, "RegionTwo", source["id"]))


def test_different_data_under_the_same_id_is_replaced_by_a_new_copy_only_with_force(
    streamed: Env, engine: EngineFactory
) -> None:
    source = make_image(streamed, "RegionOne", data("mine", 8192))
    other = make_image(streamed, "RegionTwo", data("theirs", 8192), id=source["id"], name=source["name"])
    assert other["id"] == source["id"]

    conflict = sync(streamed, engine, source["id"], ["RegionTwo"])
    assert conflict.items[0].result == CONFLICT and "data differs" in str(conflict.items[0].error)

    forced = sync(streamed, engine, source["id"], ["RegionTwo"], force=True).items[0]
    assert forced.result == REPLACED and forced.target_id != source["id"]
    assert read(streamed, "RegionTwo", source["id"]) is None  # the different one is gone
    same_copy(source, read(streamed, "RegionTwo", str(forced.target_id)))
    again = sync(streamed, engine, source["id"], ["RegionTwo"]).items[0]  # the record knows the new id
    assert (again.result, again.target_id) == (UNCHANGED, forced.target_id)


def test_a_burnt_id_is_a_conflict_and_force_copies_under_a_new_id(streamed: Env, engine: EngineFactory) -> None:
    source = make_image(streamed, "RegionOne", data("burnt", 2048))
    gone = make_image(streamed, "RegionTwo", data("burnt", 2048), persona="admin", id=source["id"])
    streamed.admin("RegionTwo").image.delete("/images/" + gone["id"])

    conflict = sync(streamed, engine, source["id"], ["RegionTwo"]).items[0]
    assert conflict.result == CONFLICT
    assert "keeps the id of a deleted image" in str(conflict.error) and "force" in str(conflict.error)

    forced = sync(streamed, engine, source["id"], ["RegionTwo"], force=True).items[0]
    assert forced.result == CREATED and forced.target_id not in (None, source["id"])
    same_copy(source, read(streamed, "RegionTwo", str(forced.target_id)))


def test_an_image_brings_its_kernel_and_ramdisk_first(streamed: Env, engine: EngineFactory) -> None:
    kernel = make_image(streamed, "RegionOne", data("k", 1000), disk_format="aki", container_format="aki")
    ramdisk = make_image(streamed, "RegionOne", data("r", 2000), disk_format="ari", container_format="ari")
    machine = make_image(
        streamed,
        "RegionOne",
        data("m", 3000),
        disk_format="ami",
        container_format="ami",
        kernel_id=kernel["id"],
        ramdisk_id=ramdisk["id"],
    )
    job = sync(streamed, engine, machine["id"], TARGETS)
    assert [i.result for i in job.items] == [CREATED, CREATED]
    for region in TARGETS:
        copy = read(streamed, region, machine["id"])
        same_copy(machine, copy)
        assert copy is not None and (copy["kernel_id"], copy["ramdisk_id"]) == (kernel["id"], ramdisk["id"])
        same_copy(kernel, read(streamed, region, kernel["id"]))
        same_copy(ramdisk, read(streamed, region, ramdisk["id"]))


def test_a_failing_target_is_dropped_and_the_other_finishes_then_the_retry_completes_it(
    streamed: Env, engine: EngineFactory
) -> None:
    payload = data("flaky", 2 * MiB)
    source = make_image(streamed, "RegionOne", payload)
    streamed.engine_options(max_attempts=1)
    streamed.control.set_faults("RegionThree", down=True)
    try:
        job = sync(streamed, engine, source["id"], TARGETS)
    finally:
        streamed.control.clear_faults("RegionThree")
    items = streamed.items_by_target(job)
    assert items["RegionTwo"].result == CREATED
    assert items["RegionThree"].status == FAILURE
    assert bytes_of(streamed, "RegionTwo", source["id"]) == payload

    streamed.engine_options(max_attempts=3)
    again = streamed.items_by_target(sync(streamed, engine, source["id"], TARGETS))
    assert (again["RegionTwo"].result, again["RegionThree"].result) == (UNCHANGED, CREATED)
    assert bytes_of(streamed, "RegionThree", source["id"]) == payload


def test_a_copy_by_glance_download_moves_no_data_through_the_engine(
    env: Env, engine: EngineFactory, downloads: list[str]
) -> None:
    payload = data("pull", MiB + 3)
    source = make_image(env, "RegionOne", payload, os_distro="debian", custom="kept")
    job = sync(env, engine, source["id"], TARGETS)
    assert [i.result for i in job.items] == [CREATED, CREATED], [i.error for i in job.items]
    assert downloads == []
    for region in TARGETS:
        copy = read(env, region, source["id"])
        same_copy(source, copy)
        assert (
            copy is not None and copy["custom"] == "kept"
        )  # set by kingsync: glance-download copies no custom property
        assert bytes_of(env, region, source["id"]) == payload


def test_a_copy_locked_by_an_import_that_failed_mid_copy_gets_its_data_streamed(
    env: Env, engine: EngineFactory, downloads: list[str]
) -> None:
    """Glance keeps an image locked for an hour after a glance-download import
    that failed while copying (sync-facts §1.5): the retry streams the data."""
    payload = data("locked", MiB)
    source = make_image(env, "RegionOne", payload)
    stored = Path(env.cloud.data_dir) / "image" / "RegionOne" / source["id"]
    hidden = stored.with_name(stored.name + ".away")
    stored.rename(hidden)  # the source's data is gone: its /file answers short
    env.engine_options(max_attempts=1)
    try:
        failed = sync(env, engine, source["id"], ["RegionTwo"]).items[0]
    finally:
        hidden.rename(stored)
    assert failed.status == FAILURE and "import" in str(failed.error)
    locked = read(env, "RegionTwo", source["id"])
    assert locked is not None and locked["status"] == "queued" and locked.get("os_glance_import_task")

    env.engine_options(max_attempts=2)
    again = sync(env, engine, source["id"], ["RegionTwo"]).items[0]
    assert (again.result, again.target_id) == (CREATED, source["id"]), again.error
    assert downloads == ["RegionOne"]  # streamed, since the lock forbids another import
    same_copy(source, read(env, "RegionTwo", source["id"]))
    assert bytes_of(env, "RegionTwo", source["id"]) == payload
