"""The quota policy defaults, persona by persona: every role against every
quota operation, in the caller's own project and in another one."""

from __future__ import annotations

import pytest

from tests.functional.api.conftest import Api, Persona
from tests.functional.api.test_policy import PERSONAS

SETS = "/os-quota-sets/%s"
# operation -> (method, path under /v1.0/{project}, body, status when allowed)
OPERATIONS: dict[str, tuple[str, str, object, int]] = {
    "show": ("GET", SETS, None, 200),
    "detail": ("GET", SETS + "/detail", None, 200),
    "defaults": ("GET", "/os-quota-sets/defaults", None, 200),
    "update": ("PUT", SETS, {"quota_set": {"cores": 30}}, 200),
    "delete": ("DELETE", SETS, None, 404),  # nothing to delete: allowed, then not found
    "sync": ("PUT", SETS + "/sync", None, 404),  # not managed: allowed, then not found
    "dry_run": ("POST", SETS + "/dry-run", {"quota_set": {"cores": 30}}, 200),
    "regions": ("GET", SETS + "/regions", None, 200),
    "audit": ("GET", SETS + "/audit", None, 200),
    "region_setting:show": ("GET", SETS + "/regions/RegionOne", None, 200),
    "region_setting:update": ("PUT", SETS + "/regions/RegionOne", {"region_setting": {"excluded": True}}, 200),
    "region_setting:delete": ("DELETE", SETS + "/regions/RegionOne", None, 404),
    "headroom_policy:show": ("GET", SETS + "/policy", None, 200),
    "headroom_policy:update": ("PUT", SETS + "/policy", {"headroom_policy": {"name": "even"}}, 200),
    "headroom_policy:delete": ("DELETE", SETS + "/policy", None, 404),
    "quota_class:show": ("GET", "/os-quota-class-sets/gold", None, 200),
    "quota_class:update": ("PUT", "/os-quota-class-sets/gold", {"quota_class_set": {"cores": 30}}, 200),
    "quota_class:delete": ("DELETE", "/os-quota-class-sets/gold", None, 404),
}
READS = {op for op, (method, *_rest) in OPERATIONS.items() if method == "GET"}
ALLOWED = {
    "admin": set(OPERATIONS),
    "member": READS,
    "reader": READS,
    "no role": set(),
}


def call(api: Api, operation: str, target: str) -> tuple[int, str]:
    method, path, body, _ = OPERATIONS[operation]
    resp = api.call(method, path % target if "%s" in path else path, json=body)
    return resp.status_code, resp.text


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("persona", list(PERSONAS))
def test_persona_matrix_in_the_callers_own_project(api: Api, persona: str, operation: str) -> None:
    who = Api(api.url, Persona(api.persona.user_id, api.persona.project_id, PERSONAS[persona]))
    status, text = call(who, operation, api.persona.project_id)
    if operation in ALLOWED[persona]:
        assert status == OPERATIONS[operation][3], text
    else:
        assert status == 403, text


@pytest.mark.parametrize("operation", sorted(READS - {"defaults", "quota_class:show"}))
@pytest.mark.parametrize("persona", ["member", "reader"])
def test_a_project_reader_reads_nothing_of_another_project(
    api: Api, demo2: Persona, persona: str, operation: str
) -> None:
    who = Api(api.url, Persona(api.persona.user_id, api.persona.project_id, PERSONAS[persona]))
    status, text = call(who, operation, demo2.project_id)
    assert status == 403, text
    assert "Admin required" in text


@pytest.mark.parametrize("operation", sorted(READS))
def test_an_admin_reads_any_project(api: Api, admin: Persona, demo2: Persona, operation: str) -> None:
    status, text = call(Api(api.url, admin), operation, demo2.project_id)
    assert status == 200, text
