"""python-kingbirdclient, unchanged, against kingsync-api with real Keystone tokens.

Its library is what the ``kingbird sync ...`` commands call; its CLI always
wants a Keystone endpoint of service type ``synchronization``, which is a
deployment matter (doc/api.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kingbirdclient import exceptions
from kingbirdclient.api import client as kingbird

from kingsync.sim import identity
from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import finish_job, issue_token


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


def test_kingbird_cli_creates_and_lists_a_sync_job(keystone_api_url: str, sim_cloud: SimCloud, keypair: str) -> None:
    # The `kingbird` command authenticates at Keystone itself; --os-kingbird-url
    # saves it looking up a "synchronization" endpoint in the catalog.
    kingbird = [
        str(Path(sys.executable).with_name("kingbird")),
        "--os-kingbird-url",
        keystone_api_url + "/v1.0",
        "--os-auth-url",
        sim_cloud.auth_url,
        "--os-username",
        "demo",
        "--os-password",
        identity.DEMO_PASSWORDS["demo"],
        "--os-tenant-name",
        "demo",
        "--os-user-domain-name",
        "Default",
        "--os-project-domain-name",
        "Default",
    ]
    create = [*kingbird, "sync", "create", "--resource_type", "keypair", "--resources", keypair]
    created = subprocess.run(
        [*create, "--source", "RegionOne", "--target", "RegionTwo", "--force", "-f", "value"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    job_id = created.stdout.split()[0]
    listed = subprocess.run([*kingbird, "sync", "list", "-f", "value"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout
