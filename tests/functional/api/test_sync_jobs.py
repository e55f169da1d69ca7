"""Reading and forgetting sync jobs: list, active, show, delete, with Kingbird's shapes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.functional.api.conftest import Api, Persona, all_jobs, finish_job

KINGBIRD_LIST_FIELDS = {"id", "sync_status", "created_at", "updated_at"}
KINGBIRD_SHOW_FIELDS = {
    "id",
    "resource",
    "resource_type",
    "source_region",
    "target_region",
    "sync_status",
    "created_at",
    "updated_at",
}


def make_job(api: Api, keypair: str, targets: list[str] | None = None) -> str:
    body: dict[str, Any] = {
        "resource_type": "keypair",
        "resources": [keypair],
        "source": "RegionOne",
        "target": targets or ["RegionTwo", "RegionThree"],
    }
    resp = api.create(body)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["job_status"]["id"])


def test_list_shows_the_callers_jobs_in_kingbirds_shape(api: Api, keypair: str) -> None:
    job_id = make_job(api, keypair)
    resp = api.request("GET", "/")
    assert resp.status_code == 200
    (job,) = resp.json()["job_set"]
    assert set(job) == KINGBIRD_LIST_FIELDS
    assert job["id"] == job_id
    assert job["sync_status"] == "IN_PROGRESS"
    assert job["updated_at"] == "None"  # Kingbird's literal for "never updated"


def test_list_without_trailing_slash_is_the_same(api: Api, keypair: str) -> None:
    make_job(api, keypair)
    assert api.request("GET", "").json() == api.request("GET", "/").json()


def test_active_lists_only_jobs_in_progress(api: Api, keypair: str, db_url: str) -> None:
    done = make_job(api, keypair)
    finish_job(db_url, done)
    running = make_job(api, keypair)
    active = api.request("GET", "/active").json()["job_set"]
    assert [job["id"] for job in active] == [running]
    listed = {job["id"]: job["sync_status"] for job in api.request("GET", "/").json()["job_set"]}
    assert listed == {done: "SUCCESS", running: "IN_PROGRESS"}


def test_show_has_kingbirds_item_fields_and_kingsyncs(api: Api, keypair: str) -> None:
    job_id = make_job(api, keypair)
    resp = api.request("GET", "/" + job_id)
    assert resp.status_code == 200
    items = resp.json()["job_set"]
    assert sorted(item["target_region"] for item in items) == ["RegionThree", "RegionTwo"]
    for item in items:
        assert set(item) == KINGBIRD_SHOW_FIELDS | {"result", "error", "target_id", "attempts", "progress"}
        assert (item["resource"], item["resource_type"], item["source_region"]) == (keypair, "keypair", "RegionOne")
        assert (item["sync_status"], item["result"], item["attempts"], item["progress"]) == (
            "IN_PROGRESS",
            None,
            0,
            None,
        )


def test_show_reports_how_items_ended(api: Api, keypair: str, db_url: str) -> None:
    job_id = make_job(api, keypair, targets=["RegionTwo"])
    finish_job(db_url, job_id, result="unchanged")
    (item,) = api.request("GET", "/" + job_id + "/").json()["job_set"]
    assert (item["sync_status"], item["result"], item["target_id"]) == ("SUCCESS", "unchanged", "id-RegionTwo")
    assert item["updated_at"] != "None"


def test_show_unknown_job_is_404(api: Api) -> None:
    resp = api.request("GET", "/6f1c8b8e-0000-4000-8000-000000000000")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "job_not_found"


def test_show_of_another_users_job_in_the_same_project_is_404(api: Api, keypair: str) -> None:
    job_id = make_job(api, keypair)
    colleague = Api(api.url, Persona("another-user-of-demo", api.persona.project_id))
    assert colleague.request("GET", "/" + job_id).status_code == 404
    assert colleague.request("GET", "/").json() == {"job_set": []}


def test_member_of_another_project_cannot_see_the_job(api: Api, demo2: Persona, keypair: str) -> None:
    job_id = make_job(api, keypair)
    other = Api(api.url, demo2)
    assert other.request("GET", "/" + job_id).status_code == 404
    assert other.request("GET", "/").json() == {"job_set": []}
    # Naming the job's project in the URL does not help: it must be the token's.
    assert other.request("GET", "/" + job_id, project_id=api.persona.project_id).status_code == 400


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_job_id_that_is_no_uuid_is_400(api: Api, method: str) -> None:
    resp = api.request(method, "/not-a-job")
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_url"


def test_delete_while_in_progress_is_406(api: Api, keypair: str, db_url: str) -> None:
    job_id = make_job(api, keypair)
    resp = api.request("DELETE", "/" + job_id)
    assert resp.status_code == 406
    assert "action not supported while sync is in progress" in resp.json()["error"]["message"]
    assert [job.id for job in all_jobs(db_url)] == [job_id]


def test_delete_forgets_a_finished_job_with_kingbirds_answer(api: Api, keypair: str, db_url: str) -> None:
    job_id = make_job(api, keypair)
    finish_job(db_url, job_id)
    resp = api.request("DELETE", "/" + job_id)
    assert resp.status_code == 200
    assert resp.json() == "job %s deleted from the database." % job_id
    assert all_jobs(db_url) == []
    assert api.request("GET", "/" + job_id).status_code == 404


def test_delete_unknown_job_is_404(api: Api) -> None:
    assert api.request("DELETE", "/6f1c8b8e-0000-4000-8000-000000000000").status_code == 404


def test_delete_of_another_users_job_is_404(api: Api, demo2: Persona, keypair: str, db_url: str) -> None:
    job_id = make_job(api, keypair)
    finish_job(db_url, job_id)
    assert Api(api.url, demo2).request("DELETE", "/" + job_id).status_code == 404
    assert [job.id for job in all_jobs(db_url)] == [job_id]


def test_put_on_a_job_is_405(api: Api, keypair: str) -> None:
    job_id = make_job(api, keypair)
    resp = api.request("PUT", "/" + job_id, json={})
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET, DELETE"


def test_errors_are_json_with_code_title_message(api: Api) -> None:
    resp = requests.get(api.sync_url("/not-a-job"), headers=api.persona.headers, timeout=10)
    assert resp.headers["Content-Type"] == "application/json"
    error = resp.json()["error"]
    assert error["code"] == 400
    assert error["title"] == "Bad Request"
    assert "not-a-job" in error["message"]
