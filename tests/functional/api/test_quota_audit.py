"""A project's quota history (``.../audit``): newest first, a page at a time."""

from __future__ import annotations

import pytest

from kingsync.db import session
from kingsync.db.quota import audit
from tests.functional.api.conftest import Api, Persona


@pytest.fixture
def admin_api(api: Api, admin: Persona) -> Api:
    return Api(api.url, admin)


def audit_path(project_id: str) -> str:
    return "/os-quota-sets/%s/audit" % project_id


def test_a_project_without_changes_has_an_empty_history(api: Api) -> None:
    resp = api.call("GET", audit_path(api.persona.project_id))
    assert resp.status_code == 200
    assert resp.json() == {"audit": [], "next": None}


def test_the_history_has_the_engines_changes_too(admin_api: Api, api: Api, demo: Persona, db_url: str) -> None:
    admin_api.call("PUT", "/os-quota-sets/" + demo.project_id, json={"quota_set": {"cores": 20}})
    with session.transaction(db_url) as db:
        audit.add_audit(
            db, [audit.AuditEntry.regional(demo.project_id, "RegionOne", "cores", 10, 12, "kingsync", "rebalance")]
        )
    # A member reads their own project's history.
    newest, admins = api.call("GET", audit_path(demo.project_id)).json()["audit"]
    assert {key: newest[key] for key in ("region", "resource", "old", "new", "actor", "reason", "request_id")} == {
        "region": "RegionOne",
        "resource": "cores",
        "old": 10,
        "new": 12,
        "actor": "kingsync",
        "reason": "rebalance",
        "request_id": None,
    }
    assert newest["id"] > admins["id"]
    assert newest["time"] >= admins["time"]


def test_the_history_comes_a_page_at_a_time(admin_api: Api, demo: Persona) -> None:
    for value in range(1, 6):
        admin_api.call("PUT", "/os-quota-sets/" + demo.project_id, json={"quota_set": {"cores": value}})
    seen: list[int] = []
    marker = None
    pages = 0
    while True:
        params = {"limit": 2, **({"marker": marker} if marker else {})}
        page = admin_api.call("GET", audit_path(demo.project_id), params=params).json()
        seen += [entry["new"] for entry in page["audit"]]
        pages += 1
        marker = page["next"]
        if marker is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    assert pages == 3


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"limit": 0}, "Invalid limit '0': an integer from 1 to 1000."),
        ({"limit": 1001}, "Invalid limit '1001'"),
        ({"limit": "ten"}, "Invalid limit 'ten'"),
        ({"marker": "abc"}, "Invalid marker 'abc': an integer of at least 1."),
    ],
)
def test_bad_paging_arguments_are_400(api: Api, params: dict[str, object], words: str) -> None:
    resp = api.call("GET", audit_path(api.persona.project_id), params=params)
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_url"
    assert words in resp.json()["error"]["message"]


def test_a_member_of_another_project_cannot_read_its_history(api: Api, demo2: Persona) -> None:
    assert api.call("GET", audit_path(demo2.project_id)).status_code == 403
