"""POST /v1.0/{project_id}/os-sync: jobs are rows first, then the engines are rung;
every rejected request leaves nothing behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pytest

from kingsync.api import app
from kingsync.conf import CONF
from kingsync.rpc import EngineClient
from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from tests.functional.api.conftest import Api, Doorbell, Persona, all_jobs, serve

TARGETS = ["RegionTwo", "RegionThree"]


def single(keypair: str, **extra: Any) -> dict[str, Any]:
    return {"resource_type": "keypair", "resources": [keypair], "source": "RegionOne", "target": TARGETS, **extra}


def test_create_answers_kingbirds_job_status(api: Api, keypair: str) -> None:
    resp = api.create(single(keypair, force="False"))
    assert resp.status_code == 200
    status = resp.json()["job_status"]
    assert set(status) == {"id", "status", "created_at"}
    assert status["status"] == "IN_PROGRESS"


def test_create_writes_one_item_per_keypair_and_target(api: Api, keypair: str, db_url: str) -> None:
    job_id = api.create(single(keypair)).json()["job_status"]["id"]
    (job,) = all_jobs(db_url)
    assert job.id == job_id
    assert (job.project_id, job.user_id) == (api.persona.project_id, api.persona.user_id)
    assert sorted((i.resource, i.source_region, i.target_region) for i in job.items) == [
        (keypair, "RegionOne", "RegionThree"),
        (keypair, "RegionOne", "RegionTwo"),
    ]


def test_create_rings_the_engines_with_ids_and_no_token(api: Api, keypair: str, doorbell: Doorbell) -> None:
    job_id = api.create(single(keypair), headers={"X-Auth-Token": "secret-token-never-forwarded"}).json()["job_status"][
        "id"
    ]
    ctxt, rung_for = doorbell.wait()
    assert rung_for == job_id
    assert ctxt["user_id"] == api.persona.user_id
    assert ctxt["project_id"] == api.persona.project_id
    assert "secret-token-never-forwarded" not in repr(ctxt)


def test_template_form_makes_one_job_for_all_entries(
    api: Api, member_compute: Callable[..., Any], keypair: str, db_url: str, doorbell: Doorbell
) -> None:
    member_compute("RegionTwo").create_keypair(name=keypair + "-b")
    resp = api.create(
        {
            "Sync": [
                single(keypair, target=["RegionTwo"]),
                {
                    "resource_type": "keypair",
                    "resources": [keypair + "-b"],
                    "source": "RegionTwo",
                    "target": ["RegionThree"],
                },
            ]
        }
    )
    assert resp.status_code == 200
    (job,) = all_jobs(db_url)
    assert sorted((i.resource, i.source_region, i.target_region) for i in job.items) == [
        (keypair, "RegionOne", "RegionTwo"),
        (keypair + "-b", "RegionTwo", "RegionThree"),
    ]
    assert doorbell.wait()[1] == job.id


@pytest.mark.parametrize(("force", "stored"), [("True", True), (True, True), ("False", False), (False, False)])
def test_force_takes_kingbirds_strings_and_json_booleans(
    api: Api, keypair: str, db_url: str, force: Any, stored: bool
) -> None:
    assert api.create(single(keypair, force=force)).status_code == 200
    (job,) = all_jobs(db_url)
    assert {item.force for item in job.items} == {stored}


def test_force_defaults_to_false(api: Api, keypair: str, db_url: str) -> None:
    api.create(single(keypair))
    (job,) = all_jobs(db_url)
    assert {item.force for item in job.items} == {False}


def test_source_may_be_a_list_of_regions(
    api: Api, member_compute: Callable[..., Any], keypair: str, db_url: str
) -> None:
    member_compute("RegionTwo").create_keypair(name=keypair)
    assert api.create(single(keypair, source=["RegionOne", "RegionTwo"], target=["RegionThree"])).status_code == 200
    (job,) = all_jobs(db_url)
    assert sorted(i.source_region for i in job.items) == ["RegionOne", "RegionTwo"]


def test_repeated_names_make_one_item(api: Api, keypair: str, db_url: str) -> None:
    api.create(single(keypair, resources=[keypair, keypair], target=["RegionTwo", "RegionTwo"]))
    (job,) = all_jobs(db_url)
    assert len(job.items) == 1


def test_missing_source_keypair_is_404_and_leaves_no_job(
    api: Api, keypair: str, db_url: str, doorbell: Doorbell
) -> None:
    resp = api.create(single(keypair, resources=[keypair, "no-such-keypair"]))
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "resource_not_found"
    assert "no-such-keypair" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []
    assert not doorbell.rung.wait(0.3)


def test_another_users_keypair_is_not_found(api_url: str, demo2: Persona, keypair: str, db_url: str) -> None:
    # The keypair is demo's; demo2 asking for it by name finds none of theirs.
    resp = Api(api_url, demo2).create(single(keypair))
    assert resp.status_code == 404
    assert all_jobs(db_url) == []


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("not JSON", b"{'resource_set': {}}", "not valid JSON"),
    ("empty body", b"", "Body required"),
    ("empty object", {}, "resource_set required"),
    (
        "no target",
        {"resource_set": {"resource_type": "keypair", "resources": ["k"], "source": "RegionOne"}},
        "Target regions required",
    ),
    ("target not a list", {"resource_set": single("k", target="RegionTwo")}, "Target regions required"),
    ("empty target", {"resource_set": single("k", target=[])}, "Target regions required"),
    (
        "no source",
        {"resource_set": {"resource_type": "keypair", "resources": ["k"], "target": TARGETS}},
        "Source region required",
    ),
    ("no resources", {"resource_set": single("k", resources=[])}, "Source resources required"),
    ("bad force", {"resource_set": single("k", force="yes")}, "force must be"),
    ("misspelt property", {"resource_set": single("k", forse=True)}, "'forse' was unexpected"),
    ("empty template", {"resource_set": {"Sync": []}}, "Sync must be"),
    ("bad template entry", {"resource_set": {"Sync": [single("k", target=None)]}}, "resource_set.Sync[0].target"),
]


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_bad_body_is_400_with_a_message_and_no_job(api: Api, db_url: str, body: Any, message: str) -> None:
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    resp = api.request("POST", "/", headers={"Content-Type": "application/json"}, **kwargs)
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_body"
    assert message in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


@pytest.mark.parametrize("where", ["source", "target"])
def test_unknown_region_is_400_naming_it(api: Api, keypair: str, db_url: str, where: str) -> None:
    body = single(keypair, **{where: ["RegionNowhere"] if where == "target" else "RegionNowhere"})
    resp = api.create(body)
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "unknown_region"
    assert "Unknown %s region RegionNowhere" % where in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


def test_unknown_resource_type_is_400_bad_resource_type(api: Api, db_url: str) -> None:
    resp = api.create(single("x", resource_type="volume"))
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "unsupported_resource_type"
    assert "Bad resource_type 'volume'" in resp.json()["error"]["message"]


def test_url_project_other_than_the_tokens_is_400(api: Api, demo2: Persona, keypair: str, db_url: str) -> None:
    resp = api.request("POST", "/", project_id=demo2.project_id, json={"resource_set": single(keypair)})
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_url"
    assert all_jobs(db_url) == []


def test_reader_may_not_create(api_url: str, demo: Persona, keypair: str, db_url: str) -> None:
    reader = Api(api_url, Persona(demo.user_id, demo.project_id, ("reader",)))
    resp = reader.create(single(keypair))
    assert resp.status_code == 403
    assert "kingsync:sync:create" in resp.json()["error"]["message"]
    assert all_jobs(db_url) == []


def test_unreachable_source_region_is_503_and_leaves_no_job(
    api: Api, keypair: str, db_url: str, sim_cloud: SimCloud
) -> None:
    control = SimControl(sim_cloud.auth_url)
    control.set_faults("RegionOne", down=True)
    try:
        resp = api.create(single(keypair))
    finally:
        control.clear_faults("RegionOne")
    assert resp.status_code == 503
    assert resp.json()["error"]["type"] == "region_unavailable"
    assert all_jobs(db_url) == []


def test_failed_doorbell_still_creates_the_job(
    api: Api, keypair: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: EngineClient, ctxt: Any, job_id: str) -> None:
        raise messaging.MessageDeliveryFailure("broker down")

    monkeypatch.setattr(EngineClient, "sync_items_ready", broken)
    resp = api.create(single(keypair))
    assert resp.status_code == 200
    assert [job.id for job in all_jobs(db_url)] == [resp.json()["job_status"]["id"]]


def test_unreachable_broker_does_not_hold_up_the_request(
    configured: None, demo: Persona, keypair: str, db_url: str
) -> None:
    # Nothing listens on port 9: the cast fails after CAST_RETRIES, the job stands.
    transport = messaging.get_rpc_transport(CONF, url="rabbit://guest:guest@127.0.0.1:9/")
    url, stop = serve(app.create_app(CONF, transport=transport))
    try:
        started = time.monotonic()
        resp = Api(url, demo).create(single(keypair))
        elapsed = time.monotonic() - started
    finally:
        stop()
        transport.cleanup()
    assert resp.status_code == 200
    assert [job.id for job in all_jobs(db_url)] == [resp.json()["job_status"]["id"]]
    assert elapsed < 20
