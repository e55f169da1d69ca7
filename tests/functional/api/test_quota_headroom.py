"""A project's headroom policy (``.../policy``): the deployment's until an
admin gives the project its own."""

from __future__ import annotations

import pytest

from tests.functional.api.conftest import Api, Doorbell, Override, Persona


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


def policy_path(project_id: str) -> str:
    return "/os-quota-sets/%s/policy" % project_id


def test_a_project_follows_the_deployments_policy(api: Api) -> None:
    resp = api.call("GET", policy_path(api.persona.project_id))
    assert resp.status_code == 200
    assert resp.json() == {"headroom_policy": {"name": "even", "floor": None, "source": "deployment"}}


def test_the_deployments_policy_is_the_configured_one(api: Api, override: Override) -> None:
    override("quota", headroom_policy="proportional", proportional_floor=0.3)
    resp = api.call("GET", policy_path(api.persona.project_id))
    assert resp.json() == {"headroom_policy": {"name": "proportional", "floor": 0.3, "source": "deployment"}}


def test_an_admin_gives_a_project_its_own_policy(admin_api: Api, demo: Persona, doorbell: Doorbell) -> None:
    resp = admin_api.call(
        "PUT", policy_path(demo.project_id), json={"headroom_policy": {"name": "proportional", "floor": 0.25}}
    )
    assert resp.status_code == 200, resp.text
    expected = {"headroom_policy": {"name": "proportional", "floor": 0.25, "source": "project"}}
    assert resp.json() == expected
    assert admin_api.call("GET", policy_path(demo.project_id)).json() == expected
    assert doorbell.wait_quota()[1] == demo.project_id
    # The project is managed for it, and the change is in its history.
    regions = admin_api.call("GET", "/os-quota-sets/%s/regions" % demo.project_id).json()
    assert regions["project"]["managed"] is True
    (entry,) = admin_api.call("GET", "/os-quota-sets/%s/audit" % demo.project_id).json()["audit"]
    assert entry["resource"] == "headroom_policy: default -> proportional floor=0.25"


def test_a_proportional_policy_without_a_floor_takes_the_deployments(
    admin_api: Api, demo: Persona, override: Override
) -> None:
    override("quota", proportional_floor=0.15)
    resp = admin_api.call("PUT", policy_path(demo.project_id), json={"headroom_policy": {"name": "proportional"}})
    assert resp.json() == {"headroom_policy": {"name": "proportional", "floor": 0.15, "source": "project"}}


def test_deleting_the_projects_policy_returns_it_to_the_deployments(admin_api: Api, demo: Persona) -> None:
    admin_api.call("PUT", policy_path(demo.project_id), json={"headroom_policy": {"name": "proportional"}})
    resp = admin_api.call("DELETE", policy_path(demo.project_id))
    assert resp.status_code == 200
    assert resp.json() == {"headroom_policy": {"name": "even", "floor": None, "source": "deployment"}}
    again = admin_api.call("DELETE", policy_path(demo.project_id))
    assert again.status_code == 404
    assert again.json()["error"]["type"] == "headroom_policy_not_found"


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ({"name": "greedy"}, 'name must be "even" or "proportional"'),
        ({"name": "even", "floor": 0.2}, "floor applies to the proportional policy only"),
        ({"name": "proportional", "floor": 1.5}, "floor must be a number from 0 to 1"),
        ({"floor": 0.2}, "name must be"),
    ],
)
def test_a_bad_policy_is_400(admin_api: Api, demo: Persona, policy: object, words: str) -> None:
    resp = admin_api.call("PUT", policy_path(demo.project_id), json={"headroom_policy": policy})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["type"] == "invalid_body"
    assert words in resp.json()["error"]["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_member_cannot_change_the_policy(api: Api, method: str) -> None:
    resp = api.call(method, policy_path(api.persona.project_id), json={"headroom_policy": {"name": "even"}})
    assert resp.status_code == 403
