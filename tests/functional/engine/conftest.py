"""Fixtures for the engine against the simulated regions: configuration,
a SQLite file database, tenant connections, keypairs and running engines."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import oslo_messaging as messaging
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kingsync import regions
from kingsync.conf import CONF
from kingsync.db import jobs, migration
from kingsync.db.session import transaction
from kingsync.engine.service import EngineService
from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from tests.functional.quota.service_user import SERVICE_AUTH, register_password_opts


def new_public_key(comment: str = "demo@kingsync") -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " " + comment


def service_config(auth_url: str) -> dict[str, dict[str, Any]]:
    """kingsync's [regions] credentials on the simulator: its service user."""
    return {"regions": {**SERVICE_AUTH, "auth_url": auth_url}}


class Overrides:
    """CONF.set_override with the undo done for you."""

    def __init__(self) -> None:
        self._done: list[tuple[str, str | None]] = []

    def set(self, group: str | None, **values: Any) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group=group)
            self._done.append((name, group))

    def undo(self) -> None:
        for name, group in reversed(self._done):
            CONF.clear_override(name, group=group)
        self._done.clear()


class Env:
    """One simulated cloud seen by the engine tests."""

    def __init__(self, cloud: SimCloud, clouds_yaml: Path, db_url: str, overrides: Overrides) -> None:
        self.cloud = cloud
        self.control = SimControl(cloud.auth_url)
        self.db_url = db_url
        self.overrides = overrides
        self._config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)], load_envvars=False)
        self._connections: dict[tuple[str, str], openstack.connection.Connection] = {}
        demo = self.member("RegionOne").current_user_id
        self.demo_user_id: str = str(demo)
        self.demo_project_id: str = str(self.member("RegionOne").current_project_id)

    def connect(self, persona: str, region: str) -> openstack.connection.Connection:
        key = (persona, region)
        if key not in self._connections:
            config = self._config.get_one(cloud=f"kingsync-sim-{persona}", region_name=region)
            self._connections[key] = openstack.connection.Connection(config=config)
        return self._connections[key]

    def member(self, region: str) -> openstack.connection.Connection:
        """User demo in project demo: the tenant who asks for syncs."""
        return self.connect("member", region)

    def admin(self, region: str) -> openstack.connection.Connection:
        return self.connect("admin", region)

    def engine_options(self, **values: Any) -> None:
        self.overrides.set("engine", **values)

    def create_keypair(self, region: str, name: str | None = None, public_key: str | None = None) -> str:
        """A keypair of user demo in ``region``; returns its name."""
        name = name or "ks-" + uuid.uuid4().hex[:10]
        self.member(region).compute.create_keypair(name=name, public_key=public_key or new_public_key(), type="ssh")
        return name

    def keypair(self, region: str, name: str) -> Any:
        return self.member(region).compute.get_keypair(name)

    def create_job(self, names: list[str], targets: list[str], force: bool = False, source: str = "RegionOne") -> str:
        entry = jobs.Entry("keypair", names, source, targets, force)
        with transaction(self.db_url) as session:
            job = jobs.create_job(session, self.demo_project_id, self.demo_user_id, [entry])
        return job.id

    def job(self, job_id: str) -> jobs.Job:
        with transaction(self.db_url) as session:
            return jobs.get_job(session, job_id, jobs.Owner(self.demo_project_id, self.demo_user_id))

    def wait_for(self, job_id: str, timeout: float = 30.0) -> jobs.Job:
        """The job once it has ended; fails the test if it has not within ``timeout``."""
        return wait_until(lambda: _ended(self.job(job_id)), timeout, f"job {job_id} still IN_PROGRESS")

    def items_by_target(self, job: jobs.Job) -> dict[str, jobs.Item]:
        return {item.target_region: item for item in job.items}

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()


def _ended(job: jobs.Job) -> jobs.Job | None:
    return job if job.status != "IN_PROGRESS" else None


def wait_until(probe: Callable[[], Any], timeout: float, message: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{message} after {timeout} s")
        time.sleep(interval)


def _env(cloud: SimCloud, tmp_path: Path) -> Iterator[Env]:
    clouds_yaml = tmp_path / "clouds.yaml"
    cloud.write_clouds_yaml(str(clouds_yaml))
    db_url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(db_url)
    overrides = Overrides()
    # keystoneauth registers a plugin's options when it loads the plugin;
    # registering them first lets the test set them without a config file.
    added = register_password_opts()
    for group, values in service_config(cloud.auth_url).items():
        overrides.set(group, **values)
    overrides.set("database", connection=db_url)
    # Quick tests: short retries, frequent polls. Tests that need others set them.
    overrides.set("engine", poll_interval=0.2, retry_backoff=0.1, max_attempts=3, lease_seconds=10)
    regions.reset()
    env = Env(cloud, clouds_yaml, db_url, overrides)
    try:
        yield env
    finally:
        env.close()
        regions.reset()
        overrides.undo()
        CONF.reset()  # options can only be unregistered from an unparsed CONF
        CONF.unregister_opts(added, group="regions")


@pytest.fixture
def env(sim_cloud: SimCloud, tmp_path: Path) -> Iterator[Env]:
    """The shared simulated cloud, a fresh database, kingsync configured for both."""
    yield from _env(sim_cloud, tmp_path)


@pytest.fixture
def fresh_env(fresh_sim: SimCloud, tmp_path: Path) -> Iterator[Env]:
    """As ``env``, on a cloud of this test's own (faults, request counts)."""
    yield from _env(fresh_sim, tmp_path)


@pytest.fixture
def transport() -> Iterator[messaging.RPCTransport]:
    """oslo.messaging's in-process driver, as the all-in-one process uses it."""
    transport = messaging.get_rpc_transport(CONF, url="fake://")
    yield transport
    transport.cleanup()


EngineFactory = Callable[..., contextlib.AbstractContextManager[EngineService]]


@pytest.fixture
def engine(transport: messaging.RPCTransport) -> EngineFactory:
    """``with engine(engine_id="a") as service:`` runs an engine in this process."""

    @contextlib.contextmanager
    def run(engine_id: str = "engine-test", stop_timeout: float = 5.0, **kwargs: Any) -> Iterator[EngineService]:
        service = EngineService(CONF, engine_id=engine_id, transport=transport, stop_timeout=stop_timeout, **kwargs)
        service.start()
        try:
            yield service
        finally:
            service.stop()

    return run
