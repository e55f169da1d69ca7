"""python-kingbirdclient, unchanged, against kingsync-api with real Keystone tokens.

Its library is what the ``kingbird sync``, ``quota`` and ``quota-class``
commands call; its CLI always wants a Keystone endpoint of service type
``synchronization``, which is a deployment matter (doc/api.md)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import pytest
from kingbirdclient import exceptions
from kingbirdclient.api import client as kingbird

from kingsync.sim import identity
from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import all_jobs, finish_job, issue_token


@pytest.fixture
def sync_manager(keystone_api_url: str, sim_cloud: SimCloud) -> Any:
    token = issue_token(sim_cloud, "demo")
    return kingbird.client(
        kingbird_url=keystone_api_url + "/v1.0", auth_token=token.value, project_id=token.project_id
    ).sync_manager


def test_sync_create_returns_the_job(sync_manager: Any, keypair: str) -> None:
    # What `kingbird sync create --force ...` sends: force as the string "True".
    (job,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo"], force="True"
    )
    assert job.status == "IN_PROGRESS"
    assert job.id and job.created_at


def test_sync_template_returns_the_job(sync_manager: Any, keypair: str) -> None:
    # What `kingbird sync template FILE` sends: the file's {"Sync": [...]}.
    entry = {"resource_type": "keypair", "resources": [keypair], "source": "RegionOne", "target": ["RegionThree"]}
    (job,) = sync_manager.sync_resources(Sync=[entry])
    assert job.status == "IN_PROGRESS"


def test_sync_list_and_active(sync_manager: Any, keypair: str, db_url: str) -> None:
    (done,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo"], force="False"
    )
    finish_job(db_url, done.id)
    (running,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo"], force="False"
    )
    assert {job.id: job.status for job in sync_manager.list_sync_jobs()} == {
        done.id: "SUCCESS",
        running.id: "IN_PROGRESS",
    }
    assert [job.id for job in sync_manager.list_sync_jobs("active")] == [running.id]


def test_sync_show_lists_the_items(sync_manager: Any, keypair: str) -> None:
    (job,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo", "RegionThree"]
    )
    items = sync_manager.sync_job_detail(job.id)
    assert sorted(item.target_region for item in items) == ["RegionThree", "RegionTwo"]
    assert {(item.resource_name, item.resource_type, item.source_region) for item in items} == {
        (keypair, "keypair", "RegionOne")
    }


def test_sync_delete_of_a_finished_job(sync_manager: Any, keypair: str, db_url: str) -> None:
    (job,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo"]
    )
    finish_job(db_url, job.id)
    sync_manager.delete_sync_job(job.id)
    assert sync_manager.list_sync_jobs() == []


def test_client_errors_carry_kingsyncs_message(sync_manager: Any, keypair: str) -> None:
    (job,) = sync_manager.sync_resources(
        resource_type="keypair", resources=[keypair], source="RegionOne", target=["RegionTwo"]
    )
    with pytest.raises(exceptions.APIException) as raised:
        sync_manager.delete_sync_job(job.id)
    assert raised.value.error_code == 406
    # The client shows the raw body: the message must be readable in it.
    assert b"action not supported while sync is in progress" in raised.value.error_message


def test_client_sees_404_for_a_missing_keypair(sync_manager: Any) -> None:
    with pytest.raises(exceptions.APIException) as raised:
        sync_manager.sync_resources(
            resource_type="keypair", resources=["no-such-keypair"], source="RegionOne", target=["RegionTwo"]
        )
    assert raised.value.error_code == 404
    assert b"no-such-keypair" in raised.value.error_message


def kingbird_cli(api_url: str, cloud: SimCloud, user: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The `kingbird` command as ``user``: it authenticates at Keystone itself;
    --os-kingbird-url saves it looking up a "synchronization" endpoint in the catalog."""
    command = [
        str(Path(sys.executable).with_name("kingbird")),
        "--os-kingbird-url",
        api_url + "/v1.0",
        "--os-auth-url",
        cloud.auth_url,
        "--os-username",
        user,
        "--os-password",
        identity.DEMO_PASSWORDS[user],
        "--os-tenant-name",
        user,
        "--os-user-domain-name",
        "Default",
        "--os-project-domain-name",
        "Default",
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    return run


def test_kingbird_cli_creates_and_lists_a_sync_job(keystone_api_url: str, sim_cloud: SimCloud, keypair: str) -> None:
    cli = kingbird_cli(keystone_api_url, sim_cloud, "demo")
    create = ["sync", "create", "--resource_type", "keypair", "--resources", keypair]
    created = cli(*create, "--source", "RegionOne", "--target", "RegionTwo", "--force", "-f", "value")
    job_id = created.stdout.split()[0]
    assert job_id in cli("sync", "list", "-f", "value").stdout


@pytest.fixture
def flavor(sim_cloud: SimCloud, tmp_path: Path) -> Any:
    """A flavor in RegionOne, made by the simulator's admin."""
    path = tmp_path / "clouds.yaml"
    sim_cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud="kingsync-sim-admin", region_name="RegionOne"))
    made = conn.compute.create_flavor(name="kb-" + uuid.uuid4().hex[:8], ram=256, vcpus=1, disk=1)
    yield made.name
    conn.compute.delete_flavor(made.id, ignore_missing=True)
    conn.close()


