"""Images end to end, as a tenant syncs them: both data paths, against the
simulated regions and the real devcloud (RegionTwo and RegionThree offer
glance-download, RegionOne does not).

kingsync runs as ``kingsync all-in-one`` twice per cloud: once as it comes
(glance-download where a target offers it) and once with
``[images] glance_download = false`` (every byte streamed through the
engine). The tenant talks to its API with Keystone tokens; what the regions
hold is read straight from each region's glance.

Stopping a region mid-transfer stops the devcloud's glance of RegionThree
(the simulator's whole RegionThree) and always starts it again; do not run
this module while something else uses the devcloud.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from kingbirdclient.api import client as kingbird

from kingsync.regions import rest
from kingsync.sync import glance
from tests.conformance.conftest import TargetCloud, own_target
from tests.integration.test_deployments import Deployment
from tests.integration.test_quotas import _deploy, region_down
from tests.integration.test_sync_kinds import Caller, results

pytestmark = pytest.mark.slow

TARGETS = ["RegionTwo", "RegionThree"]
MiB = 1024 * 1024
CHUNK = MiB
OCTETS = {"Content-Type": "application/octet-stream"}
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# Retries soon enough that a region back after a few seconds is used at once.
ENGINE = "\n[engine]\nretry_backoff = 1\nmax_attempts = 6\n"


@pytest.fixture(scope="module", params=["sim", pytest.param("real", marks=pytest.mark.devcloud)])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    yield from own_target(request.param, tmp_path_factory, seed=29)


@pytest.fixture(scope="module")
def auto(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """kingsync as it comes: glance-download wherever a target offers it."""
    yield from _deploy(request, "embedded", target, tmp_path_factory.mktemp(f"images-{target.kind}"), ENGINE)


@pytest.fixture(scope="module")
def streaming(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """kingsync with every image streamed through its engine."""
    work = tmp_path_factory.mktemp(f"images-stream-{target.kind}")
    yield from _deploy(request, "embedded", target, work, ENGINE + "\n[images]\nglance_download = false\n")


class Images:
    """The tenant's images in RegionOne, made for a test and deleted (in every region) after it."""

    def __init__(self, target: TargetCloud) -> None:
        self.target = target
        self.made: list[str] = []

    def make(self, size: int, disk_format: str = "raw", seed: str | None = None, **fields: Any) -> dict[str, Any]:
        conn = self.target.member()
        body = {"name": "img-" + uuid.uuid4().hex[:8], "disk_format": disk_format, "container_format": "bare"}
        body.update(fields)
        image: dict[str, Any] = conn.image.post("/images", json=body).json()
        self.made.append(image["id"])
        data = payload(seed or image["id"], size, qcow2=disk_format == "qcow2")
        resp = conn.image.put(f"/images/{image['id']}/file", data=data, headers=OCTETS, raise_exc=False)
        assert resp.status_code == 204, resp.text
        found: dict[str, Any] = conn.image.get(f"/images/{image['id']}").json()
        assert found["status"] == "active"
        return found

    def adopt(self, image_id: str) -> None:
        self.made.append(image_id)

    def cleanup(self) -> None:
        for region in self.target.regions:
            admin = self.target.admin(region)
            listed = admin.image.get("/images?limit=1000&owner=" + self.target.project_id("demo")).json()["images"]
            hidden = admin.image.get("/images?limit=1000&os_hidden=true").json()["images"]
            names = {image["name"] for image in listed + hidden if image["id"] in self.made}
            for image in listed + hidden:
                if image["id"] in self.made or image["name"] in names:
                    with contextlib.suppress(rest.ServiceError):
                        glance.delete(admin, image["id"])  # protected or not


def payload(seed: str, size: int, qcow2: bool = False) -> Iterator[bytes]:
    """``size`` pseudo-random bytes in chunks (a qcow2 header first, for a qcow2 image)."""
    sent, counter = 0, 0
    if qcow2:
        # A qcow2 v2 header (no backing file, 64 KiB clusters, the payload's size as the disk's).
        header = b"QFI\xfb" + struct.pack(">IQIIQIIQQIIQ", 2, 0, 0, 16, size, 0, 0, 0, 0, 0, 0, 0)
        first = header + bytes(64 * 1024 - len(header))
        sent += len(first)
        yield first
    while sent < size:
        block = hashlib.shake_256(f"{seed}/{counter}".encode()).digest(min(CHUNK, size - sent))
        counter += 1
        sent += len(block)
        yield block


@pytest.fixture
def images(target: TargetCloud) -> Iterator[Images]:
    made = Images(target)
    yield made
    made.cleanup()


