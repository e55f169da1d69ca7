"""keystonemiddleware auth_token in front of the API, validating real tokens
issued by the simulator's Keystone; the token goes no further than that."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests

from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import Doorbell, all_jobs, issue_token

PROJECT_PATH = "/v1.0/%s/os-sync/"


def keypair_body(keypair: str) -> dict[str, object]:
    return {
        "resource_set": {
            "resource_type": "keypair",
            "resources": [keypair],
            "source": "RegionOne",
            "target": ["RegionTwo"],
        }
    }


def test_version_document_needs_no_token(keystone_api_url: str) -> None:
    resp = requests.get(keystone_api_url + "/", timeout=10)
    assert resp.status_code == 200
    assert resp.json()["versions"][0]["id"] == "v1.0"


def test_healthcheck_needs_no_token(keystone_api_url: str) -> None:
    assert requests.get(keystone_api_url + "/healthcheck", timeout=10).status_code == 200


def test_request_without_token_is_401_in_the_same_json_shape(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    token = issue_token(sim_cloud, "demo")
    resp = requests.get(keystone_api_url + PROJECT_PATH % token.project_id, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401
    assert resp.json()["error"]["title"] == "Unauthorized"


def test_invalid_token_is_401(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    token = issue_token(sim_cloud, "demo")
    resp = requests.get(
        keystone_api_url + PROJECT_PATH % token.project_id, headers={"X-Auth-Token": "gAAAAAnot-a-token"}, timeout=10
    )
    assert resp.status_code == 401


def test_identity_headers_sent_by_a_client_are_not_believed(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    demo = issue_token(sim_cloud, "demo")
    demo2 = issue_token(sim_cloud, "demo2")
    # demo's token, demo2's identity headers: the token decides.
    resp = requests.get(
        keystone_api_url + PROJECT_PATH % demo2.project_id,
        headers={"X-Auth-Token": demo.value, "X-Project-Id": demo2.project_id, "X-User-Id": demo2.user_id},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_url"


def test_keystone_token_creates_a_job_for_its_user_and_project(
    keystone_api_url: str, sim_cloud: SimCloud, keypair: str, db_url: str
) -> None:
    token = issue_token(sim_cloud, "demo")
    resp = requests.post(
        keystone_api_url + PROJECT_PATH % token.project_id,
        json=keypair_body(keypair),
        headers={"X-Auth-Token": token.value},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    (job,) = all_jobs(db_url)
    assert (job.user_id, job.project_id) == (token.user_id, token.project_id)


def test_member_of_another_project_cannot_see_the_job(keystone_api_url: str, sim_cloud: SimCloud, keypair: str) -> None:
    demo = issue_token(sim_cloud, "demo")
    demo2 = issue_token(sim_cloud, "demo2")
    created = requests.post(
        keystone_api_url + PROJECT_PATH % demo.project_id,
        json=keypair_body(keypair),
        headers={"X-Auth-Token": demo.value},
        timeout=30,
    ).json()["job_status"]["id"]
    base = keystone_api_url + PROJECT_PATH % demo2.project_id
    headers = {"X-Auth-Token": demo2.value}
    assert requests.get(base + created, headers=headers, timeout=10).status_code == 404
    assert requests.get(base, headers=headers, timeout=10).json() == {"job_set": []}


def test_admin_token_passes_reader_rules_through_implied_roles(keystone_api_url: str, sim_cloud: SimCloud) -> None:
    # admin holds only the admin role on project admin; Keystone adds member and reader.
    token = issue_token(sim_cloud, "admin")
    resp = requests.get(
        keystone_api_url + PROJECT_PATH % token.project_id, headers={"X-Auth-Token": token.value}, timeout=10
    )
    assert resp.status_code == 200


def test_token_is_never_logged_stored_or_sent_over_rpc(
    keystone_api_url: str,
    sim_cloud: SimCloud,
    keypair: str,
    db_url: str,
    doorbell: Doorbell,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = issue_token(sim_cloud, "demo")
    caplog.set_level(logging.DEBUG)
    resp = requests.post(
        keystone_api_url + PROJECT_PATH % token.project_id,
        json=keypair_body(keypair),
        headers={"X-Auth-Token": token.value},
        timeout=30,
    )
    assert resp.status_code == 200
    ctxt, _job_id = doorbell.wait()
    assert token.value not in repr(ctxt)
    assert all(token.value not in record.getMessage() for record in caplog.records)
    assert any("Created sync job" in record.getMessage() for record in caplog.records)
    database = Path(db_url.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the file and its -wal
        assert token.value.encode() not in path.read_bytes()
