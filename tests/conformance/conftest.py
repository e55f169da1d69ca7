"""The conformance suite runs every scenario against both clouds.

``real`` is the devcloud (tools/devcloud/devcloud up): real keystone, nova,
glance, neutron and cinder. ``sim`` is kingsync's simulator. A scenario that
passes on one and fails on the other is a defect of the simulator (or a fact
about the real services that the simulator has to learn).

Without a running devcloud the ``real`` cases skip, except under CI=true,
where they fail: CI must prove the real thing.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import openstack.config
import openstack.connection
import pytest
import yaml

from kingsync.sim.cloud import SimCloud
from tests.conftest import IN_CI
from tests.functional.quota.service_user import SERVICE_AUTH

DEVCLOUD_HOME = Path(os.environ.get("KINGSYNC_DEVCLOUD_HOME", Path.home() / ".kingsync-devcloud"))


class TargetCloud:
    """One cloud under test: connections per persona and region, and ids."""

    def __init__(self, kind: str, clouds_yaml: Path, prefix: str, sim: SimCloud | None = None) -> None:
        self.kind = kind
        self.clouds_yaml = clouds_yaml
        self.prefix = prefix
        self.sim = sim
        self._config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)])
        self._connections: dict[tuple[str, str], openstack.connection.Connection] = {}
        doc = yaml.safe_load(clouds_yaml.read_text())
        self.regions: list[str] = list(doc["clouds"][f"{prefix}-admin"]["regions"])
        self.auth_url: str = doc["clouds"][f"{prefix}-admin"]["auth"]["auth_url"]

    def connect(self, persona: str, region: str | None = None) -> openstack.connection.Connection:
        """A cached Connection: persona is ``admin``, ``member`` or ``member2``."""
        region = region or self.regions[0]
        key = (persona, region)
        if key not in self._connections:
            config = self._config.get_one(cloud=f"{self.prefix}-{persona}", region_name=region)
            self._connections[key] = openstack.connection.Connection(config=config)
        return self._connections[key]

    def admin(self, region: str | None = None) -> openstack.connection.Connection:
        return self.connect("admin", region)

    def member(self, region: str | None = None) -> openstack.connection.Connection:
        return self.connect("member", region)

    def member2(self, region: str | None = None) -> openstack.connection.Connection:
        return self.connect("member2", region)

    def service(self, region: str | None = None) -> openstack.connection.Connection:
        """kingsync's own service user (admin on project "service"), as its engine connects."""
        region = region or self.regions[0]
        key = ("service", region)
        if key not in self._connections:
            auth = {k: v for k, v in SERVICE_AUTH.items() if k != "auth_type"}
            self._connections[key] = openstack.connection.Connection(
                auth_url=self.auth_url, region_name=region, interface="public", **auth
            )
        return self._connections[key]

    def project_id(self, name: str) -> str:
        project = self.admin().identity.find_project(name, ignore_missing=False)
        return str(project.id)

    def user_id(self, name: str) -> str:
        user = self.admin().identity.find_user(name, ignore_missing=False)
        return str(user.id)

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def _sim_target(sim_cloud: SimCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    path = tmp_path_factory.mktemp("sim") / "clouds.yaml"
    sim_cloud.write_clouds_yaml(str(path))
    target = TargetCloud("sim", path, "kingsync-sim", sim=sim_cloud)
    yield target
    target.close()


@pytest.fixture(scope="session")
def _real_target() -> Iterator[TargetCloud]:
    path = DEVCLOUD_HOME / "clouds.yaml"
    reason = None
    if not path.exists():
        reason = f"devcloud is not set up ({path} missing): run tools/devcloud/devcloud up"
    else:
        target = TargetCloud("real", path, "kingsync-devcloud")
        if not _listening(target.auth_url):
            reason = f"devcloud keystone does not answer at {target.auth_url}: run tools/devcloud/devcloud up"
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the real run is required)")
        pytest.skip(reason)
    yield target
    target.close()


def own_target(kind: str, tmp_path_factory: pytest.TempPathFactory, seed: int) -> Iterator[TargetCloud]:
    """For a module-scoped ``target`` fixture: a simulated cloud of the module's
    own (``seed`` keeps its ids apart from other modules'), or the devcloud."""
    if kind == "sim":
        sim = SimCloud(regions=3, port=0, seed=seed).start_in_thread()
        path = tmp_path_factory.mktemp("sim") / "clouds.yaml"
        sim.write_clouds_yaml(str(path))
        target = TargetCloud("sim", path, "kingsync-sim", sim=sim)
        yield target
        target.close()
        sim.stop_thread()
        return
    path = DEVCLOUD_HOME / "clouds.yaml"
    if not path.exists() or not _listening(TargetCloud("real", path, "kingsync-devcloud").auth_url):
        reason = "devcloud is not up: run tools/devcloud/devcloud up"
        if IN_CI:
            pytest.fail(reason + " (CI=true: the real run is required)")
        pytest.skip(reason)
    target = TargetCloud("real", path, "kingsync-devcloud")
    yield target
    target.close()


@pytest.fixture(scope="session", params=["sim", "real"])
def cloud(request: pytest.FixtureRequest) -> TargetCloud:
    """The cloud under test; every conformance test runs once per kind."""
    target: TargetCloud = request.getfixturevalue(f"_{request.param}_target")
    return target


@pytest.fixture
def unique_name() -> str:
    """A name no earlier run left behind (the devcloud keeps state between runs)."""
    return "ks-conf-" + uuid.uuid4().hex[:10]
