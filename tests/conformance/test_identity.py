"""Keystone: what kingsync and its clients ask of it."""

from __future__ import annotations

import openstack.exceptions
import pytest

from tests.conformance.conftest import TargetCloud


def test_catalog_has_every_service_in_every_region(cloud: TargetCloud) -> None:
    conn = cloud.admin()
    services = {s.id: s.type for s in conn.identity.services()}
    found: dict[str, set[str]] = {}
    for endpoint in conn.identity.endpoints(interface="public"):
        found.setdefault(services[endpoint.service_id], set()).add(endpoint.region_id)
    for stype in ("identity", "compute", "image", "network", "block-storage"):
        assert found.get(stype, set()) >= set(cloud.regions), stype


def test_regions_are_listed(cloud: TargetCloud) -> None:
    names = {r.id for r in cloud.admin().identity.regions()}
    assert set(cloud.regions) <= names


def test_member_token_carries_member_and_reader_roles(cloud: TargetCloud) -> None:
    conn = cloud.member()
    access = conn.session.auth.get_access(conn.session)
    assert set(access.role_names) >= {"member", "reader"}
    assert "admin" not in access.role_names
    assert access.project_id == cloud.project_id("demo")


def test_admin_token_implies_member_and_reader(cloud: TargetCloud) -> None:
    conn = cloud.admin()
    access = conn.session.auth.get_access(conn.session)
    assert {"admin", "member", "reader"} <= set(access.role_names)


def test_token_validation_as_keystonemiddleware_does_it(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    member = cloud.member()
    subject = member.session.get_token()
    resp = admin.session.get(
        cloud.auth_url + "/auth/tokens", headers={"X-Subject-Token": subject}, endpoint_filter=None
    )
    assert resp.status_code == 200
    body = resp.json()["token"]
    assert body["project"]["id"] == cloud.project_id("demo")
    assert resp.headers["X-Subject-Token"] == subject
    assert "catalog" in body
    assert {r["name"] for r in body["roles"]} >= {"member", "reader"}


def test_validating_a_bogus_token_is_404(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    resp = admin.session.get(
        cloud.auth_url + "/auth/tokens", headers={"X-Subject-Token": "gAAAAAbogus"}, raise_exc=False
    )
    assert resp.status_code == 404


def test_wrong_password_is_401(cloud: TargetCloud) -> None:
    import requests

    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": "demo", "domain": {"name": "Default"}, "password": "wrong"}},
            },
            "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
        }
    }
    resp = requests.post(cloud.auth_url + "/auth/tokens", json=body, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401


def test_project_lookup_by_name_and_id(cloud: TargetCloud) -> None:
    conn = cloud.admin()
    demo = conn.identity.find_project("demo", ignore_missing=False)
    assert conn.identity.get_project(demo.id).name == "demo"
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.identity.get_project("0" * 32)


def test_create_and_delete_project(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.admin()
    project = conn.identity.create_project(name=unique_name, domain_id="default")
    try:
        assert conn.identity.find_project(unique_name).id == project.id
        with pytest.raises(openstack.exceptions.ConflictException):
            conn.identity.create_project(name=unique_name, domain_id="default")
    finally:
        conn.identity.delete_project(project)
    assert conn.identity.find_project(unique_name) is None


def test_member_cannot_list_projects(cloud: TargetCloud) -> None:
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(cloud.member().identity.projects())
