"""Keypair sync end to end, as an operator deploys kingsync and a tenant uses it.

Every scenario runs in four set-ups: two deployments times two clouds.

- ``embedded``: ``kingsync all-in-one`` (one process, SQLite, in-process messaging);
- ``split``: ``kingsync-api`` and ``kingsync-engine`` as separate processes
  over RabbitMQ and PostgreSQL, the schema made by ``kingsync-manage db sync``;
- ``sim``: the simulated regions; ``real``: the devcloud's real keystone and nova.

kingsync checks tenants' tokens with keystonemiddleware and acts in the
regions with its own service user, exactly as in production.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openstack.connection
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.conformance.conftest import TargetCloud, own_target
from tests.services.fixtures import RABBIT, RUN_ID, new_database

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TARGETS = ["RegionTwo", "RegionThree"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


# -- the clouds ------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sim", "real"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    yield from own_target(request.param, tmp_path_factory, seed=7)


# -- the deployments ---------------------------------------------------------------------


def _config(path: Path, auth_url: str, port: int, database: str, transport: str | None, log: Path) -> Path:
    service_user = (
        f"auth_type = password\nauth_url = {auth_url}\nusername = kingsync\npassword = service-secret\n"
        "project_name = service\nuser_domain_name = Default\nproject_domain_name = Default\n"
    )
    messaging = f"transport_url = {transport}\ncontrol_exchange = kingsync_e2e_{RUN_ID}\n" if transport else ""
    path.write_text(
        f"[DEFAULT]\n{messaging}log_file = {log}\ndebug = true\n\n"
        f"[api]\nbind_port = {port}\n\n"
        f"[database]\nconnection = {database}\n\n"
        "[engine]\npoll_interval = 1\nretry_backoff = 0.2\nmax_attempts = 2\n\n"
        f"[regions]\n{service_user}\n"
        f"[keystone_authtoken]\nwww_authenticate_uri = {auth_url}\n{service_user}"
    )
    return path


class Deployment:
    def __init__(self, mode: str, url: str, processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
        self.mode = mode
        self.url = url
        self.processes = processes
        self.logs = logs

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise AssertionError(f"{self.mode}: a kingsync process exited; logs: {self.tail()}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(self.url + "/", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.mode}: API did not answer; logs: {self.tail()}")

    def tail(self) -> str:
        return "\n".join(log.read_text()[-3000:] for log in self.logs if log.exists())

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module", params=["embedded", "split"])
def deployment(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    work = tmp_path_factory.mktemp(f"{request.param}-{target.kind}")
    port = _free_port()
    with contextlib.ExitStack() as stack:
        if request.param == "embedded":
            log = work / "kingsync.log"
            conf = _config(work / "kingsync.conf", target.auth_url, port, f"sqlite:///{work}/ks.sqlite", None, log)
            processes = [subprocess.Popen([str(BIN / "kingsync"), "all-in-one", "--config-file", str(conf)])]
            logs = [log]
        else:
            postgresql = request.getfixturevalue("postgresql_server")
            rabbit = request.getfixturevalue("rabbit_url")
            database = stack.enter_context(new_database(postgresql, f"e2e_{target.kind}"))
            logs = [work / "api.log", work / "engine.log"]
            confs = [
                _config(work / f"{name}.conf", target.auth_url, port, database, rabbit, log)
                for name, log in zip(("api", "engine"), logs, strict=True)
            ]
            subprocess.run([str(BIN / "kingsync-manage"), "--config-file", str(confs[0]), "db", "sync"], check=True)
            processes = [
                subprocess.Popen([str(BIN / "kingsync-api"), "--config-file", str(confs[0])]),
                subprocess.Popen([str(BIN / "kingsync-engine"), "--config-file", str(confs[1])]),
            ]
        deployed = Deployment(request.param, f"http://127.0.0.1:{port}", processes, logs)
        stack.callback(deployed.stop)
        deployed.wait_ready()
        yield deployed


# -- a tenant's view -------------------------------------------------------------------------


class Tenant:
    """A member of a project, talking to kingsync with a Keystone token."""

    def __init__(self, conn: openstack.connection.Connection, api: str) -> None:
        self.conn = conn
        self.project_id = str(conn.current_project_id)
        self.user_id = str(conn.current_user_id)
        self.api = f"{api}/v1.0/{self.project_id}/os-sync"

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.conn.session.get_token(), "Content-Type": "application/json"}

    def sync(self, name: str, targets: list[str], force: bool = False) -> str:
        body = {
            "resource_set": {
                "resource_type": "keypair",
                "resources": [name],
                "source": "RegionOne",
                "target": targets,
                "force": str(force),
            }
        }
        resp = requests.post(self.api, json=body, headers=self.headers(), timeout=30)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["job_status"]["id"])

    def wait(self, job_id: str) -> tuple[str, list[dict[str, Any]]]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = requests.get(self.api, headers=self.headers(), timeout=30).json()["job_set"]
            status = next(j["sync_status"] for j in jobs if j["id"] == job_id)
            if status != "IN_PROGRESS":
                items = requests.get(f"{self.api}/{job_id}", headers=self.headers(), timeout=30).json()
                return status, items["job_set"]
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} still IN_PROGRESS after 60 s")


@pytest.fixture
def tenant(target: TargetCloud, deployment: Deployment) -> Tenant:
    return Tenant(target.member(), deployment.url)


@pytest.fixture
def keypair(target: TargetCloud, tenant: Tenant) -> Iterator[tuple[str, str]]:
    """A keypair of the tenant's in RegionOne only; removed from every region afterwards."""
    name = "ks-e2e-" + uuid.uuid4().hex[:8]
    made = target.member("RegionOne").compute.create_keypair(name=name, public_key=_public_key())
    yield name, str(made.fingerprint)
    for region in target.regions:
        target.member(region).compute.delete_keypair(name, ignore_missing=True)


