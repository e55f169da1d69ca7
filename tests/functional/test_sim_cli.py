"""``kingsync-sim`` as a user runs it: a process, a clouds.yaml, the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from kingsync.sim.cloud import SimCloud

BIN = Path(sys.executable).parent


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[Path]:
    clouds = tmp_path / "clouds.yaml"
    proc = subprocess.Popen(
        [str(BIN / "kingsync-sim"), "--regions", "3", "--port", "0", "--clouds-yaml", str(clouds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not clouds.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert clouds.exists(), proc.stdout.read() if proc.stdout and proc.poll() is not None else "no clouds.yaml"
        yield clouds
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_clouds_yaml_names_an_admin_and_a_member_cloud(sim_process: Path) -> None:
    clouds = yaml.safe_load(sim_process.read_text())["clouds"]
    admin, member = clouds["kingsync-sim-admin"], clouds["kingsync-sim-member"]
    assert admin["auth"]["username"] == "admin" and admin["auth"]["project_name"] == "admin"
    assert member["auth"]["username"] == "demo" and member["auth"]["project_name"] == "demo"
    assert admin["regions"] == ["RegionOne", "RegionTwo", "RegionThree"]


def _openstack(clouds: Path, cloud: str, region: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))
    return subprocess.run(
        [str(BIN / "openstack"), "--os-cloud", cloud, "--os-region-name", region, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_openstack_cli_lists_flavors_in_region_two(sim_process: Path) -> None:
    made = _openstack(
        sim_process,
        "kingsync-sim-admin",
        "RegionTwo",
        "flavor",
        "create",
        "--ram",
        "512",
        "--vcpus",
        "1",
        "--disk",
        "1",
        "cli-flavor",
    )
    assert made.returncode == 0, made.stderr
    listed = _openstack(sim_process, "kingsync-sim-admin", "RegionTwo", "flavor", "list", "-f", "value", "-c", "Name")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["cli-flavor"]
    elsewhere = _openstack(sim_process, "kingsync-sim-admin", "RegionOne", "flavor", "list", "-f", "value")
    assert elsewhere.returncode == 0 and elsewhere.stdout.strip() == ""


def test_openstack_cli_keypairs_belong_to_the_member(sim_process: Path, tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    pub = tmp_path / "id.pub"
    pub.write_bytes(key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    made = _openstack(
        sim_process, "kingsync-sim-member", "RegionThree", "keypair", "create", "--public-key", str(pub), "cli-key"
    )
    assert made.returncode == 0, made.stderr
    mine = _openstack(sim_process, "kingsync-sim-member", "RegionThree", "keypair", "list", "-f", "json")
    assert [k["Name"] for k in json.loads(mine.stdout)] == ["cli-key"]
    admins = _openstack(sim_process, "kingsync-sim-admin", "RegionThree", "keypair", "list", "-f", "json")
    assert json.loads(admins.stdout) == []


def test_state_file_keeps_projects_across_restarts(tmp_path: Path) -> None:
    state = str(tmp_path / "state.json")
    first = SimCloud(regions=2, port=0, state_file=state).start_in_thread()
    first.identity.create_project("survivor")
    first.stop_thread()
    second = SimCloud(regions=2, port=0, state_file=state).start_in_thread()
    try:
        assert second.identity.project_id_by_name("survivor") is not None
        assert second.identity.user_by_name("demo") is not None
    finally:
        second.stop_thread()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    busy = SimCloud(regions=1, port=0).start_in_thread()
    try:
        port = int(busy.identity_url.rsplit(":", 1)[1].split("/")[0])
        out = subprocess.run(
            [str(BIN / "kingsync-sim"), "--port", str(port)], capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 1
        assert "cannot listen" in out.stderr
    finally:
        busy.stop_thread()
