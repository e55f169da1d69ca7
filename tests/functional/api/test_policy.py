"""The policy defaults, persona by persona (roles as Keystone puts them in a token,
implied roles included), and the sample policy generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import oslo_messaging as messaging
import pytest

from kingsync.api import app
from kingsync.conf import CONF
from tests.functional.api.conftest import Api, Override, Persona, serve
from tests.functional.api.test_sync_jobs import make_job

PERSONAS = {
    "admin": ("admin", "member", "reader"),
    "member": ("member", "reader"),
    "reader": ("reader",),
    "no role": (),
}
ALLOWED = {
    "admin": {"list", "active", "show", "create", "delete"},
    "member": {"list", "active", "show", "create", "delete"},
    "reader": {"list", "active", "show"},
    "no role": set(),
}
OPERATIONS = ["list", "active", "show", "create", "delete"]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("persona", list(PERSONAS))
def test_persona_matrix(api: Api, keypair: str, persona: str, operation: str) -> None:
    job_id = make_job(api, keypair)  # demo's job, in progress
    who = Api(api.url, Persona(api.persona.user_id, api.persona.project_id, PERSONAS[persona]))
    body = {"resource_type": "keypair", "resources": [keypair], "source": "RegionOne", "target": ["RegionTwo"]}
    resp = {
        "list": lambda: who.request("GET", "/"),
        "active": lambda: who.request("GET", "/active"),
        "show": lambda: who.request("GET", "/" + job_id),
        "create": lambda: who.create(body),
        "delete": lambda: who.request("DELETE", "/" + job_id),
    }[operation]()
    if operation in ALLOWED[persona]:
        assert resp.status_code == (406 if operation == "delete" else 200), resp.text
    else:
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["type"] == "forbidden"


KIND_ALLOWED = {
    "admin": {"flavor", "security_group", "keypair", "all_projects"},
    "member": {"security_group", "keypair"},
    "reader": set(),
    "no role": set(),
}


@pytest.mark.parametrize("what", ["flavor", "security_group", "keypair", "all_projects"])
@pytest.mark.parametrize("persona", list(PERSONAS))
def test_persona_matrix_of_kinds_and_the_admin_view(api: Api, persona: str, what: str) -> None:
    """Past the policy, a request may still fail (these resources do not exist: 404); never with 403."""
    who = Api(api.url, Persona(api.persona.user_id, api.persona.project_id, PERSONAS[persona]))
    if what == "all_projects":
        resp = who.request("GET", "/", params={"all_projects": "true"})
    else:
        resp = who.create(
            {"resource_type": what, "resources": ["nothing"], "source": "RegionOne", "target": ["RegionTwo"]}
        )
    if what in KIND_ALLOWED[persona]:
        assert resp.status_code in (200, 404), resp.text
    else:
        assert resp.status_code == 403, resp.text
        assert resp.json()["error"]["type"] == "forbidden"


def test_roles_are_read_as_a_list_not_one_string(api: Api, keypair: str) -> None:
    # Kingbird's admin check compared X-Role with "admin" and failed for "admin,member".
    who = Api(api.url, Persona(api.persona.user_id, api.persona.project_id, ("admin", "member")))
    body = {"resource_type": "keypair", "resources": [keypair], "source": "RegionOne", "target": ["RegionTwo"]}
    assert who.create(body).status_code == 200


def test_policy_file_overrides_a_default(
    configured: None,
    transport: messaging.Transport,
    override: Override,
    demo: Persona,
    tmp_path: Path,
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"kingsync:sync:list": "!"\n')
    override("oslo_policy", policy_file=str(policy_file))
    url, stop = serve(app.create_app(CONF, transport=transport))
    try:
        assert Api(url, demo).request("GET", "/").status_code == 403
    finally:
        stop()


def test_sample_policy_generator_lists_every_rule() -> None:
    generator = Path(sys.executable).with_name("oslopolicy-sample-generator")
    out = subprocess.run(
        [str(generator), "--namespace", "kingsync"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for rule in ("kingsync:sync:list", "kingsync:sync:show", "kingsync:sync:create", "kingsync:sync:delete"):
        assert '#"%s": "rule:project_' % rule in out
    assert '#"project_member": "role:member and project_id:%(project_id)s"' in out
