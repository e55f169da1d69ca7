"""Nova: keypairs, flavors, quota sets and classes, limits and server groups,
as kingsync drives them, on the wire (status codes, shapes, error texts)."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openstack.connection
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conformance.conftest import TargetCloud

Conn = openstack.connection.Connection
NO_PROJECT = "0" * 32


def call(conn: Conn, method: str, path: str, mv: str = "2.1", body: Any = None) -> requests.Response:
    """One raw compute request at microversion ``mv`` (errors are returned, not raised)."""
    kwargs: dict[str, Any] = {"microversion": mv, "raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    resp: requests.Response = conn.compute.request(path, method, **kwargs)
    return resp


def ok(resp: requests.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def fault(resp: requests.Response, status: int) -> str:
    """The message of nova's ``{"<faultName>": {"code": ..., "message": ...}}``."""
    assert resp.status_code == status, resp.text
    ((_name, detail),) = resp.json().items()
    assert detail["code"] == status
    return str(detail["message"])


def ssh_public_key() -> tuple[str, str]:
    """A fresh OpenSSH public key and the fingerprint nova computes for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    text = public.decode() + " conformance"
    digest = hashlib.md5(base64.b64decode(text.split()[1]), usedforsecurity=False).hexdigest()
    return text, ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass
class Scratch:
    """A project of its own (demo2 is a member of it), for quota scenarios."""

    project_id: str
    member: Conn


@pytest.fixture
def scratch(cloud: TargetCloud, unique_name: str) -> Iterator[Scratch]:
    admin = cloud.admin()
    project = admin.identity.create_project(name=unique_name, domain_id="default")
    role = admin.identity.find_role("member", ignore_missing=False)
    admin.identity.assign_project_role_to_user(project, cloud.user_id("demo2"), role)
    member = cloud.member2().connect_as_project(unique_name)
    try:
        yield Scratch(project.id, member)
    finally:
        for group in ok(call(member, "GET", "/os-server-groups"))["server_groups"]:
            call(member, "DELETE", "/os-server-groups/" + group["id"])
        call(admin, "DELETE", "/os-quota-sets/" + project.id)
        member.close()
        admin.identity.delete_project(project)


@pytest.fixture
def flavor(cloud: TargetCloud, unique_name: str) -> Iterator[dict[str, Any]]:
    """A private flavor, deleted afterwards."""
    admin = cloud.admin()
    body = {
        "flavor": {
            "name": unique_name,
            "id": unique_name,
            "ram": 256,
            "vcpus": 1,
            "disk": 1,
            "os-flavor-access:is_public": False,
        }
    }
    created = ok(call(admin, "POST", "/flavors", "2.61", body))["flavor"]
    yield created
    call(admin, "DELETE", "/flavors/" + unique_name)


def _delete_keypair(conn: Conn, name: str, user_id: str | None = None) -> None:
    query = "?user_id=" + user_id if user_id else ""
    call(conn, "DELETE", "/os-keypairs/" + name + query, "2.10")


# -- version discovery and microversions --------------------------------------------------


def _endpoint(cloud: TargetCloud) -> str:
    return str(cloud.admin().compute.get_endpoint()).rstrip("/")


def test_version_list_is_served_without_a_token(cloud: TargetCloud) -> None:
    root = _endpoint(cloud).rsplit("/", 1)[0]
    resp = requests.get(root + "/", timeout=10)
    versions = {v["id"]: v for v in ok(resp)["versions"]}
    assert versions["v2.0"]["status"] == "DEPRECATED"
    assert versions["v2.1"]["status"] == "CURRENT"
    assert versions["v2.1"]["min_version"] == "2.1"
    assert versions["v2.1"]["links"] == [{"rel": "self", "href": root + "/v2.1/"}]
    assert "OpenStack-API-Version" not in resp.headers


def test_version_document_reports_the_microversion_range(cloud: TargetCloud) -> None:
    endpoint = _endpoint(cloud)
    for url in (endpoint, endpoint + "/"):
        resp = requests.get(url, timeout=10)
        version = ok(resp)["version"]
        assert version["id"] == "v2.1"
        assert version["min_version"] == "2.1"
        assert tuple(int(p) for p in version["version"].split(".")) >= (2, 100)
        assert version["links"][0] == {"rel": "self", "href": endpoint + "/"}
        assert resp.headers["OpenStack-API-Version"] == "compute 2.1"


def test_every_answer_echoes_the_negotiated_microversion(cloud: TargetCloud) -> None:
    conn = cloud.member()
    for resp in (call(conn, "GET", "/os-keypairs", "2.35"), call(conn, "GET", "/os-keypairs/no-such-key", "2.35")):
        assert resp.headers["OpenStack-API-Version"] == "compute 2.35"
        assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.35"
        assert "OpenStack-API-Version" in resp.headers["Vary"]
    legacy = conn.compute.get("/os-keypairs", headers={"X-OpenStack-Nova-API-Version": "2.10"})
    assert legacy.headers["OpenStack-API-Version"] == "compute 2.10"
    latest = call(conn, "GET", "/os-keypairs", "latest")
    assert latest.headers["OpenStack-API-Version"] != "compute latest"


def test_unsupported_microversion_is_406_and_a_malformed_one_400(cloud: TargetCloud) -> None:
    conn = cloud.member()
    too_new = call(conn, "GET", "/os-keypairs", "2.9999")
    assert fault(too_new, 406).startswith("Version 2.9999 is not supported by the API. Minimum is 2.1 and maximum is")
    assert "computeFault" in too_new.json()
    assert too_new.headers["OpenStack-API-Version"] == "compute 2.9999"
    bad = conn.compute.get("/os-keypairs", headers={"OpenStack-API-Version": "compute two"}, raise_exc=False)
    assert fault(bad, 400) == "API Version String two is of invalid format. Must be of format MajorNum.MinorNum."


def test_compute_needs_a_token(cloud: TargetCloud) -> None:
    resp = requests.get(_endpoint(cloud) + "/os-keypairs", timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "The request you have made requires authentication."


# -- keypairs ---------------------------------------------------------------------------------


def test_imported_keypair_carries_novas_fingerprint(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    public, fingerprint = ssh_public_key()
    body = {"keypair": {"name": unique_name, "public_key": public, "type": "ssh"}}
    try:
        created = ok(call(conn, "POST", "/os-keypairs", "2.2", body), 201)["keypair"]
        assert created == {
            "name": unique_name,
            "public_key": public,
            "fingerprint": fingerprint,
            "type": "ssh",
            "user_id": cloud.user_id("demo"),
        }
        shown = ok(call(conn, "GET", "/os-keypairs/" + unique_name, "2.2"))["keypair"]
        assert set(shown) == {
            "name",
            "public_key",
            "fingerprint",
            "type",
            "user_id",
            "created_at",
            "deleted",
            "deleted_at",
            "id",
            "updated_at",
        }
        assert isinstance(shown["id"], int) and shown["deleted"] is False and shown["updated_at"] is None
        listed = ok(call(conn, "GET", "/os-keypairs", "2.2"))["keypairs"]
        assert {
            "keypair": {"name": unique_name, "public_key": public, "fingerprint": fingerprint, "type": "ssh"}
        } in listed
    finally:
        _delete_keypair(conn, unique_name)


def test_keypair_shapes_before_microversion_2_2(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    public, _ = ssh_public_key()
    try:
        created = ok(
            call(conn, "POST", "/os-keypairs", "2.1", {"keypair": {"name": unique_name, "public_key": public}})
        )
        assert "type" not in created["keypair"]
        assert "type" not in ok(call(conn, "GET", "/os-keypairs/" + unique_name))["keypair"]
        assert ok(call(conn, "DELETE", "/os-keypairs/" + unique_name, "2.1"), 202) is None
    finally:
        _delete_keypair(conn, unique_name)


def test_keypair_is_generated_without_public_key_only_before_2_92(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    try:
        created = ok(call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": unique_name}}), 201)["keypair"]
        assert created["private_key"].startswith("-----BEGIN")
        assert created["public_key"].startswith("ssh-rsa ")
        assert created["public_key"].endswith(" Generated-by-Nova")
        assert "private_key" not in ok(call(conn, "GET", "/os-keypairs/" + unique_name, "2.10"))["keypair"]
    finally:
        _delete_keypair(conn, unique_name)
    refused = call(conn, "POST", "/os-keypairs", "2.92", {"keypair": {"name": unique_name}})
    assert fault(refused, 400) == (
        "Invalid input for field/attribute keypair. Value: {'name': '%s'}. 'public_key' is a required property"
        % unique_name
    )


def test_duplicate_keypair_name_is_409_and_names_compare_without_case(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    public, _ = ssh_public_key()
    try:
        ok(call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": unique_name, "public_key": public}}), 201)
        again = call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": unique_name, "public_key": public}})
        assert fault(again, 409) == "Key pair '%s' already exists." % unique_name
        upper = unique_name.upper()
        assert (
            fault(call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": upper, "public_key": public}}), 409)
            == "Key pair '%s' already exists." % upper
        )
        assert ok(call(conn, "GET", "/os-keypairs/" + upper, "2.10"))["keypair"]["name"] == unique_name
    finally:
        _delete_keypair(conn, unique_name)


def test_missing_keypair_is_404(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    message = "Keypair %s not found for user %s" % (unique_name, cloud.user_id("demo"))
    assert fault(call(conn, "GET", "/os-keypairs/" + unique_name, "2.10"), 404) == message
    assert fault(call(conn, "DELETE", "/os-keypairs/" + unique_name, "2.10"), 404) == message


def test_keypair_body_is_validated_by_novas_schema(cloud: TargetCloud) -> None:
    conn = cloud.member()
    public, _ = ssh_public_key()
    bad_name = call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": "a@b", "public_key": public}})
    assert fault(bad_name, 400) == (
        "Invalid input for field/attribute name. Value: a@b. 'a@b' does not match '^[_\\\\- a-zA-Z0-9]+$'"
    )
    empty = call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": "", "public_key": public}})
    assert fault(empty, 400) == "Invalid input for field/attribute name. Value: . '' should be non-empty"
    spaced = call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": " x", "public_key": public}})
    assert fault(spaced, 400) == (
        "An invalid 'name' value was provided. The name must be: printable characters. "
        "Can not start or end with whitespace."
    )
    bad_type = call(
        conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": "x", "public_key": public, "type": "dsa"}}
    )
    assert (
        fault(bad_type, 400)
        == "Invalid input for field/attribute type. Value: dsa. 'dsa' is not one of ['ssh', 'x509']"
    )
    garbage = call(conn, "POST", "/os-keypairs", "2.10", {"keypair": {"name": "x", "public_key": "ssh-rsa garbage"}})
    assert fault(garbage, 400) == "Keypair data is invalid: failed to generate fingerprint"
    assert fault(call(conn, "POST", "/os-keypairs", "2.10", None), 400) == "None is not of type 'object'"


def test_keypair_names_with_at_and_dot_are_allowed_from_2_92(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member()
    public, _ = ssh_public_key()
    name = unique_name + ".me@example"
    try:
        assert (
            ok(call(conn, "POST", "/os-keypairs", "2.92", {"keypair": {"name": name, "public_key": public}}), 201)[
                "keypair"
            ]["name"]
            == name
        )
    finally:
        _delete_keypair(conn, name)


def test_keypair_list_pages_with_limit_and_marker_from_2_35(cloud: TargetCloud, unique_name: str) -> None:
    conn = cloud.member2()
    public, _ = ssh_public_key()
    names = [unique_name + suffix for suffix in ("-a", "-b", "-c")]
    try:
        for name in names:
            ok(call(conn, "POST", "/os-keypairs", "2.35", {"keypair": {"name": name, "public_key": public}}), 201)
        everything = [k["keypair"]["name"] for k in ok(call(conn, "GET", "/os-keypairs", "2.35"))["keypairs"]]
        start = everything.index(names[0])
        first = (
            ok(call(conn, "GET", "/os-keypairs?limit=2&marker=" + everything[start - 1], "2.35"))
            if start
            else ok(call(conn, "GET", "/os-keypairs?limit=2", "2.35"))
        )
        assert [k["keypair"]["name"] for k in first["keypairs"]] == names[:2]
        (link,) = first["keypairs_links"]
        assert link["rel"] == "next"
        assert "marker=%s" % names[1] in link["href"] and "limit=2" in link["href"]
        rest = ok(call(conn, "GET", "/os-keypairs?limit=2&marker=" + names[1], "2.35"))
        assert [k["keypair"]["name"] for k in rest["keypairs"]][:1] == names[2:]
        unpaged = ok(call(conn, "GET", "/os-keypairs?limit=1", "2.34"))
        assert "keypairs_links" not in unpaged and len(unpaged["keypairs"]) >= 3
        assert fault(call(conn, "GET", "/os-keypairs?marker=" + unique_name + "-zz", "2.35"), 400) == (
            "Marker %s-zz could not be found." % unique_name
        )
        assert fault(call(conn, "GET", "/os-keypairs?limit=x", "2.35"), 400) == (
            "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"
        )
        assert fault(call(conn, "GET", "/os-keypairs?bogus=1", "2.75"), 400) == (
            "Additional properties are not allowed ('bogus' was unexpected)"
        )
    finally:
        for name in names:
            _delete_keypair(conn, name)


def test_admin_manages_another_users_keypairs_from_2_10(cloud: TargetCloud, unique_name: str) -> None:
    admin, member2 = cloud.admin(), cloud.member2()
    demo2 = cloud.user_id("demo2")
    public, _ = ssh_public_key()
    try:
        body = {"keypair": {"name": unique_name, "public_key": public, "user_id": demo2}}
        assert ok(call(admin, "POST", "/os-keypairs", "2.10", body), 201)["keypair"]["user_id"] == demo2
        assert unique_name in [
            k["keypair"]["name"] for k in ok(call(member2, "GET", "/os-keypairs", "2.10"))["keypairs"]
        ]
        listed = ok(call(admin, "GET", "/os-keypairs?user_id=" + demo2, "2.10"))["keypairs"]
        assert unique_name in [k["keypair"]["name"] for k in listed]
        assert unique_name not in [
            k["keypair"]["name"] for k in ok(call(admin, "GET", "/os-keypairs", "2.10"))["keypairs"]
        ]
        shown = ok(call(admin, "GET", "/os-keypairs/%s?user_id=%s" % (unique_name, demo2), "2.10"))["keypair"]
        assert shown["user_id"] == demo2
        # Before 2.10 the user_id query is ignored: the admin's own keypairs.
        assert fault(call(admin, "GET", "/os-keypairs/%s?user_id=%s" % (unique_name, demo2), "2.9"), 404)
        assert ok(call(admin, "DELETE", "/os-keypairs/%s?user_id=%s" % (unique_name, demo2), "2.10"), 204) is None
    finally:
        _delete_keypair(admin, unique_name, demo2)


def test_member_cannot_touch_another_users_keypairs(cloud: TargetCloud, unique_name: str) -> None:
    member = cloud.member()
    demo2 = cloud.user_id("demo2")
    public, _ = ssh_public_key()
    assert fault(call(member, "GET", "/os-keypairs?user_id=" + demo2, "2.10"), 403) == (
        "Policy doesn't allow os_compute_api:os-keypairs:index to be performed."
    )
    body = {"keypair": {"name": unique_name, "public_key": public, "user_id": demo2}}
    assert fault(call(member, "POST", "/os-keypairs", "2.10", body), 403) == (
        "Policy doesn't allow os_compute_api:os-keypairs:create to be performed."
    )
    assert fault(call(member, "DELETE", "/os-keypairs/%s?user_id=%s" % (unique_name, demo2), "2.10"), 403) == (
        "Policy doesn't allow os_compute_api:os-keypairs:delete to be performed."
    )


def test_keypair_quota_counts_the_users_keypairs(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    admin, member = cloud.admin(), scratch.member
    owned = len(ok(call(member, "GET", "/os-keypairs", "2.10"))["keypairs"])
    ok(call(admin, "PUT", "/os-quota-sets/" + scratch.project_id, "2.1", {"quota_set": {"key_pairs": owned + 1}}))
    public, _ = ssh_public_key()
    try:
        ok(call(member, "POST", "/os-keypairs", "2.10", {"keypair": {"name": unique_name, "public_key": public}}), 201)
        over = call(
            member, "POST", "/os-keypairs", "2.10", {"keypair": {"name": unique_name + "-2", "public_key": public}}
        )
        assert fault(over, 403) == "Quota exceeded, too many key pairs."
        detail = ok(call(member, "GET", "/os-quota-sets/%s/detail" % scratch.project_id, "2.57"))["quota_set"]
        # Keypairs are per user: nova reports (and checks) 0 in use at project scope.
        assert detail["key_pairs"] == {"limit": owned + 1, "in_use": 0, "reserved": 0}
        ok(call(admin, "PUT", "/os-quota-sets/" + scratch.project_id, "2.1", {"quota_set": {"key_pairs": 0}}))
    finally:
        _delete_keypair(member, unique_name)
        _delete_keypair(member, unique_name + "-2")


# -- flavors -------------------------------------------------------------------------------------


def test_flavor_create_show_and_delete(cloud: TargetCloud, unique_name: str) -> None:
    admin = cloud.admin()
    body = {
        "flavor": {
            "name": unique_name,
            "id": unique_name,
            "ram": "512",
            "vcpus": 2,
            "disk": 10,
            "swap": 0,
            "OS-FLV-EXT-DATA:ephemeral": 5,
            "rxtx_factor": 2.0,
            "description": "for tests",
        }
    }
    try:
        created = ok(call(admin, "POST", "/flavors", "2.61", body))["flavor"]
        endpoint = _endpoint(cloud)
        assert created == {
            "id": unique_name,
            "name": unique_name,
            "ram": 512,
            "vcpus": 2,
            "disk": 10,
            "swap": "",
            "OS-FLV-EXT-DATA:ephemeral": 5,
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": True,
            "rxtx_factor": 2.0,
            "description": "for tests",
            "extra_specs": {},
            "links": [
                {"rel": "self", "href": "%s/flavors/%s" % (endpoint, unique_name)},
                {"rel": "bookmark", "href": "%s/flavors/%s" % (endpoint.rsplit("/", 1)[0], unique_name)},
            ],
        }
        old = ok(call(admin, "GET", "/flavors/" + unique_name, "2.1"))["flavor"]
        assert "description" not in old and "extra_specs" not in old
        assert ok(call(admin, "GET", "/flavors/" + unique_name, "2.75"))["flavor"]["swap"] == 0
        newest = ok(call(admin, "GET", "/flavors/" + unique_name, "2.102"))["flavor"]
        assert "rxtx_factor" not in newest and "OS-FLV-DISABLED:disabled" not in newest
        assert ok(call(admin, "DELETE", "/flavors/" + unique_name), 202) is None
        assert (
            fault(call(admin, "GET", "/flavors/" + unique_name), 404) == "Flavor %s could not be found." % unique_name
        )
        assert (
            fault(call(admin, "DELETE", "/flavors/" + unique_name), 404)
            == "Flavor %s could not be found." % unique_name
        )
    finally:
        call(admin, "DELETE", "/flavors/" + unique_name)


def test_flavor_without_id_gets_a_uuid(cloud: TargetCloud, unique_name: str) -> None:
    admin = cloud.admin()
    created = ok(
        call(admin, "POST", "/flavors", "2.1", {"flavor": {"name": unique_name, "ram": 1, "vcpus": 1, "disk": 0}})
    )["flavor"]
    try:
        assert str(uuid.UUID(created["id"])) == created["id"]
    finally:
        call(admin, "DELETE", "/flavors/" + created["id"])


def test_duplicate_flavor_id_or_name_is_409(cloud: TargetCloud, flavor: dict[str, Any], unique_name: str) -> None:
    admin = cloud.admin()
    same_id = {"flavor": {"name": unique_name + "-other", "id": flavor["id"].upper(), "ram": 1, "vcpus": 1, "disk": 0}}
    assert fault(call(admin, "POST", "/flavors", "2.1", same_id), 409) == (
        "Flavor with ID %s already exists." % flavor["id"].upper()
    )
    same_name = {"flavor": {"name": flavor["name"], "id": unique_name + "-other", "ram": 1, "vcpus": 1, "disk": 0}}
    assert fault(call(admin, "POST", "/flavors", "2.1", same_name), 409) == (
        "Flavor with name %s already exists." % flavor["name"]
    )


def test_flavor_body_is_validated_by_novas_schema(cloud: TargetCloud) -> None:
    admin = cloud.admin()

    def create(mv: str, **fields: Any) -> str:
        body = {"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0, **fields}}
        return fault(call(admin, "POST", "/flavors", mv, body), 400)

    assert create("2.1", ram=0) == "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"
    assert (
        create("2.1", ram="lots")
        == "Invalid input for field/attribute ram. Value: lots. 'lots' does not match '^[0-9]+$'"
    )
    assert (
        create("2.1", disk=-1) == "Invalid input for field/attribute disk. Value: -1. -1 is less than the minimum of 0"
    )
    assert create("2.1", id=" x") == (
        "Invalid input for field/attribute id. Value:  x. ' x' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'"
    )
    assert create("2.1", rxtx_factor=0) == (
        "Invalid input for field/attribute rxtx_factor. Value: 0. 0 is less than or equal to the minimum of 0"
    )
    assert create("2.54", description="d").endswith(
        "Additional properties are not allowed ('description' was unexpected)"
    )
    assert create("2.102", rxtx_factor=1).endswith(
        "Additional properties are not allowed ('rxtx_factor' was unexpected)"
    )
    missing = fault(call(admin, "POST", "/flavors", "2.1", {"flavor": {"name": "x", "ram": 1, "vcpus": 1}}), 400)
    assert missing == (
        "Invalid input for field/attribute flavor. Value: {'name': 'x', 'ram': 1, 'vcpus': 1}. "
        "'disk' is a required property"
    )


def test_member_cannot_manage_flavors(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    member = cloud.member()
    body = {"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0}}
    assert fault(call(member, "POST", "/flavors", "2.1", body), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed."
    )
    # The schema is checked before the policy.
    body["flavor"]["ram"] = 0
    assert fault(call(member, "POST", "/flavors", "2.1", body), 400).endswith("0 is less than the minimum of 1")
    assert fault(call(member, "DELETE", "/flavors/" + flavor["id"]), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-manage:delete to be performed."
    )
    assert fault(call(member, "PUT", "/flavors/" + flavor["id"], "2.55", {"flavor": {"description": "x"}}), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-manage:update to be performed."
    )


def test_private_flavor_is_seen_only_by_projects_with_access(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin, member, member2 = cloud.admin(), cloud.member(), cloud.member2()
    fid = flavor["id"]

    def listed(conn: Conn, query: str = "") -> list[str]:
        return [f["id"] for f in ok(call(conn, "GET", "/flavors/detail" + query))["flavors"]]

    assert fid not in listed(member)
    assert fault(call(member, "GET", "/flavors/" + fid), 404) == "Flavor %s could not be found." % fid
    ok(
        call(
            admin, "POST", "/flavors/%s/action" % fid, "2.1", {"addTenantAccess": {"tenant": cloud.project_id("demo")}}
        )
    )
    assert fid in listed(member)
    assert fid in listed(member, "?is_public=false")  # members always get public plus shared
    assert ok(call(member, "GET", "/flavors/" + fid))["flavor"]["os-flavor-access:is_public"] is False
    assert fid not in listed(member2)
    assert fault(call(member2, "GET", "/flavors/" + fid), 404) == "Flavor %s could not be found." % fid


def test_admin_flavor_list_filters_on_is_public(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin = cloud.admin()

    def listed(query: str) -> list[str]:
        return [f["id"] for f in ok(call(admin, "GET", "/flavors" + query))["flavors"]]

    assert flavor["id"] not in listed("")
    assert flavor["id"] in listed("?is_public=none")
    assert flavor["id"] in listed("?is_public=false")
    assert flavor["id"] not in listed("?is_public=true")
    assert fault(call(admin, "GET", "/flavors?is_public=maybe"), 400) == "Invalid is_public filter [maybe]"
    assert fault(call(admin, "GET", "/flavors?minRam=lots"), 400) == "Invalid minRam filter [lots]"
    assert fault(call(admin, "GET", "/flavors?marker=" + NO_PROJECT), 400) == "marker [%s] not found" % NO_PROJECT


def test_flavor_list_pages_with_limit_and_marker(cloud: TargetCloud, unique_name: str) -> None:
    admin = cloud.admin()
    ids = [unique_name + "-1", unique_name + "-2"]
    try:
        for fid in ids:
            ok(
                call(
                    admin,
                    "POST",
                    "/flavors",
                    "2.1",
                    {"flavor": {"name": fid, "id": fid, "ram": 1, "vcpus": 1, "disk": 0}},
                )
            )
        query = "/flavors?name=^%s&limit=1" % unique_name
        first = ok(call(admin, "GET", query, "2.102"))
        assert [f["id"] for f in first["flavors"]] == ids[:1]
        assert set(first["flavors"][0]) == {"id", "name", "links", "description"}
        (link,) = first["flavors_links"]
        assert link["rel"] == "next" and "marker=" + ids[0] in link["href"]
        second = ok(call(admin, "GET", query + "&marker=" + ids[0], "2.102"))
        assert [f["id"] for f in second["flavors"]] == ids[1:]
        assert fault(call(admin, "GET", "/flavors?name=x", "2.101"), 400) == (
            "Additional properties are not allowed ('name' was unexpected)"
        )
    finally:
        for fid in ids:
            call(admin, "DELETE", "/flavors/" + fid)


def test_flavor_description_can_be_updated_from_2_55(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin = cloud.admin()
    path = "/flavors/" + flavor["id"]
    updated = ok(call(admin, "PUT", path, "2.55", {"flavor": {"description": "new words"}}))["flavor"]
    assert updated["description"] == "new words"
    assert fault(call(admin, "PUT", path, "2.54", {"flavor": {"description": "x"}}), 404) == (
        "The resource could not be found."
    )
    assert fault(call(admin, "PUT", path, "2.55", {"flavor": {"name": "x"}}), 400).endswith(
        "'description' is a required property"
    )


def test_flavor_extra_specs_crud(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin, member = cloud.admin(), cloud.member()
    base = "/flavors/%s/os-extra_specs" % flavor["id"]
    echoed = ok(call(admin, "POST", base, "2.1", {"extra_specs": {"hw:cpu_policy": "dedicated", "count": 2}}))
    assert echoed == {"extra_specs": {"hw:cpu_policy": "dedicated", "count": 2}}
    assert ok(call(admin, "GET", base))["extra_specs"] == {"hw:cpu_policy": "dedicated", "count": "2"}
    assert ok(call(admin, "GET", base + "/count")) == {"count": "2"}
    assert ok(call(admin, "PUT", base + "/count", "2.1", {"count": "3"})) == {"count": "3"}
    assert fault(call(admin, "PUT", base + "/count", "2.1", {"other": "3"}), 400) == "Request body and URI mismatch"
    assert ok(call(admin, "GET", "/flavors/" + flavor["id"], "2.61"))["flavor"]["extra_specs"] == {
        "hw:cpu_policy": "dedicated",
        "count": "3",
    }
    assert ok(call(admin, "DELETE", base + "/count")) is None
    assert fault(call(admin, "GET", base + "/count"), 404) == (
        "Flavor %s has no extra specs with key count." % flavor["id"]
    )
    assert fault(call(admin, "DELETE", base + "/count"), 404) == (
        "Flavor %s has no extra specs with key count." % flavor["id"]
    )
    bad_key = call(admin, "POST", base, "2.1", {"extra_specs": {"a/b": "x"}})
    assert fault(bad_key, 400).endswith("'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'")
    assert fault(call(member, "POST", base, "2.1", {"extra_specs": {"k": "v"}}), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-extra-specs:create to be performed."
    )


def test_flavor_access_add_list_and_remove(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin = cloud.admin()
    demo = cloud.project_id("demo")
    action = "/flavors/%s/action" % flavor["id"]
    added = ok(call(admin, "POST", action, "2.1", {"addTenantAccess": {"tenant": demo}}))
    assert added == {"flavor_access": [{"flavor_id": flavor["id"], "tenant_id": demo}]}
    assert ok(call(admin, "GET", "/flavors/%s/os-flavor-access" % flavor["id"])) == added
    twice = fault(call(admin, "POST", action, "2.1", {"addTenantAccess": {"tenant": demo}}), 409)
    assert twice.startswith("Flavor access already exists for flavor ")
    assert twice.endswith(" and project %s combination." % demo)
    assert ok(call(admin, "POST", action, "2.1", {"removeTenantAccess": {"tenant": demo}})) == {"flavor_access": []}
    gone = fault(call(admin, "POST", action, "2.1", {"removeTenantAccess": {"tenant": demo}}), 404)
    assert gone.startswith("Flavor access not found for ") and gone.endswith(" / %s combination." % demo)


def test_flavor_access_for_an_unknown_project_is_400(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin = cloud.admin()
    action = "/flavors/%s/action" % flavor["id"]
    unknown = call(admin, "POST", action, "2.1", {"addTenantAccess": {"tenant": NO_PROJECT}})
    assert fault(unknown, 400) == "Project ID %s is not a valid project." % NO_PROJECT
    # Removing accepts any id: it is simply not on the list.
    assert fault(call(admin, "POST", action, "2.1", {"removeTenantAccess": {"tenant": NO_PROJECT}}), 404).endswith(
        " / %s combination." % NO_PROJECT
    )


def test_flavor_access_of_a_public_flavor_is_refused(cloud: TargetCloud, unique_name: str) -> None:
    admin = cloud.admin()
    ok(
        call(
            admin,
            "POST",
            "/flavors",
            "2.1",
            {"flavor": {"name": unique_name, "id": unique_name, "ram": 1, "vcpus": 1, "disk": 0}},
        )
    )
    try:
        assert fault(call(admin, "GET", "/flavors/%s/os-flavor-access" % unique_name), 404) == (
            "Access list not available for public flavors."
        )
        add = {"addTenantAccess": {"tenant": cloud.project_id("demo")}}
        assert fault(call(admin, "POST", "/flavors/%s/action" % unique_name, "2.7", add), 409) == (
            "Can not add access to a public flavor."
        )
    finally:
        call(admin, "DELETE", "/flavors/" + unique_name)


def test_flavor_actions_are_parsed_as_nova_does(cloud: TargetCloud, flavor: dict[str, Any]) -> None:
    admin, member = cloud.admin(), cloud.member()
    action = "/flavors/%s/action" % flavor["id"]
    assert fault(call(admin, "POST", action, "2.1", {"bogus": {}}), 400) == "There is no such action: bogus"
    assert fault(call(admin, "POST", action, "2.1", {"addTenantAccess": {"tenant": "x"}, "more": 1}), 400) == (
        "Malformed request body"
    )
    assert fault(call(admin, "POST", action, "2.1", {"addTenantAccess": {}}), 400) == (
        "Invalid input for field/attribute addTenantAccess. Value: {}. 'tenant' is a required property"
    )
    add = {"addTenantAccess": {"tenant": cloud.project_id("demo")}}
    assert fault(call(member, "POST", action, "2.1", add), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-access:add_tenant_access to be performed."
    )
    assert fault(call(member, "GET", "/flavors/%s/os-flavor-access" % flavor["id"]), 403) == (
        "Policy doesn't allow os_compute_api:os-flavor-access to be performed."
    )


# -- flavors as kingsync's flavor sync drives them: its service user, 2.61 and 2.86 ------------------

SYNC_MV = "2.61"  # extra_specs and description in every flavor
SPECS_MV = "2.86"  # extra-spec values validated


def _sync_body(flavor_id: str, **fields: Any) -> dict[str, Any]:
    """A flavor with every field kingsync's sync copies."""
    flavor = {
        "id": flavor_id,
        "name": flavor_id,
        "ram": 512,
        "vcpus": 2,
        "disk": 10,
        "OS-FLV-EXT-DATA:ephemeral": 2,
        "swap": 256,
        "rxtx_factor": 1.5,
        "os-flavor-access:is_public": False,
        "description": "synced",
    }
    return {"flavor": {**flavor, **fields}}


