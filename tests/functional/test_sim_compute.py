"""Simulated Nova: what the conformance suite cannot show against the real
cloud (usage stood in through the control API, persistence, the CLI)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import pytest

from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud

BIN = Path(sys.executable).parent


@pytest.fixture
def clouds_yaml(fresh_sim: SimCloud, tmp_path: Path) -> Path:
    path = tmp_path / "clouds.yaml"
    fresh_sim.write_clouds_yaml(str(path))
    return path


@pytest.fixture
def connect(clouds_yaml: Path) -> Iterator[Any]:
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)])
    opened: list[openstack.connection.Connection] = []

    def make(persona: str = "admin", region: str = "RegionOne") -> openstack.connection.Connection:
        conn = openstack.connection.Connection(
            config=config.get_one(cloud="kingsync-sim-" + persona, region_name=region)
        )
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def _detail(conn: openstack.connection.Connection, project_id: str) -> dict[str, Any]:
    resp = conn.compute.get("/os-quota-sets/%s/detail" % project_id, microversion="2.57")
    assert resp.status_code == 200, resp.text
    quota_set: dict[str, Any] = resp.json()["quota_set"]
    return quota_set


def test_control_api_usage_is_what_nova_reports_in_use(fresh_sim: SimCloud, connect: Any) -> None:
    admin = connect()
    demo = fresh_sim.identity.project_id_by_name("demo")
    assert demo
    SimControl(fresh_sim.auth_url).set_usage("RegionOne", demo, compute={"cores": 6, "ram": 4096, "instances": 3})
    detail = _detail(admin, demo)
    assert detail["cores"] == {"limit": 20, "in_use": 6, "reserved": 0}
    assert detail["ram"]["in_use"] == 4096 and detail["instances"]["in_use"] == 3
    limits = admin.compute.get("/limits?tenant_id=" + demo, microversion="2.57").json()["limits"]["absolute"]
    assert (limits["totalCoresUsed"], limits["totalRAMUsed"], limits["totalInstancesUsed"]) == (6, 4096, 3)
    # Usage is per region.
    assert _detail(connect("admin", "RegionTwo"), demo)["cores"]["in_use"] == 0


def test_limit_below_stood_in_usage_is_refused_unless_forced(fresh_sim: SimCloud, connect: Any) -> None:
    admin = connect()
    demo = fresh_sim.identity.project_id_by_name("demo")
    assert demo
    SimControl(fresh_sim.auth_url).set_usage("RegionOne", demo, compute={"cores": 6})
    path = "/os-quota-sets/" + demo
    refused = admin.compute.put(path, json={"quota_set": {"cores": 5}}, microversion="2.57", raise_exc=False)
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == (
        "Quota limit 5 for cores must be greater than or equal to already used and reserved 6."
    )
    assert admin.compute.put(path, json={"quota_set": {"cores": 6}}, microversion="2.57").status_code == 200
    forced = admin.compute.put(path, json={"quota_set": {"cores": 1, "force": "True"}}, microversion="2.57")
    assert forced.json()["quota_set"]["cores"] == 1
    assert admin.compute.put(path, json={"quota_set": {"cores": -1}}, microversion="2.57").status_code == 200


def test_compute_state_survives_save_and_load(fresh_sim: SimCloud, connect: Any, tmp_path: Path) -> None:
    admin, member = connect(), connect("member")
    admin.compute.create_flavor(name="persisted", id="persisted", ram=256, vcpus=1, disk=1, is_public=False)
    admin.compute.flavor_add_tenant_access("persisted", fresh_sim.identity.project_id_by_name("demo"))
    member.compute.create_keypair(name="persisted")
    member.compute.create_server_group(name="persisted", policy="affinity")
    admin.compute.update_quota_set(fresh_sim.identity.project_id_by_name("demo"), cores=33)
    state_file = tmp_path / "state.json"
    fresh_sim.save(str(state_file))
    reloaded = SimCloud(regions=3, port=0, state_file=str(state_file), data_dir=str(tmp_path / "data"))
    try:
        before = dataclasses.asdict(fresh_sim.regions["RegionOne"].compute)
        assert dataclasses.asdict(reloaded.regions["RegionOne"].compute) == before
        assert before["flavors"]["persisted"]["projects"] and before["keypairs"] and before["server_groups"]
    finally:
        reloaded.stop_thread()


def test_regions_keep_separate_compute_state(connect: Any) -> None:
    one, two = connect("admin", "RegionOne"), connect("admin", "RegionTwo")
    one.compute.create_flavor(name="only-one", id="only-one", ram=256, vcpus=1, disk=1)
    assert one.compute.find_flavor("only-one") is not None
    assert two.compute.find_flavor("only-one") is None


def _cli(clouds_yaml: Path, *args: str, cloud: str = "kingsync-sim-admin") -> str:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds_yaml))
    out = subprocess.run(
        [str(BIN / "openstack"), "--os-cloud", cloud, "--os-region-name", "RegionTwo", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_openstack_cli_manages_flavors_keypairs_and_compute_quotas(clouds_yaml: Path) -> None:
    _cli(
        clouds_yaml,
        "flavor",
        "create",
        "--id",
        "cli-1",
        "--ram",
        "512",
        "--vcpus",
        "1",
        "--disk",
        "1",
        "--private",
        "--property",
        "hw:cpu_policy=dedicated",
        "cli-1",
    )
    _cli(clouds_yaml, "flavor", "set", "--project", "demo", "cli-1")
    assert _cli(clouds_yaml, "flavor", "list", "--all", "-f", "value", "-c", "ID").split() == ["cli-1"]
    assert "'hw:cpu_policy': 'dedicated'" in _cli(
        clouds_yaml, "flavor", "show", "cli-1", "-f", "value", "-c", "properties"
    )
    assert "cli-1" in _cli(clouds_yaml, "flavor", "list", "-f", "value", "-c", "ID", cloud="kingsync-sim-member")
    _cli(clouds_yaml, "keypair", "create", "cli-key", cloud="kingsync-sim-member")
    assert _cli(clouds_yaml, "keypair", "list", "-f", "value", "-c", "Name", cloud="kingsync-sim-member").split() == [
        "cli-key"
    ]
    _cli(clouds_yaml, "quota", "set", "--cores", "40", "demo")
    shown = _cli(clouds_yaml, "quota", "show", "--compute", "demo", "-f", "value")
    assert "cores 40" in shown.splitlines()
