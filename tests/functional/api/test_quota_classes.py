"""Quota classes over real HTTP, as Kingbird's ``os-quota-class-sets``; the
``default`` class is the defaults, for the API and the engine alike."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from kingsync.db import session
from kingsync.db.models import QuotaAudit
from tests.functional.api.conftest import Api, Persona
from tests.functional.api.test_quota_sets import KINGBIRD_DEFAULTS


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


def put_class(admin_api: Api, name: str, limits: dict[str, object]) -> requests.Response:
    return admin_api.call("PUT", "/os-quota-class-sets/" + name, json={"quota_class_set": limits})


def test_any_class_shows_the_defaults_and_its_name(api: Api) -> None:
    resp = api.call("GET", "/os-quota-class-sets/gold")
    assert resp.status_code == 200
    assert resp.json() == {"quota_class_set": {**KINGBIRD_DEFAULTS, "class_name": "gold"}}


def test_a_class_shows_its_own_values_over_the_defaults(admin_api: Api, api: Api) -> None:
    resp = put_class(admin_api, "gold", {"cores": 200, "server_groups": 20})
    assert resp.status_code == 200, resp.text
    expected = {**KINGBIRD_DEFAULTS, "class_name": "gold", "cores": 200, "server_groups": 20}
    # The PUT answers as GET does, after the update.
    assert resp.json() == {"quota_class_set": expected}
    assert api.call("GET", "/os-quota-class-sets/gold").json() == {"quota_class_set": expected}


def test_the_default_class_is_the_defaults_of_every_project(admin_api: Api, api: Api, demo2: Persona) -> None:
    assert put_class(admin_api, "default", {"cores": 64, "ram": 0}).status_code == 200
    defaults = {**KINGBIRD_DEFAULTS, "cores": 64, "ram": 0}
    assert api.call("GET", "/os-quota-sets/defaults").json() == {"quota_set": defaults}
    # ... and what a project without limits of its own is held to, with or without limits of its own.
    assert api.call("GET", "/os-quota-sets/" + api.persona.project_id).json() == {"quota_set": defaults}
    admin_api.call("PUT", "/os-quota-sets/" + demo2.project_id, json={"quota_set": {"cores": 8}})
    assert admin_api.call("GET", "/os-quota-sets/" + demo2.project_id).json() == {"quota_set": {**defaults, "cores": 8}}


def test_deleting_the_default_class_restores_kingbirds_defaults(admin_api: Api, api: Api) -> None:
    put_class(admin_api, "default", {"cores": 64})
    resp = admin_api.call("DELETE", "/os-quota-class-sets/default")
    assert resp.status_code == 200
    assert resp.json() is None
    assert api.call("GET", "/os-quota-sets/defaults").json() == {"quota_set": KINGBIRD_DEFAULTS}


def test_deleting_a_class_without_values_is_404(admin_api: Api) -> None:
    resp = admin_api.call("DELETE", "/os-quota-class-sets/gold")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "quota_class_not_found"
    assert resp.json()["error"]["message"] == "Quota class not found: gold."


@pytest.mark.parametrize(
    ("body", "type_", "words"),
    [
        ({"quota_class_set": {"cpus": 4}}, "unknown_quota_resource", "Invalid quota resource cpus"),
        ({"quota_class_set": {"cores": "4"}}, "invalid_body", "'4' is not of type 'integer'"),
        ({"quota_class_set": {"cores": -7}}, "invalid_body", "less than the minimum of -1"),
        ({"quota_class_set": {}}, "invalid_body", "Missing quota_class_set in the body"),
        ({"quota_set": {"cores": 4}}, "invalid_body", "Missing quota_class_set in the body"),
    ],
)
def test_a_bad_class_update_is_400_not_kingbirds_500(admin_api: Api, body: object, type_: str, words: str) -> None:
    resp = admin_api.call("PUT", "/os-quota-class-sets/gold", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["type"] == type_
    assert words in resp.json()["error"]["message"]


def test_a_class_name_longer_than_255_is_400(api: Api) -> None:
    resp = api.call("GET", "/os-quota-class-sets/" + "x" * 256)
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_url"


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_member_cannot_change_a_class(api: Api, admin_api: Api, method: str) -> None:
    put_class(admin_api, "gold", {"cores": 200})
    resp = api.call(method, "/os-quota-class-sets/gold", json={"quota_class_set": {"cores": 1}})
    assert resp.status_code == 403
    assert resp.json()["error"]["message"].startswith("Admin required")


def test_class_changes_are_audited_in_the_database(admin_api: Api, db_url: str) -> None:
    put_class(admin_api, "gold", {"cores": 200})
    admin_api.call("DELETE", "/os-quota-class-sets/gold")
    with session.transaction(db_url) as db:
        rows = db.execute(
            sa.select(QuotaAudit.class_name, QuotaAudit.resource, QuotaAudit.old_limit, QuotaAudit.new_limit)
            .where(QuotaAudit.class_name == "gold")
            .order_by(QuotaAudit.id)
        ).all()
    assert [tuple(row) for row in rows] == [("gold", "cores", None, 200), ("gold", "cores", 200, None)]