@pytest.fixture
def synced_flavor(cloud: TargetCloud, unique_name: str) -> Iterator[dict[str, Any]]:
    """A private flavor with every field, made by kingsync's service user; deleted afterwards."""
    service = cloud.service()
    created = ok(call(service, "POST", "/flavors", SYNC_MV, _sync_body(unique_name)))["flavor"]
    yield created
    call(service, "DELETE", "/flavors/" + unique_name)


def test_flavor_sync_creates_and_reads_every_field_at_2_61(cloud: TargetCloud, unique_name: str) -> None:
    service = cloud.service()
    try:
        created = ok(call(service, "POST", "/flavors", SYNC_MV, _sync_body(unique_name)))["flavor"]
        assert {k: v for k, v in created.items() if k != "links"} == {
            "id": unique_name,
            "name": unique_name,
            "ram": 512,
            "vcpus": 2,
            "disk": 10,
            "OS-FLV-EXT-DATA:ephemeral": 2,
            "swap": 256,
            "rxtx_factor": 1.5,
            "os-flavor-access:is_public": False,
            "OS-FLV-DISABLED:disabled": False,
            "description": "synced",
            "extra_specs": {},
        }
        assert ok(call(service, "GET", "/flavors/" + unique_name, SYNC_MV))["flavor"] == created
        # Without swap, 2.61 answers "" (an integer 0 only from 2.75).
        plain = _sync_body(unique_name + "-0", swap=0, **{"OS-FLV-EXT-DATA:ephemeral": 0})
        ok(call(service, "POST", "/flavors", SYNC_MV, plain))
        shown = ok(call(service, "GET", "/flavors/%s-0" % unique_name, SYNC_MV))["flavor"]
        assert (shown["swap"], shown["OS-FLV-EXT-DATA:ephemeral"]) == ("", 0)
        missing = call(service, "GET", "/flavors/%s-x" % unique_name, SYNC_MV)
        assert missing.json() == {
            "itemNotFound": {"code": 404, "message": "Flavor %s-x could not be found." % unique_name}
        }
    finally:
        call(service, "DELETE", "/flavors/" + unique_name)
        call(service, "DELETE", "/flavors/%s-0" % unique_name)


