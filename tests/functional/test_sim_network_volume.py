"""Simulated Neutron and Cinder: what the conformance suite cannot show
against the real cloud (the provider network the simulator starts with,
usage stood in through the control API, persistence, many projects, the
CLI)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import pytest

from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from kingsync.sim.network.groups import Groups

BIN = Path(sys.executable).parent
Conn = openstack.connection.Connection


@pytest.fixture
def clouds_yaml(fresh_sim: SimCloud, tmp_path: Path) -> Path:
    path = tmp_path / "clouds.yaml"
    fresh_sim.write_clouds_yaml(str(path))
    return path


@pytest.fixture
def connect(clouds_yaml: Path) -> Iterator[Any]:
    config = openstack.config.OpenStackConfig(config_files=[str(clouds_yaml)])
    opened: list[Conn] = []

    def make(persona: str = "admin", region: str = "RegionOne") -> Conn:
        conn = Conn(config=config.get_one(cloud="kingsync-sim-" + persona, region_name=region))
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def _demo(sim: SimCloud) -> str:
    project_id = sim.identity.project_id_by_name("demo")
    assert project_id
    return project_id


# -- neutron -------------------------------------------------------------------------------


def test_every_region_starts_with_a_shared_provider_network(fresh_sim: SimCloud, connect: Any) -> None:
    admin_project = fresh_sim.identity.project_id_by_name("admin")
    for region in fresh_sim.regions:
        (network,) = connect("member", region).network.networks()
        assert (network.name, network.is_shared, network.project_id) == ("provider", True, admin_project)
    member = connect("member")
    (network,) = member.network.networks(name="provider")
    port = member.network.create_port(network_id=network.id)
    assert member.network.get_quota(_demo(fresh_sim), details=True).ports["used"] == 1
    member.network.delete_port(port)


def test_control_api_usage_counts_in_neutron_details_and_checks(fresh_sim: SimCloud, connect: Any) -> None:
    admin = connect()
    demo = _demo(fresh_sim)
    SimControl(fresh_sim.auth_url).set_usage("RegionOne", demo, network={"port": 7, "subnet": 3})
    details = admin.network.get_quota(demo, details=True)
    assert details.ports == {"limit": 500, "used": 7, "reserved": 0}
    assert details.subnets["used"] == 3
    refused = admin.network.put(f"/quotas/{demo}", json={"quota": {"port": 6}}, raise_exc=False)
    assert refused.json()["NeutronError"]["message"] == (
        "Quota limit 6 for port must be greater than or equal to already used 7"
    )
    admin.network.update_quota(demo, ports=7)
    network = next(iter(admin.network.networks(name="provider")))
    over = connect("member").network.post("/ports", json={"port": {"network_id": network.id}}, raise_exc=False)
    assert over.status_code == 409
    assert over.json()["NeutronError"]["message"] == "Quota exceeded for resources: ['port']."
    # usage is per region
    assert connect("admin", "RegionTwo").network.get_quota(demo, details=True).ports["used"] == 0


def test_default_groups_are_per_region(fresh_sim: SimCloud, connect: Any) -> None:
    one = {g.id for g in connect("member", "RegionOne").network.security_groups()}
    two = {g.id for g in connect("member", "RegionTwo").network.security_groups()}
    assert len(one) == len(two) == 1 and one != two


def test_listing_the_groups_of_one_project_among_many_stays_fast(fresh_sim: SimCloud, connect: Any) -> None:
    admin = connect()
    state = fresh_sim.regions["RegionOne"].network
    # Stand in 5000 projects' default groups without going through HTTP.
    groups = Groups(state, fresh_sim.regions["RegionOne"])
    for index in range(5000):
        groups.ensure_default("%032x" % index)
    demo = _demo(fresh_sim)
    start = time.monotonic()
    for _ in range(20):
        assert len(list(admin.network.security_groups(project_id=demo))) == 1
        admin.network.get_quota(demo, details=True)
    assert time.monotonic() - start < 2.0


# -- cinder ------------------------------------------------------------------------------------


def test_control_api_usage_counts_in_cinder_usage_and_checks(fresh_sim: SimCloud, connect: Any) -> None:
    admin, member = connect(), connect("member")
    demo = _demo(fresh_sim)
    SimControl(fresh_sim.auth_url).set_usage("RegionOne", demo, volume={"snapshots": 4, "gigabytes": 50})
    quota = admin.block_storage.get_quota_set(demo, usage=True)
    assert (quota.usage["snapshots"], quota.usage["gigabytes"]) == (4, 50)
    admin.block_storage.update_quota_set(demo, gigabytes=60)
    refused = admin.block_storage.put(f"/os-quota-sets/{demo}", json={"quota_set": {"gigabytes": 49}}, raise_exc=False)
    assert refused.status_code == 400
    over = member.block_storage.post("/volumes", json={"volume": {"size": 11}}, raise_exc=False)
    assert over.status_code == 413
    assert "quota is 60G and 50G has been consumed" in over.json()["overLimit"]["message"]


def test_volumes_stay_creating_like_on_the_devcloud(connect: Any) -> None:
    member = connect("member")
    volume = member.block_storage.create_volume(size=1)
    time.sleep(0.2)
    assert member.block_storage.get_volume(volume).status == "creating"
    member.block_storage.delete_volume(volume)


def test_volume_type_ids_are_stable_per_region(fresh_sim: SimCloud, connect: Any, tmp_path: Path) -> None:
    one = next(iter(connect("member", "RegionOne").block_storage.types()))
    two = next(iter(connect("member", "RegionTwo").block_storage.types()))
    assert one.name == two.name == "__DEFAULT__" and one.id != two.id
    reloaded = SimCloud(regions=3, port=0, data_dir=str(tmp_path))
    reloaded.regions["RegionOne"].volume.ensure_default_type("RegionOne")
    assert reloaded.regions["RegionOne"].volume.types["__DEFAULT__"]["id"] == one.id


# -- both --------------------------------------------------------------------------------------


def test_network_and_volume_state_survive_save_and_load(fresh_sim: SimCloud, connect: Any, tmp_path: Path) -> None:
    admin, member = connect(), connect("member")
    demo = _demo(fresh_sim)
    group = member.network.create_security_group(name="persisted")
    member.network.create_security_group_rule(security_group_id=group.id, direction="ingress", protocol="tcp")
    admin.network.update_quota(demo, security_groups=20)
    member.block_storage.create_volume(size=3, name="persisted")
    admin.block_storage.update_quota_set(demo, volumes=4)
    state_file = tmp_path / "state.json"
    fresh_sim.save(str(state_file))
    reloaded = SimCloud(regions=3, port=0, state_file=str(state_file), data_dir=str(tmp_path / "data"))
    for service in ("network", "volume"):
        before = dataclasses.asdict(getattr(fresh_sim.regions["RegionOne"], service))
        assert dataclasses.asdict(getattr(reloaded.regions["RegionOne"], service)) == before
    state = reloaded.regions["RegionOne"].network
    assert state.default_groups[demo] in state.owners
    assert reloaded.regions["RegionOne"].volume.quotas[demo] == {"volumes": 4}


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


def test_openstack_cli_drives_groups_and_quotas(fresh_sim: SimCloud, clouds_yaml: Path) -> None:
    demo = _demo(fresh_sim)
    _cli(clouds_yaml, "security", "group", "create", "cli-group", cloud="kingsync-sim-member")
    _cli(
        clouds_yaml,
        "security",
        "group",
        "rule",
        "create",
        "--protocol",
        "tcp",
        "--dst-port",
        "22",
        "cli-group",
        cloud="kingsync-sim-member",
    )
    listed = _cli(clouds_yaml, "security", "group", "list", "-f", "value", "-c", "Name", cloud="kingsync-sim-member")
    assert set(listed.split()) == {"default", "cli-group"}
    _cli(clouds_yaml, "quota", "set", "--secgroups", "15", "--volumes", "9", demo)
    shown = {
        row["Resource"]: row["Limit"] for row in json.loads(_cli(clouds_yaml, "quota", "show", "-f", "json", demo))
    }
    assert (shown["security_groups"], shown["volumes"], shown["volumes___DEFAULT__"]) == (15, 9, -1)