def read(target: TargetCloud, region: str, image_id: str) -> dict[str, Any] | None:
    resp = target.admin(region).image.get(f"/images/{image_id}", raise_exc=False)
    return resp.json() if resp.status_code == 200 else None


def same_copy(source: dict[str, Any], copy: dict[str, Any] | None) -> None:
    """The copy is the source's: data (size, hash), metadata, visible as the source is."""
    assert copy is not None
    keys = ["name", "size", "os_hash_value", "checksum", "disk_format", "container_format", "owner", "visibility"]
    keys += ["min_disk", "min_ram", "protected", "os_hidden", "os_distro", "custom"]
    assert {k: copy.get(k) for k in keys} == {k: source.get(k) for k in keys}
    assert sorted(copy["tags"]) == sorted(source["tags"]) and copy["status"] == "active"


def tenant(target: TargetCloud, deployed: Deployment) -> Caller:
    return Caller(target.member(), deployed)


# -- both paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("disk_format", ["raw", "qcow2"])
@pytest.mark.parametrize("path", ["auto", "streaming"])
def test_an_image_is_copied_created_then_unchanged(
    request: pytest.FixtureRequest, target: TargetCloud, images: Images, path: str, disk_format: str
) -> None:
    caller = tenant(target, request.getfixturevalue(path))
    source = images.make(3 * MiB + 5, disk_format, tags=["golden"], os_distro="debian", custom="kept", min_ram=128)
    status, items = caller.run("image", [source["id"]])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"}), items
    for region, item in items.items():
        assert item["target_id"] == source["id"]
        same_copy(source, read(target, region, source["id"]))
        if path == "streaming":
            assert item["progress"] == {"bytes_done": source["size"], "bytes_total": source["size"]}
    status, items = caller.run("image", [source["name"]])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "unchanged", "RegionThree": "unchanged"})


@pytest.mark.parametrize("path", ["auto", "streaming"])
def test_a_256_mib_image_reaches_two_regions(
    request: pytest.FixtureRequest, target: TargetCloud, images: Images, path: str
) -> None:
    caller = tenant(target, request.getfixturevalue(path))
    source = images.make(256 * MiB)
    status, items = caller.run("image", [source["id"]])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"}), items
    for region in TARGETS:
        same_copy(source, read(target, region, source["id"]))


# -- conflicts, force, burnt ids ----------------------------------------------------------------------


def test_a_changed_copy_is_a_conflict_and_force_restores_it(
    target: TargetCloud, streaming: Deployment, images: Images
) -> None:
    caller = tenant(target, streaming)
    source = images.make(MiB)
    assert caller.run("image", [source["id"]], ["RegionTwo"])[0] == "SUCCESS"
    target.admin("RegionTwo").image.patch(
        f"/images/{source['id']}", json=[{"op": "add", "path": "/os_distro", "value": "other"}], headers=PATCH
    )
    status, items = caller.run("image", [source["id"]], ["RegionTwo"])
    assert (status, items["RegionTwo"]["result"]) == ("FAILURE", "conflict")
    assert "metadata differs (property os_distro)" in items["RegionTwo"]["error"]
    status, items = caller.run("image", [source["id"]], ["RegionTwo"], force=True)
    assert (status, items["RegionTwo"]["result"]) == ("SUCCESS", "updated")
    same_copy(source, read(target, "RegionTwo", source["id"]))


def test_a_burnt_id_is_a_conflict_and_force_copies_under_a_new_id(
    target: TargetCloud, auto: Deployment, images: Images
) -> None:
    caller = tenant(target, auto)
    source = images.make(MiB)
    admin = target.admin("RegionTwo")
    admin.image.post(
        "/images", json={"id": source["id"], "name": "gone", "disk_format": "raw", "container_format": "bare"}
    )
    admin.image.delete(f"/images/{source['id']}")
    status, items = caller.run("image", [source["id"]], ["RegionTwo"])
    assert (status, items["RegionTwo"]["result"]) == ("FAILURE", "conflict")
    assert "keeps the id of a deleted image" in items["RegionTwo"]["error"]
    status, items = caller.run("image", [source["id"]], ["RegionTwo"], force=True)
    new_id = items["RegionTwo"]["target_id"]
    assert (status, items["RegionTwo"]["result"]) == ("SUCCESS", "created") and new_id != source["id"]
    images.adopt(new_id)
    same_copy(source, read(target, "RegionTwo", new_id))


# -- kernel and ramdisk ---------------------------------------------------------------------------------