def _fingerprint(target: TargetCloud, region: str, name: str) -> str | None:
    found = target.member(region).compute.find_keypair(name, ignore_missing=True)
    return None if found is None else str(found.fingerprint)


def _results(items: list[dict[str, Any]]) -> dict[str, str]:
    return {item["target_region"]: item["result"] for item in items}


# -- scenarios -------------------------------------------------------------------------------


def test_keypair_reaches_every_target_region(target: TargetCloud, tenant: Tenant, keypair: tuple[str, str]) -> None:
    name, fingerprint = keypair
    status, items = tenant.wait(tenant.sync(name, TARGETS))
    assert status == "SUCCESS"
    assert _results(items) == {"RegionTwo": "created", "RegionThree": "created"}
    for region in TARGETS:
        assert _fingerprint(target, region, name) == fingerprint


def test_syncing_again_changes_nothing(target: TargetCloud, tenant: Tenant, keypair: tuple[str, str]) -> None:
    name, _ = keypair
    assert tenant.wait(tenant.sync(name, TARGETS))[0] == "SUCCESS"
    status, items = tenant.wait(tenant.sync(name, TARGETS))
    assert status == "SUCCESS"
    assert _results(items) == {"RegionTwo": "unchanged", "RegionThree": "unchanged"}


def test_a_different_keypair_is_a_conflict_until_forced(
    target: TargetCloud, tenant: Tenant, keypair: tuple[str, str]
) -> None:
    name, fingerprint = keypair
    other = target.member("RegionTwo").compute.create_keypair(name=name, public_key=_public_key())
    status, items = tenant.wait(tenant.sync(name, TARGETS))
    assert status == "FAILURE"
    assert _results(items) == {"RegionTwo": "conflict", "RegionThree": "created"}
    assert _fingerprint(target, "RegionTwo", name) == other.fingerprint
    status, items = tenant.wait(tenant.sync(name, TARGETS, force=True))
    assert status == "SUCCESS"
    assert _results(items) == {"RegionTwo": "replaced", "RegionThree": "unchanged"}
    assert _fingerprint(target, "RegionTwo", name) == fingerprint


def test_a_member_of_another_project_cannot_see_the_job(
    target: TargetCloud, deployment: Deployment, tenant: Tenant, keypair: tuple[str, str]
) -> None:
    job_id = tenant.sync(keypair[0], TARGETS)
    tenant.wait(job_id)
    stranger = Tenant(target.member2(), deployment.url)
    assert requests.get(f"{stranger.api}/{job_id}", headers=stranger.headers(), timeout=30).status_code == 404
    listed = requests.get(stranger.api, headers=stranger.headers(), timeout=30).json()["job_set"]
    assert job_id not in {job["id"] for job in listed}
    # Their token in the tenant's project URL is refused outright.
    assert requests.get(tenant.api, headers=stranger.headers(), timeout=30).status_code == 400


def test_only_the_split_deployment_talks_to_a_broker(deployment: Deployment) -> None:
    """kingsync all-in-one without a transport_url uses oslo.messaging's
    in-process driver and opens no connection to RabbitMQ; the split
    deployment's engine listens on its broker for the doorbell."""
    broker = urlsplit(RABBIT).port or 5672
    engine = deployment.processes[-1].pid  # all-in-one's one process, or kingsync-engine
    assert (broker in _remote_ports(engine)) == (deployment.mode == "split")


def _remote_ports(pid: int) -> set[int]:
    """The remote TCP ports of a process's connections (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == "01":  # ESTABLISHED
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports
