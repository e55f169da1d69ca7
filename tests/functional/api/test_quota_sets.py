"""Global limits over real HTTP: Kingbird's ``os-quota-sets`` calls, their
shapes and status codes, and where kingsync fixes Kingbird (0 and -1 are
limits, names beyond Kingbird's 20, JSON errors)."""

from __future__ import annotations

import uuid

import pytest
import requests

from kingsync.quota import resources
from tests.functional.api.conftest import Api, Doorbell, Persona

KINGBIRD_DEFAULTS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "key_pairs": 100,
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "network": 10,
    "subnet": 10,
    "port": 50,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
}


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


def path(target: str, suffix: str = "") -> str:
    return "/os-quota-sets/%s%s" % (target, suffix)


def put_limits(admin_api: Api, target: str, limits: dict[str, object]) -> dict[str, object]:
    resp = admin_api.call("PUT", path(target), json={"quota_set": limits})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def error(resp: requests.Response) -> dict[str, object]:
    found: dict[str, object] = resp.json()["error"]
    return found


# -- show and defaults ---------------------------------------------------------------------------


def test_a_project_without_limits_shows_kingbirds_defaults(api: Api) -> None:
    resp = api.call("GET", path(api.persona.project_id))
    assert resp.status_code == 200
    assert resp.json() == {"quota_set": KINGBIRD_DEFAULTS}


def test_defaults_are_kingbirds_20(api: Api) -> None:
    resp = api.call("GET", "/os-quota-sets/defaults")
    assert resp.status_code == 200
    assert resp.json() == {"quota_set": KINGBIRD_DEFAULTS}
    assert set(KINGBIRD_DEFAULTS) == set(resources.KINGBIRD_NAMES)


def test_show_answers_with_a_trailing_slash_too(api: Api) -> None:
    assert api.call("GET", path(api.persona.project_id) + "/").status_code == 200


# -- update ------------------------------------------------------------------------------------


def test_admin_sets_limits_and_show_has_them_over_the_defaults(admin_api: Api, demo: Persona, api: Api) -> None:
    written = put_limits(admin_api, demo.project_id, {"cores": 40, "ram": -1, "instances": 0})
    assert written == {demo.project_id: {"cores": 40, "ram": -1, "instances": 0}}
    shown = api.call("GET", path(demo.project_id)).json()["quota_set"]
    assert shown == {**KINGBIRD_DEFAULTS, "cores": 40, "ram": -1, "instances": 0}


def test_update_answers_only_what_it_wrote(admin_api: Api, demo: Persona) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    assert put_limits(admin_api, demo.project_id, {"ram": 1024}) == {demo.project_id: {"ram": 1024}}


def test_names_beyond_kingbirds_are_limits_too(admin_api: Api, demo: Persona) -> None:
    limits = {"server_groups": 5, "subnetpool": 2, "volumes_lvmdriver-1": 3, "gigabytes_ssd": 100}
    put_limits(admin_api, demo.project_id, limits)
    shown = admin_api.call("GET", path(demo.project_id)).json()["quota_set"]
    assert shown == {**KINGBIRD_DEFAULTS, **limits}


def test_update_rings_the_engines_for_the_project(admin_api: Api, demo: Persona, doorbell: Doorbell) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    ctxt, project_id = doorbell.wait_quota()
    assert project_id == demo.project_id
    assert ctxt["user_id"] == admin_api.persona.user_id