def test_an_image_brings_its_kernel_and_ramdisk(target: TargetCloud, auto: Deployment, images: Images) -> None:
    kernel = images.make(64 * 1024, "aki", container_format="aki")
    ramdisk = images.make(128 * 1024, "ari", container_format="ari")
    machine = images.make(MiB, "ami", container_format="ami", kernel_id=kernel["id"], ramdisk_id=ramdisk["id"])
    status, items = tenant(target, auto).run("image", [machine["id"]])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"}), items
    for region in TARGETS:
        copy = read(target, region, machine["id"])
        same_copy(machine, copy)
        assert copy is not None and (copy["kernel_id"], copy["ramdisk_id"]) == (kernel["id"], ramdisk["id"])
        same_copy(kernel, read(target, region, kernel["id"]))
        same_copy(ramdisk, read(target, region, ramdisk["id"]))


# -- a region stopped mid-transfer ----------------------------------------------------------------------


def test_a_region_stopped_mid_transfer_gets_its_copy_once_it_is_back(
    target: TargetCloud, streaming: Deployment, images: Images
) -> None:
    caller = tenant(target, streaming)
    source = images.make(256 * MiB)
    job_id = caller.sync("image", [source["id"]])
    started = _wait_moving(caller, job_id, "RegionThree")
    with region_down(target, "RegionThree", "glance"):
        time.sleep(2)
    status, items = caller.wait(job_id)
    assert started < source["size"]  # the stop came while the data moved
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"}), items
    assert items["RegionThree"]["attempts"] >= 2
    copy_id = items["RegionThree"]["target_id"]  # the source's id, or a new one if the stop left it saving
    images.adopt(copy_id)
    same_copy(source, read(target, "RegionThree", copy_id))
    visible = [
        image
        for image in target.admin("RegionThree").image.get("/images?name=" + source["name"]).json()["images"]
        if image["status"] == "active"
    ]
    assert [image["id"] for image in visible] == [copy_id]  # no second, half-made one to boot from


def _wait_moving(caller: Caller, job_id: str, region: str) -> int:
    """Bytes done for ``region``'s item once its data is on its way."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = requests.get(f"{caller.url}/{job_id}", headers=caller.headers(), timeout=30).json()["job_set"]
        progress = next(item["progress"] for item in items if item["target_region"] == region)
        if progress is not None and progress["bytes_total"]:
            return int(progress["bytes_done"])
        time.sleep(0.05)
    raise AssertionError("the transfer to %s did not start within 60 s" % region)


# -- python-kingbirdclient, unchanged ---------------------------------------------------------------------


def test_kingbirdclients_template_syncs_a_keypair_an_image_and_a_flavor(
    target: TargetCloud, auto: Deployment, images: Images
) -> None:
    """What ``kingbird sync template FILE`` sends, as an admin (flavors are for admins)."""
    admin = target.admin()
    name = "kb-" + uuid.uuid4().hex[:8]
    admin.compute.create_keypair(name=name, public_key=_public_key(), type="ssh")
    admin.compute.create_flavor(name=name, ram=256, vcpus=1, disk=1)
    image = images.make(MiB)
    client = kingbird.client(
        kingbird_url=auto.url + "/v1.0",
        auth_token=admin.session.get_token(),
        project_id=admin.current_project_id,
    ).sync_manager
    try:
        common = {"source": "RegionOne", "target": TARGETS}
        (job,) = client.sync_resources(
            Sync=[
                {"resource_type": "keypair", "resources": [name], **common},
                {"resource_type": "image", "resources": [image["id"]], **common},
                {"resource_type": "flavor", "resources": [name], **common},
            ]
        )
        caller = Caller(admin, auto)
        status, _ = caller.wait(job.id)
        items = client.sync_job_detail(job.id)
        assert status == "SUCCESS"
        assert sorted((item.resource_type, item.target_region, item.status) for item in items) == sorted(
            (kind, region, "SUCCESS") for kind in ("keypair", "image", "flavor") for region in TARGETS
        )
        (single,) = client.sync_resources(
            resource_type="image", resources=[image["id"]], source="RegionOne", target=["RegionTwo"], force="False"
        )
        assert caller.wait(single.id)[1]["RegionTwo"]["result"] == "unchanged"
        for region in TARGETS:
            same_copy(image, read(target, region, image["id"]))
    finally:
        for region in target.regions:
            target.admin(region).compute.delete_keypair(name, ignore_missing=True)
            found = target.admin(region).compute.find_flavor(name, ignore_missing=True)
            if found is not None:
                target.admin(region).compute.delete_flavor(found.id, ignore_missing=True)


def _public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " kb@test"
