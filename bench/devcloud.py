"""The real devcloud as the image benchmark uses it: its regions, its demo
member's images of pseudo-random data, and the cleanup of every image a run made.

RegionOne is the source; RegionTwo and RegionThree are the targets (both offer
the glance-download import method, RegionOne does not). See doc/devcloud.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import openstack.config
import openstack.connection
import yaml

from kingsync.regions import rest
from kingsync.sync import glance

DEVCLOUD_HOME = Path(os.environ.get("KINGSYNC_DEVCLOUD_HOME", Path.home() / ".kingsync-devcloud"))
CLOUD = "kingsync-devcloud"
MiB = 1024 * 1024
SOURCE = "RegionOne"
TARGETS = ["RegionTwo", "RegionThree"]
OCTETS = {"Content-Type": "application/octet-stream"}
# What every source image carries besides its data, so that both the engine and
# the plain copy have metadata to copy (a tag, a user property, minimums).
SOURCE_METADATA: dict[str, Any] = {"min_disk": 1, "min_ram": 64, "tags": ["ks-bench"], "bench_origin": SOURCE}


class Cloud:
    """The devcloud's demo member (who owns the images) and admin (who cleans up), per region."""

    def __init__(self, clouds_yaml: Path) -> None:
        self._config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)])
        doc = yaml.safe_load(clouds_yaml.read_text())
        self.auth_url: str = doc["clouds"][f"{CLOUD}-admin"]["auth"]["auth_url"]
        self._connections: dict[tuple[str, str], openstack.connection.Connection] = {}

    def connect(self, persona: str, region: str) -> openstack.connection.Connection:
        key = (persona, region)
        if key not in self._connections:
            config = self._config.get_one(cloud=f"{CLOUD}-{persona}", region_name=region)
            self._connections[key] = openstack.connection.Connection(config=config)
        return self._connections[key]

    def member(self, region: str = SOURCE) -> openstack.connection.Connection:
        return self.connect("member", region)

    def admin(self, region: str = SOURCE) -> openstack.connection.Connection:
        return self.connect("admin", region)

    def glance_port(self, region: str) -> int:
        return urlparse(self.member(region).image.get_endpoint()).port or 80

    def import_methods(self, region: str) -> list[str]:
        methods: list[str] = self.member(region).image.get("/info/import").json()["import-methods"]["value"]
        return methods

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()


def devcloud_problem() -> str | None:
    """Why the devcloud cannot be used, or None."""
    clouds_yaml = DEVCLOUD_HOME / "clouds.yaml"
    if not clouds_yaml.exists():
        return f"the devcloud is not set up ({clouds_yaml} missing): run tools/devcloud/devcloud up"
    auth_url = yaml.safe_load(clouds_yaml.read_text())["clouds"][f"{CLOUD}-admin"]["auth"]["auth_url"]
    parsed = urlparse(auth_url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=2):
            pass
    except OSError:
        return f"the devcloud's keystone does not answer at {auth_url}: run tools/devcloud/devcloud up"
    return None


class PseudoRandom:
    """``size`` pseudo-random bytes (shake_256 of a counter, a MiB at a time) as a file
    that requests streams with a Content-Length: never more than a MiB in memory."""

    def __init__(self, seed: str, size: int) -> None:
        self.len = size  # what requests reads for the Content-Length
        self._seed = seed.encode()
        self._counter = 0
        self._made = 0
        self._block = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._block:
            left = self.len - self._made
            if left <= 0:
                return b""
            counter = self._counter.to_bytes(8, "big")
            self._block = memoryview(hashlib.shake_256(self._seed + counter).digest(min(MiB, left)))
            self._counter += 1
            self._made += len(self._block)
        take = len(self._block) if size < 0 else min(size, len(self._block))
        block, self._block = self._block[:take], self._block[take:]
        return bytes(block)


class Images:
    """The images this run made, in every region; ``cleanup`` deletes them (and any
    image whose name carries the run's prefix, hidden or not)."""

    def __init__(self, cloud: Cloud, prefix: str) -> None:
        self.cloud = cloud
        self.prefix = prefix
        self.made: dict[str, set[str]] = {region: set() for region in [SOURCE, *TARGETS]}

    def make(self, label: str, size: int) -> dict[str, Any]:
        """A raw image of ``size`` pseudo-random bytes in the source region, the member's."""
        conn = self.cloud.member(SOURCE)
        body = {"name": f"{self.prefix}-{label}", "disk_format": "raw", "container_format": "bare", **SOURCE_METADATA}
        image: dict[str, Any] = conn.image.post("/images", json=body).json()
        self.made[SOURCE].add(image["id"])
        resp = conn.image.put(
            f"/images/{image['id']}/file", data=PseudoRandom(image["id"], size), headers=OCTETS, raise_exc=False
        )
        if resp.status_code != 204:
            raise RuntimeError(f"uploading {body['name']} to {SOURCE}: {resp.status_code} {resp.text[:300]}")
        found: dict[str, Any] = conn.image.get(f"/images/{image['id']}").json()
        if found["status"] != "active" or found["size"] != size:
            raise RuntimeError(f"{body['name']} is {found['status']} with {found['size']} bytes after its upload")
        return found

    def adopt(self, region: str, image_id: str | None) -> None:
        if image_id:
            self.made[region].add(image_id)

    def delete(self, region: str, image_id: str) -> None:
        with contextlib.suppress(rest.ServiceError):
            glance.delete(self.cloud.admin(region), image_id)  # unprotects first
        self.made[region].discard(image_id)

    def forget_all(self, image_id: str) -> None:
        """Delete ``image_id`` wherever this run made it, and every copy in the targets."""
        for region in [SOURCE, *TARGETS]:
            if image_id in self.made[region]:
                self.delete(region, image_id)
        for region in TARGETS:
            for made in list(self.made[region]):
                self.delete(region, made)

    def cleanup(self) -> list[str]:
        """Delete every image of the run; returns what could not be deleted."""
        left: list[str] = []
        for region, made in self.made.items():
            try:
                admin = self.cloud.admin(region)
                listed: list[dict[str, Any]] = []
                for query in ("", "&os_hidden=true"):
                    listed += admin.image.get("/images?limit=1000" + query).json()["images"]
                ours = set(made) | {
                    image["id"] for image in listed if (image.get("name") or "").startswith(self.prefix)
                }
                for image_id in sorted(ours):
                    self.delete(region, image_id)
            except Exception as exc:  # keep cleaning the other regions
                left.append(f"{region}: {exc}")
        return left