def test_kingbird_cli_syncs_a_flavor_as_an_admin(
    keystone_api_url: str, sim_cloud: SimCloud, flavor: str, db_url: str
) -> None:
    admin = kingbird_cli(keystone_api_url, sim_cloud, "admin")
    create = ["sync", "create", "--resource_type", "flavor", "--resources", flavor]
    created = admin(*create, "--source", "RegionOne", "--target", "RegionTwo", "--target", "RegionThree", "-f", "value")
    job_id = created.stdout.split()[0]
    (job,) = all_jobs(db_url)
    assert job.id == job_id
    assert sorted((item.resource_type, item.resource, item.target_region) for item in job.items) == [
        ("flavor", flavor, "RegionThree"),
        ("flavor", flavor, "RegionTwo"),
    ]
    shown = admin("sync", "show", job_id, "-f", "value").stdout
    assert shown.count(flavor) == 2


def test_kingbird_library_refuses_a_members_flavor_sync_with_403(sync_manager: Any, flavor: str) -> None:
    with pytest.raises(exceptions.APIException) as raised:
        sync_manager.sync_resources(
            resource_type="flavor", resources=[flavor], source="RegionOne", target=["RegionTwo"]
        )
    assert raised.value.error_code == 403


# -- quotas -------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(keystone_api_url: str, sim_cloud: SimCloud) -> Any:
    token = issue_token(sim_cloud, "admin")
    return kingbird.client(kingbird_url=keystone_api_url + "/v1.0", auth_token=token.value, project_id=token.project_id)


@pytest.fixture
def demo_client(keystone_api_url: str, sim_cloud: SimCloud) -> Any:
    token = issue_token(sim_cloud, "demo")
    return kingbird.client(kingbird_url=keystone_api_url + "/v1.0", auth_token=token.value, project_id=token.project_id)


def rows(quotas: list[Any]) -> dict[str, Any]:
    """What the client's commands print: one (Quota, Limit) row per entry."""
    return {quota._data: quota._Limit for quota in quotas}


def test_quota_update_show_and_delete_through_the_library(admin_client: Any, demo_client: Any) -> None:
    demo = demo_client.http_client.project_id
    manager = admin_client.quota_manager
    # What `kingbird quota update` sends: ints, 0 and -1 included.
    assert rows(manager.update_global_limits(demo, cores=40, ram=-1, floatingip=0)) == {
        "cores": 40,
        "ram": -1,
        "floatingip": 0,
    }
    shown = rows(manager.global_limits(demo))
    assert (len(shown), shown["cores"], shown["ram"], shown["instances"]) == (20, 40, -1, 10)
    # A member sees their own project's limits (no target: the client asks for its own).
    assert rows(demo_client.quota_manager.global_limits())["cores"] == 40
    manager.sync_quota(demo)
    manager.delete_quota(demo)
    assert rows(manager.global_limits(demo))["cores"] == 20


def test_quota_defaults_through_the_library(demo_client: Any) -> None:
    defaults = rows(demo_client.quota_manager.list_defaults())
    assert (len(defaults), defaults["cores"], defaults["ram"]) == (20, 20, 51200)


def test_quota_detail_through_the_library(admin_client: Any, demo_client: Any) -> None:
    demo = demo_client.http_client.project_id
    admin_client.quota_manager.update_global_limits(demo, cores=40)
    detail = {row._data: (row._Usage, row._Limit) for row in admin_client.quota_manager.quota_detail(demo)}
    assert detail["cores"][1] == 40
    assert all(isinstance(usage, int) for usage, _limit in detail.values())


def test_a_member_cannot_update_quotas_through_the_library(demo_client: Any) -> None:
    demo = demo_client.http_client.project_id
    with pytest.raises(exceptions.APIException) as raised:
        demo_client.quota_manager.update_global_limits(demo, cores=1000)
    assert raised.value.error_code == 403
    assert b"Admin required" in raised.value.error_message


def test_quota_class_update_show_and_delete_through_the_library(admin_client: Any) -> None:
    manager = admin_client.quota_class_manager
    updated = rows(manager.quota_class_update("gold", cores=64))
    # Kingbird's shape: class_name comes out as one more row.
    assert (updated["cores"], updated["class_name"], updated["ram"]) == (64, "gold", 51200)
    assert rows(manager.list_quota_class("gold"))["cores"] == 64
    manager.delete_quota_class("gold")
    assert rows(manager.list_quota_class("gold"))["cores"] == 20


def test_kingbird_cli_quota_commands(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    admin = kingbird_cli(keystone_api_url, sim_cloud, "admin")
    demo = issue_token(sim_cloud, "demo").project_id
    updated = admin("quota", "update", demo, "--cores", "40", "--ram", "-1", "-f", "value")
    assert sorted(updated.stdout.splitlines()) == ["cores 40", "ram -1"]
    assert "cores 40" in admin("quota", "show", "--tenant", demo, "-f", "value").stdout.splitlines()
    assert "cores 20" in admin("quota", "defaults", "-f", "value").stdout.splitlines()
    detail = admin("quota", "detail", "--tenant", demo, "-f", "value").stdout.splitlines()
    assert any(line.startswith("cores ") and line.endswith(" 40") for line in detail), detail
    synced = admin("quota", "sync", demo)
    assert "Request to sync quota for tenant %s has been triggered." % demo in synced.stdout
    deleted = admin("quota", "delete", demo)
    assert "Request to delete quotas for tenant %s has been accepted." % demo in deleted.stdout
    assert "cores 20" in admin("quota", "show", "--tenant", demo, "-f", "value").stdout.splitlines()


def test_kingbird_cli_quota_class_commands(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    admin = kingbird_cli(keystone_api_url, sim_cloud, "admin")
    updated = admin("quota-class", "update", "gold", "--cores", "64", "-f", "value").stdout.splitlines()
    assert "cores 64" in updated
    assert "class_name gold" in updated
    assert "cores 64" in admin("quota-class", "show", "gold", "-f", "value").stdout.splitlines()
    deleted = admin("quota-class", "delete", "gold")
    assert "Request to delete gold quota_class has been accepted." in deleted.stdout