def test_flavor_sync_duplicate_id_or_name_is_409(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    fid = synced_flavor["id"]
    same_id = call(service, "POST", "/flavors", SYNC_MV, _sync_body(fid, name=fid + "-other"))
    assert same_id.json() == {"conflictingRequest": {"code": 409, "message": "Flavor with ID %s already exists." % fid}}
    same_name = call(service, "POST", "/flavors", SYNC_MV, _sync_body(fid + "-other", name=fid))
    assert same_name.json() == {
        "conflictingRequest": {"code": 409, "message": "Flavor with name %s already exists." % fid}
    }


def test_flavor_sync_finds_private_and_public_flavors_with_is_public_none(
    cloud: TargetCloud, synced_flavor: dict[str, Any]
) -> None:
    service = cloud.service()
    public = synced_flavor["id"] + "-pub"
    ok(call(service, "POST", "/flavors", SYNC_MV, _sync_body(public, **{"os-flavor-access:is_public": True})))
    try:
        everything = ok(call(service, "GET", "/flavors/detail?is_public=None", SYNC_MV))["flavors"]
        by_id = {f["id"]: f for f in everything}
        assert by_id[synced_flavor["id"]] == synced_flavor
        assert by_id[public]["os-flavor-access:is_public"] is True
        # Without the filter an admin gets the public flavors only.
        default = [f["id"] for f in ok(call(service, "GET", "/flavors/detail", SYNC_MV))["flavors"]]
        assert public in default and synced_flavor["id"] not in default
    finally:
        call(service, "DELETE", "/flavors/" + public)


def test_flavor_sync_updates_the_description_at_2_61(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    path = "/flavors/" + synced_flavor["id"]
    updated = ok(call(service, "PUT", path, SYNC_MV, {"flavor": {"description": "new words"}}))["flavor"]
    assert updated == {**synced_flavor, "description": "new words"}
    cleared = ok(call(service, "PUT", path, SYNC_MV, {"flavor": {"description": None}}))["flavor"]
    assert cleared["description"] is None


def test_deleted_flavor_id_and_name_are_free_at_once(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    fid = synced_flavor["id"]
    ok(
        call(
            service, "POST", "/flavors/%s/os-extra_specs" % fid, SPECS_MV, {"extra_specs": {"hw:cpu_policy": "shared"}}
        )
    )
    add = {"addTenantAccess": {"tenant": cloud.project_id("demo")}}
    ok(call(service, "POST", "/flavors/%s/action" % fid, SYNC_MV, add))
    assert ok(call(service, "DELETE", "/flavors/" + fid, SYNC_MV), 202) is None
    # nova hard-deletes: the same id and name again at once, with nothing of the old one.
    again = ok(call(service, "POST", "/flavors", SYNC_MV, _sync_body(fid, description="again")))["flavor"]
    assert again == {**synced_flavor, "description": "again"}
    assert ok(call(service, "GET", "/flavors/%s/os-flavor-access" % fid, SYNC_MV)) == {"flavor_access": []}


def test_extra_spec_values_are_validated_from_2_86(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    fid = synced_flavor["id"]
    base = "/flavors/%s/os-extra_specs" % fid
    valid = {
        "hw:cpu_policy": "dedicated",
        "hw:mem_page_size": "large",
        "hw:numa_nodes": 2,  # numbers are checked as their text, and echoed as sent
        "aggregate_instance_extra_specs:ssd": "true",
        "trait:CUSTOM_GOLD": "required",
        "mycompany:x": "y",  # a namespace nova does not know
        "count": "2",  # no namespace
    }
    assert ok(call(service, "POST", base, SPECS_MV, {"extra_specs": valid})) == {"extra_specs": valid}

    def refused(specs: dict[str, Any], path: str = base, method: str = "POST") -> Any:
        body = {"extra_specs": specs} if method == "POST" else specs
        resp = call(service, method, path, SPECS_MV, body)
        assert resp.status_code == 400, resp.text
        return resp.json()

    assert refused({"hw:cpu_policy": "bogus"}) == {
        "badRequest": {"code": 400, "message": "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."}
    }
    for specs, message in (
        ({"hw:numa_nodes": "abc"}, "Validation failed; 'abc' is not a valid integer value."),
        ({"hw:numa_nodes": "0"}, "Validation failed; '0' is less than the min value of '1'."),
        ({"hw:redirected_usb_ports": 16}, "Validation failed; '16' is greater than the max value of '15'."),
        ({"hw:cpu_realtime": "maybe"}, "Validation failed; 'maybe' is not a valid boolean-like value."),
        (
            {"hw:mem_page_size": "huge"},
            "Validation failed; 'huge' is not of the format '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.",
        ),
        ({"hw:bogus": "1"}, "Validation failed; extra spec 'hw:bogus' does not appear to be a valid extra spec."),
        (
            {"trait:NO_SUCH_TRAIT": "required"},
            "Validation failed; extra spec 'trait:NO_SUCH_TRAIT' does not appear to be a valid extra spec.",
        ),
        ({"trait:HW_CPU_X86_AVX": "wanted"}, "Validation failed; 'wanted' is not one of: required, forbidden."),
        ({"resources:VCPU": "two"}, "Validation failed; 'two' is not a valid integer value."),
        # the first bad one in the request, and nothing of the request is stored
        (
            {"hw:cpu_policy": "shared", "hw:numa_nodes": "x", "hw:cpu_thread_policy": "y"},
            "Validation failed; 'x' is not a valid integer value.",
        ),
    ):
        assert refused(specs)["badRequest"]["message"] == message
    assert ok(call(service, "GET", base, SPECS_MV))["extra_specs"]["hw:cpu_policy"] == "dedicated"
    # The values are checked before the flavor is looked up, and on a PUT too.
    assert refused({"hw:cpu_policy": "bogus"}, "/flavors/%s-x/os-extra_specs" % fid)["badRequest"]["message"] == (
        "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."
    )
    put = refused({"hw:cpu_policy": "bogus"}, base + "/hw:cpu_policy", "PUT")
    assert put["badRequest"]["message"] == "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."
    # Before 2.86 anything goes.
    assert ok(call(service, "POST", base, "2.85", {"extra_specs": {"hw:cpu_policy": "bogus"}}))
    assert ok(call(service, "GET", "/flavors/" + fid, SYNC_MV))["flavor"]["extra_specs"] == {
        **{k: str(v) for k, v in valid.items()},
        "hw:cpu_policy": "bogus",
    }


def test_compute_version_document_names_the_newest_microversion(cloud: TargetCloud) -> None:
    version = ok(requests.get(_endpoint(cloud) + "/", timeout=10))["version"]
    # nova 34 (2026.2); anything from 2.86 validates extra specs.
    assert version["version"] == "2.104"


def test_flavor_sync_deletes_an_extra_spec(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    base = "/flavors/%s/os-extra_specs" % synced_flavor["id"]
    ok(call(service, "POST", base, SPECS_MV, {"extra_specs": {"hw:cpu_policy": "shared", "mycompany:x": "y"}}))
    resp = call(service, "DELETE", base + "/hw:cpu_policy", SPECS_MV)
    assert resp.status_code == 200 and resp.content == b""
    assert ok(call(service, "GET", "/flavors/" + synced_flavor["id"], SYNC_MV))["flavor"]["extra_specs"] == {
        "mycompany:x": "y"
    }
    missing = call(service, "DELETE", base + "/hw:cpu_policy", SPECS_MV)
    assert missing.json() == {
        "itemNotFound": {
            "code": 404,
            "message": "Flavor %s has no extra specs with key hw:cpu_policy." % synced_flavor["id"],
        }
    }


def test_flavor_sync_manages_access_with_its_service_user(cloud: TargetCloud, synced_flavor: dict[str, Any]) -> None:
    service = cloud.service()
    fid, demo = synced_flavor["id"], cloud.project_id("demo")
    action, listing = "/flavors/%s/action" % fid, "/flavors/%s/os-flavor-access" % fid
    assert ok(call(service, "GET", listing, SYNC_MV)) == {"flavor_access": []}
    added = ok(call(service, "POST", action, SYNC_MV, {"addTenantAccess": {"tenant": demo}}))
    assert added == {"flavor_access": [{"flavor_id": fid, "tenant_id": demo}]}
    assert ok(call(service, "GET", listing, SYNC_MV)) == added
    # nova names the flavor by its internal database id in these two texts.
    twice = call(service, "POST", action, SYNC_MV, {"addTenantAccess": {"tenant": demo}})
    assert re.fullmatch(
        r"Flavor access already exists for flavor \d+ and project %s combination\." % demo, fault(twice, 409)
    )
    assert "conflictingRequest" in twice.json()
    removed = ok(call(service, "POST", action, SYNC_MV, {"removeTenantAccess": {"tenant": demo}}))
    assert removed == {"flavor_access": []}
    gone = call(service, "POST", action, SYNC_MV, {"removeTenantAccess": {"tenant": demo}})
    assert re.fullmatch(r"Flavor access not found for \d+ / %s combination\." % demo, fault(gone, 404))
    assert "itemNotFound" in gone.json()


def test_flavor_sync_sees_a_public_flavor_has_no_access_list(cloud: TargetCloud, unique_name: str) -> None:
    service = cloud.service()
    ok(call(service, "POST", "/flavors", SYNC_MV, _sync_body(unique_name, **{"os-flavor-access:is_public": True})))
    try:
        refused = call(service, "GET", "/flavors/%s/os-flavor-access" % unique_name, SYNC_MV)
        assert refused.json() == {
            "itemNotFound": {"code": 404, "message": "Access list not available for public flavors."}
        }
    finally:
        call(service, "DELETE", "/flavors/" + unique_name)


# -- quota sets, classes, limits -------------------------------------------------------------------

NETWORK_KEYS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}
INJECTED_KEYS = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
QUOTA_KEYS = {"cores", "instances", "ram", "key_pairs", "metadata_items", "server_groups", "server_group_members"}


def test_quota_set_keys_follow_the_microversion(cloud: TargetCloud, scratch: Scratch) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/" + scratch.project_id
    old = ok(call(admin, "GET", path, "2.1"))["quota_set"]
    assert set(old) == QUOTA_KEYS | NETWORK_KEYS | INJECTED_KEYS | {"id"}
    assert old["id"] == scratch.project_id
    assert set(ok(call(admin, "GET", path, "2.36"))["quota_set"]) == QUOTA_KEYS | INJECTED_KEYS | {"id"}
    assert set(ok(call(admin, "GET", path, "2.57"))["quota_set"]) == QUOTA_KEYS | {"id"}
    detail = ok(call(admin, "GET", path + "/detail", "2.57"))["quota_set"]
    assert detail["cores"] == {"limit": old["cores"], "in_use": 0, "reserved": 0}
    defaults = ok(call(admin, "GET", path + "/defaults", "2.57"))["quota_set"]
    assert set(defaults) == QUOTA_KEYS | {"id"}


def test_quota_calls_on_an_unknown_project_are_400(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    message = "Project ID %s is not a valid project." % NO_PROJECT
    for method, suffix, body in (
        ("GET", "", None),
        ("GET", "/detail", None),
        ("GET", "/defaults", None),
        ("PUT", "", {"quota_set": {"cores": 5}}),
    ):
        assert fault(call(admin, method, "/os-quota-sets/" + NO_PROJECT + suffix, "2.1", body), 400) == message
    # Deleting does not look the project up.
    assert ok(call(admin, "DELETE", "/os-quota-sets/" + NO_PROJECT), 202) is None


def test_member_reads_its_own_quota_only_and_cannot_change_it(cloud: TargetCloud, scratch: Scratch) -> None:
    member = cloud.member()
    demo = cloud.project_id("demo")
    assert ok(call(member, "GET", "/os-quota-sets/%s/detail" % demo, "2.57"))["quota_set"]["id"] == demo
    assert fault(call(member, "GET", "/os-quota-sets/" + scratch.project_id, "2.57"), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed."
    )
    assert fault(call(member, "PUT", "/os-quota-sets/" + demo, "2.57", {"quota_set": {"cores": 5}}), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed."
    )
    assert fault(call(member, "DELETE", "/os-quota-sets/" + demo), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-sets:delete to be performed."
    )
    # Anyone may read the defaults.
    assert ok(call(member, "GET", "/os-quota-sets/%s/defaults" % scratch.project_id, "2.57"))["quota_set"]


def test_quota_update_is_validated_by_novas_schema(cloud: TargetCloud, scratch: Scratch) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/" + scratch.project_id

    def refused(mv: str, values: dict[str, Any]) -> str:
        return fault(call(admin, "PUT", path, mv, {"quota_set": values}), 400)

    assert refused("2.1", {"cores": -2}) == (
        "Invalid input for field/attribute cores. Value: -2. -2 is less than the minimum of -1"
    )
    assert refused("2.1", {"cores": 2147483648}) == (
        "Invalid input for field/attribute cores. Value: 2147483648. "
        "2147483648 is greater than the maximum of 2147483647"
    )
    assert refused("2.1", {"cores": "many"}) == (
        "Invalid input for field/attribute cores. Value: many. 'many' does not match '^-?[0-9]+$'"
    )
    assert refused("2.1", {"bogus": 1}) == (
        "Invalid input for field/attribute quota_set. Value: {'bogus': 1}. "
        "Additional properties are not allowed ('bogus' was unexpected)"
    )
    assert refused("2.36", {"floating_ips": 1}).endswith("('floating_ips' was unexpected)")
    assert refused("2.57", {"injected_files": 1}).endswith("('injected_files' was unexpected)")
    # The member's body is checked before its policy.
    assert fault(call(cloud.member(), "PUT", path, "2.1", {"quota_set": {"cores": -5}}), 400).endswith(
        "-5 is less than the minimum of -1"
    )


def test_quota_update_returns_the_new_limits_without_id(cloud: TargetCloud, scratch: Scratch) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/" + scratch.project_id
    before = ok(call(admin, "GET", path, "2.57"))["quota_set"]
    updated = ok(call(admin, "PUT", path, "2.57", {"quota_set": {"cores": 7, "ram": "2048", "instances": -1}}))
    expected = {k: v for k, v in before.items() if k != "id"} | {"cores": 7, "ram": 2048, "instances": -1}
    assert updated == {"quota_set": expected}
    assert ok(call(admin, "GET", path, "2.57"))["quota_set"] == expected | {"id": scratch.project_id}


def test_limit_below_usage_is_refused_unless_forced(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/" + scratch.project_id
    ok(
        call(
            scratch.member,
            "POST",
            "/os-server-groups",
            "2.64",
            {"server_group": {"name": unique_name, "policy": "affinity"}},
        )
    )
    detail = ok(call(admin, "GET", path + "/detail", "2.57"))["quota_set"]
    assert detail["server_groups"]["in_use"] == 1
    below = call(admin, "PUT", path, "2.57", {"quota_set": {"cores": 3, "server_groups": 0}})
    assert fault(below, 400) == (
        "Quota limit 0 for server_groups must be greater than or equal to already used and reserved 1."
    )
    # Nothing was written: every value is checked before any is stored.
    assert ok(call(admin, "GET", path, "2.57"))["quota_set"]["cores"] == detail["cores"]["limit"]
    forced = ok(call(admin, "PUT", path, "2.57", {"quota_set": {"server_groups": 0, "force": True}}))
    assert forced["quota_set"]["server_groups"] == 0
    assert (
        ok(call(admin, "PUT", path, "2.57", {"quota_set": {"server_groups": -1}}))["quota_set"]["server_groups"] == -1
    )


def test_quota_delete_reverts_to_defaults(cloud: TargetCloud, scratch: Scratch) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/" + scratch.project_id
    defaults = ok(call(admin, "GET", path + "/defaults", "2.57"))["quota_set"]
    ok(call(admin, "PUT", path, "2.57", {"quota_set": {"cores": defaults["cores"] + 1}}))
    assert ok(call(admin, "DELETE", path), 202) is None
    assert ok(call(admin, "GET", path, "2.57"))["quota_set"] == defaults


def test_user_quota_is_bounded_by_the_project(cloud: TargetCloud, scratch: Scratch) -> None:
    admin = cloud.admin()
    path = "/os-quota-sets/%s" % scratch.project_id
    user = "?user_id=" + cloud.user_id("demo2")
    ok(call(admin, "PUT", path, "2.57", {"quota_set": {"cores": 10}}))
    assert ok(call(admin, "PUT", path + user, "2.57", {"quota_set": {"cores": 4}}))["quota_set"]["cores"] == 4
    assert fault(call(admin, "PUT", path + user, "2.57", {"quota_set": {"cores": 11}}), 400) == (
        "Quota limit 11 for cores must be less than or equal to 10."
    )
    assert ok(call(admin, "GET", path + user, "2.57"))["quota_set"]["cores"] == 4
    assert ok(call(admin, "GET", path + "/detail" + user, "2.57"))["quota_set"]["cores"]["limit"] == 4
    # The project limit may not drop below what its users were handed.
    assert fault(call(admin, "PUT", path, "2.57", {"quota_set": {"cores": 3}}), 400) == (
        "Quota limit 3 for cores must be greater than or equal to already used and reserved 4."
    )
    assert ok(call(admin, "DELETE", path + user), 202) is None
    assert ok(call(admin, "GET", path + user, "2.57"))["quota_set"]["cores"] == 10


def test_quota_class_default_show_and_update(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    shown = ok(call(admin, "GET", "/os-quota-class-sets/default", "2.57"))["quota_class_set"]
    assert set(shown) == QUOTA_KEYS | {"id"} and shown["id"] == "default"
    old = ok(call(admin, "GET", "/os-quota-class-sets/default", "2.1"))["quota_class_set"]
    assert set(old) == (QUOTA_KEYS - {"server_groups", "server_group_members"}) | NETWORK_KEYS | INJECTED_KEYS | {"id"}
    # Write back the value it has: the defaults of the shared cloud do not move.
    same = {"metadata_items": shown["metadata_items"]}
    updated = ok(call(admin, "PUT", "/os-quota-class-sets/default", "2.57", {"quota_class_set": same}))
    assert updated == {"quota_class_set": {k: v for k, v in shown.items() if k != "id"}}
    assert fault(
        call(admin, "PUT", "/os-quota-class-sets/default", "2.57", {"quota_class_set": {"metadata_items": -2}}), 400
    ).endswith("-2 is less than the minimum of -1")
    assert fault(
        call(admin, "PUT", "/os-quota-class-sets/default", "2.57", {"quota_class_set": {"force": True}}), 400
    ).endswith("('force' was unexpected)")


def test_member_cannot_read_or_change_quota_classes(cloud: TargetCloud) -> None:
    member = cloud.member()
    assert fault(call(member, "GET", "/os-quota-class-sets/default", "2.57"), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-class-sets:show to be performed."
    )
    body = {"quota_class_set": {"cores": 1}}
    assert fault(call(member, "PUT", "/os-quota-class-sets/default", "2.57", body), 403) == (
        "Policy doesn't allow os_compute_api:os-quota-class-sets:update to be performed."
    )


def test_limits_report_absolute_limits_and_usage(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    admin = cloud.admin()
    ok(call(admin, "PUT", "/os-quota-sets/" + scratch.project_id, "2.57", {"quota_set": {"cores": 9}}))
    ok(
        call(
            scratch.member,
            "POST",
            "/os-server-groups",
            "2.64",
            {"server_group": {"name": unique_name, "policy": "affinity"}},
        )
    )
    mine = ok(call(scratch.member, "GET", "/limits", "2.57"))["limits"]
    assert mine["rate"] == []
    assert mine["absolute"]["maxTotalCores"] == 9
    assert mine["absolute"]["totalServerGroupsUsed"] == 1
    assert set(mine["absolute"]) == {
        "maxServerMeta",
        "maxTotalInstances",
        "maxTotalCores",
        "maxTotalRAMSize",
        "maxTotalKeypairs",
        "maxServerGroups",
        "maxServerGroupMembers",
        "totalCoresUsed",
        "totalInstancesUsed",
        "totalRAMUsed",
        "totalServerGroupsUsed",
    }
    assert ok(call(admin, "GET", "/limits?tenant_id=" + scratch.project_id, "2.57")) == {"limits": mine}
    old = ok(call(scratch.member, "GET", "/limits", "2.1"))["limits"]["absolute"]
    assert {"maxImageMeta", "maxPersonality", "maxSecurityGroups", "totalFloatingIpsUsed"} <= set(old)
    assert fault(call(scratch.member, "GET", "/limits?tenant_id=" + cloud.project_id("demo"), "2.57"), 403) == (
        "Policy doesn't allow os_compute_api:limits:other_project to be performed."
    )


# -- server groups ------------------------------------------------------------------------------------


def test_server_group_shapes_follow_the_microversion(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    member = scratch.member
    old = ok(
        call(
            member,
            "POST",
            "/os-server-groups",
            "2.1",
            {"server_group": {"name": unique_name, "policies": ["anti-affinity"]}},
        )
    )["server_group"]
    assert set(old) == {"id", "name", "policies", "members", "metadata"}
    assert old["policies"] == ["anti-affinity"] and old["metadata"] == {} and old["members"] == []
    new = ok(call(member, "GET", "/os-server-groups/" + old["id"], "2.64"))["server_group"]
    assert new == {
        "id": old["id"],
        "name": unique_name,
        "policy": "anti-affinity",
        "rules": {},
        "members": [],
        "project_id": scratch.project_id,
        "user_id": cloud.user_id("demo2"),
    }
    with_rule = ok(
        call(
            member,
            "POST",
            "/os-server-groups",
            "2.64",
            {
                "server_group": {
                    "name": unique_name + "-r",
                    "policy": "anti-affinity",
                    "rules": {"max_server_per_host": "1"},
                }
            },
        )
    )
    assert with_rule["server_group"]["rules"] == {"max_server_per_host": 1}
    listed = ok(call(member, "GET", "/os-server-groups", "2.13"))["server_groups"]
    assert {g["id"] for g in listed} == {old["id"], with_rule["server_group"]["id"]}
    assert all(g["project_id"] == scratch.project_id for g in listed)
    assert len(ok(call(member, "GET", "/os-server-groups?limit=1&offset=1", "2.64"))["server_groups"]) == 1
    assert ok(call(member, "DELETE", "/os-server-groups/" + old["id"], "2.64"), 204) is None
    assert fault(call(member, "GET", "/os-server-groups/" + old["id"], "2.64"), 404) == (
        "Instance group %s could not be found." % old["id"]
    )


def test_server_group_body_is_validated(cloud: TargetCloud, scratch: Scratch) -> None:
    member = scratch.member

    def refused(mv: str, group: dict[str, Any], status: int = 400) -> str:
        return fault(call(member, "POST", "/os-server-groups", mv, {"server_group": group}), status)

    assert refused("2.14", {"name": "g", "policies": ["soft-affinity"]}) == (
        "Invalid input for field/attribute 0. Value: soft-affinity. "
        "'soft-affinity' is not one of ['anti-affinity', 'affinity']"
    )
    assert refused("2.15", {"name": "g", "policies": ["affinity", "anti-affinity"]}).endswith(
        "['affinity', 'anti-affinity'] is too long"
    )
    assert refused("2.64", {"name": "g", "policies": ["affinity"]}).endswith("'policy' is a required property")
    assert refused("2.64", {"name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}) == (
        "Only anti-affinity policy supports rules."
    )
    assert refused("2.64", {"name": "", "policy": "affinity"}) == (
        "Invalid input for field/attribute name. Value: . '' should be non-empty"
    )
    # Without nova-compute services (devcloud and simulator) nova refuses this rule.
    assert refused("2.64", {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}, 409) == (
        "Creating an anti-affinity group with rule max_server_per_host > 1 is not yet supported."
    )


def test_server_group_beyond_quota_is_403(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    admin, member = cloud.admin(), scratch.member
    ok(call(admin, "PUT", "/os-quota-sets/" + scratch.project_id, "2.57", {"quota_set": {"server_groups": 1}}))
    body = {"server_group": {"name": unique_name, "policy": "affinity"}}
    ok(call(member, "POST", "/os-server-groups", "2.64", body))
    assert fault(call(member, "POST", "/os-server-groups", "2.64", body), 403) == (
        "Quota exceeded, too many server groups."
    )
    assert len(ok(call(member, "GET", "/os-server-groups", "2.64"))["server_groups"]) == 1


def test_server_groups_are_private_to_their_project(cloud: TargetCloud, scratch: Scratch, unique_name: str) -> None:
    admin, member = cloud.admin(), cloud.member()
    group = ok(
        call(
            scratch.member,
            "POST",
            "/os-server-groups",
            "2.64",
            {"server_group": {"name": unique_name, "policy": "affinity"}},
        )
    )["server_group"]
    assert group["id"] not in [g["id"] for g in ok(call(member, "GET", "/os-server-groups", "2.64"))["server_groups"]]
    # all_projects is an admin switch; a member silently gets its own groups.
    assert group["id"] not in [
        g["id"] for g in ok(call(member, "GET", "/os-server-groups?all_projects=1", "2.64"))["server_groups"]
    ]
    everyone = ok(call(admin, "GET", "/os-server-groups?all_projects=1", "2.64"))["server_groups"]
    assert group["id"] in [g["id"] for g in everyone]
    # Outside its project a group does not exist (nova filters by project for non-admins).
    missing = "Instance group %s could not be found." % group["id"]
    assert fault(call(member, "GET", "/os-server-groups/" + group["id"], "2.64"), 404) == missing
    assert fault(call(member, "DELETE", "/os-server-groups/" + group["id"], "2.64"), 404) == missing
    assert ok(call(admin, "GET", "/os-server-groups/" + group["id"], "2.64"))["server_group"]["id"] == group["id"]