def test_an_admin_may_name_any_project_in_the_url(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("GET", path(demo.project_id), project_id=demo.project_id)
    assert resp.status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"quota_set": {}}, "Missing quota_set in the body"),
        ({"cores": 10}, "Missing quota_set in the body"),
        ({"quota_set": [1]}, "Missing quota_set in the body"),
        ({"quota_set": {"cores": "10"}}, "'10' is not of type 'integer'"),
        ({"quota_set": {"cores": True}}, "True is not of type 'integer'"),
        ({"quota_set": {"cores": 1.5}}, "1.5 is not of type 'integer'"),
        ({"quota_set": {"cores": 10.0}}, "Invalid quota value for cores"),
        ({"quota_set": {"cores": -2}}, "-2 is less than the minimum of -1"),
        ({"quota_set": {"cores": 2**31}}, "is greater than the maximum of 2147483647"),
        ({"quota_set": {"cores": 10}, "force": True}, "Additional properties are not allowed"),
    ],
)
def test_update_refuses_a_bad_body(admin_api: Api, demo: Persona, body: object, words: str) -> None:
    resp = admin_api.call("PUT", path(demo.project_id), json=body)
    assert resp.status_code == 400, resp.text
    assert error(resp)["type"] == "invalid_body"
    assert words in str(error(resp)["message"])


def test_update_without_a_body_is_400(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("PUT", path(demo.project_id))
    assert resp.status_code == 400
    assert str(error(resp)["message"]).startswith("Body required")


def test_update_names_the_unknown_resources(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("PUT", path(demo.project_id), json={"quota_set": {"cores": 1, "cpus": 2, "disk": 3}})
    assert resp.status_code == 400
    assert error(resp)["type"] == "unknown_quota_resource"
    assert str(error(resp)["message"]).startswith("Invalid quota resource cpus, disk;")
    # Nothing was written: the request is checked whole first.
    assert admin_api.call("GET", path(demo.project_id)).json()["quota_set"]["cores"] == 20


def test_a_member_cannot_set_limits(api: Api) -> None:
    resp = api.call("PUT", path(api.persona.project_id), json={"quota_set": {"cores": 1000}})
    assert resp.status_code == 403
    assert error(resp)["type"] == "forbidden"
    assert str(error(resp)["message"]).startswith("Admin required")


# -- who may read, and the URL ---------------------------------------------------------------------


def test_a_member_reads_the_limits_of_their_own_project(api: Api) -> None:
    assert api.call("GET", path(api.persona.project_id)).status_code == 200


def test_a_member_of_another_project_needs_admin(api: Api, demo2: Persona) -> None:
    resp = api.call("GET", path(demo2.project_id))
    assert resp.status_code == 403
    assert str(error(resp)["message"]).startswith("Admin required")


def test_url_project_other_than_the_tokens_is_400_for_a_non_admin(api: Api, demo2: Persona) -> None:
    resp = api.call("GET", path(api.persona.project_id), project_id=demo2.project_id)
    assert resp.status_code == 400
    assert error(resp)["type"] == "invalid_url"
    assert str(error(resp)["message"]).startswith("Invalid request URL")


@pytest.mark.parametrize("where", ["url project", "target"])
def test_a_project_id_that_is_not_a_uuid_is_400(api: Api, where: str) -> None:
    if where == "target":
        resp = api.call("GET", path("not-a-project"))
    else:
        resp = api.call("GET", path(api.persona.project_id), project_id="not-a-project")
    assert resp.status_code == 400
    assert error(resp)["message"] == "Invalid request URL: 'not-a-project' is not a project id."


# -- delete --------------------------------------------------------------------------------------


def test_delete_without_a_body_deletes_all_the_projects_limits(admin_api: Api, demo: Persona) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40, "ram": 1024})
    resp = admin_api.call("DELETE", path(demo.project_id))
    assert resp.status_code == 200
    assert resp.json() == "Deleted all quota limits for the given project"
    assert admin_api.call("GET", path(demo.project_id)).json() == {"quota_set": KINGBIRD_DEFAULTS}


def test_delete_of_a_project_without_limits_is_404(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("DELETE", path(demo.project_id))
    assert resp.status_code == 404
    assert error(resp)["type"] == "quota_not_found"
    assert str(error(resp)["message"]).startswith("Project quota not found")


def test_delete_with_a_body_deletes_those_limits(admin_api: Api, demo: Persona) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40, "ram": 1024})
    resp = admin_api.call("DELETE", path(demo.project_id), json={"quota_set": ["cores"]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"Deleted quota limits": ["cores"]}
    shown = admin_api.call("GET", path(demo.project_id)).json()["quota_set"]
    assert (shown["cores"], shown["ram"]) == (20, 1024)


def test_delete_of_a_limit_the_project_does_not_have_is_404(admin_api: Api, demo: Persona) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    resp = admin_api.call("DELETE", path(demo.project_id), json={"quota_set": ["cores", "ram"]})
    assert resp.status_code == 404
    assert "ram" in str(error(resp)["message"])
    # All or nothing: cores is still there.
    assert admin_api.call("GET", path(demo.project_id)).json()["quota_set"]["cores"] == 40


@pytest.mark.parametrize(
    ("body", "status", "type_"),
    [
        ({"quota_set": ["cpus"]}, 400, "unknown_quota_resource"),
        ({"quota_set": []}, 400, "invalid_body"),
        ({"quota_set": {"cores": 1}}, 400, "invalid_body"),
        (None, 400, "invalid_body"),  # a JSON null is not "no body": it would delete everything
    ],
)
def test_delete_refuses_a_bad_body(admin_api: Api, demo: Persona, body: object, status: int, type_: str) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    resp = admin_api.call("DELETE", path(demo.project_id), data=b"null" if body is None else None, json=body)
    assert resp.status_code == status, resp.text
    assert error(resp)["type"] == type_
    assert admin_api.call("GET", path(demo.project_id)).json()["quota_set"]["cores"] == 40


def test_a_member_cannot_delete_limits(api: Api, admin_api: Api) -> None:
    put_limits(admin_api, api.persona.project_id, {"cores": 40})
    resp = api.call("DELETE", path(api.persona.project_id))
    assert resp.status_code == 403
    assert str(error(resp)["message"]).startswith("Admin required")


# -- sync ---------------------------------------------------------------------------------------


def test_sync_of_a_managed_project_triggers_a_reconciliation(admin_api: Api, demo: Persona, doorbell: Doorbell) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    doorbell.quota_rings.clear()
    resp = admin_api.call("PUT", path(demo.project_id, "/sync"))
    assert resp.status_code == 200
    assert resp.json() == "triggered quota sync for %s" % demo.project_id
    assert doorbell.wait_quota()[1] == demo.project_id


def test_sync_of_a_project_kingsync_does_not_manage_is_404(admin_api: Api) -> None:
    unmanaged = uuid.uuid4().hex
    resp = admin_api.call("PUT", path(unmanaged, "/sync"))
    assert resp.status_code == 404
    assert error(resp)["type"] == "project_not_managed"
    assert "set global limits for it first" in str(error(resp)["message"])
    assert "manage_all_projects" in str(error(resp)["message"])


def test_any_other_action_is_kingbirds_404(admin_api: Api, demo: Persona) -> None:
    resp = admin_api.call("PUT", path(demo.project_id, "/refresh"))
    assert resp.status_code == 404
    assert str(error(resp)["message"]).startswith("Invalid action, only sync is allowed")


def test_a_member_cannot_sync(api: Api, admin_api: Api) -> None:
    put_limits(admin_api, api.persona.project_id, {"cores": 40})
    resp = api.call("PUT", path(api.persona.project_id, "/sync"))
    assert resp.status_code == 403


# -- the audit history of admin changes -----------------------------------------------------------


def test_updates_and_deletes_are_in_the_audit_history(admin_api: Api, demo: Persona) -> None:
    put_limits(admin_api, demo.project_id, {"cores": 40})
    put_limits(admin_api, demo.project_id, {"cores": 50})
    admin_api.call("DELETE", path(demo.project_id), json={"quota_set": ["cores"]})
    entries = admin_api.call("GET", path(demo.project_id, "/audit")).json()["audit"]
    assert [(e["resource"], e["old"], e["new"]) for e in entries] == [
        ("cores", 50, None),
        ("cores", 40, 50),
        ("cores", None, 40),
    ]
    for entry in entries:
        assert entry["region"] is None  # a global limit
        assert (entry["actor"], entry["reason"]) == (admin_api.persona.user_id, "admin")
        assert entry["request_id"].startswith("req-")
