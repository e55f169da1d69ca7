"""Cinder: quota sets (with usage, per volume type keys, defaults, the
below-usage refusal), quota classes, volume types, and volumes that put usage
on a project, as kingsync drives them, on the wire.

Neither cloud runs a scheduler: a new volume stays ``creating``; being
host-less, it can be deleted in any status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import openstack.connection
import pytest
import requests

from tests.conformance.conftest import TargetCloud

Conn = openstack.connection.Connection
TYPE_KEYS = ("volumes___DEFAULT__", "gigabytes___DEFAULT__", "snapshots___DEFAULT__")
RESOURCES = (
    "volumes",
    "per_volume_gigabytes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    *TYPE_KEYS,
    "groups",
)


def call(conn: Conn, method: str, path: str, body: Any = None, mv: str | None = None) -> requests.Response:
    """One raw cinder request (errors are returned, not raised)."""
    kwargs: dict[str, Any] = {"raise_exc": False}
    if mv is not None:
        kwargs["microversion"] = mv
    if body is not None:
        kwargs["json"] = body
    resp: requests.Response = conn.block_storage.request(path, method, **kwargs)
    return resp


def fault(resp: requests.Response, status: int) -> str:
    """The message of ``{"<faultName>": {"code": ..., "message": ...}}``."""
    assert resp.status_code == status, resp.text
    ((_name, detail),) = resp.json().items()
    assert detail["code"] == status
    return str(detail["message"])


def usage(conn: Conn, project_id: str) -> dict[str, dict[str, int]]:
    resp = call(conn, "GET", f"/os-quota-sets/{project_id}?usage=True")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()["quota_set"]
    assert body.pop("id") == project_id
    return body


@pytest.fixture
def demo(cloud: TargetCloud) -> Iterator[str]:
    """The demo project; its quota rows are reset afterwards."""
    project_id = cloud.project_id("demo")
    yield project_id
    cloud.admin().block_storage.revert_quota_set(project_id)


@pytest.fixture
def volume(cloud: TargetCloud, unique_name: str) -> Iterator[Any]:
    """A 1 GiB volume of the demo project (it stays 'creating')."""
    member = cloud.member()
    created = member.block_storage.create_volume(size=1, name=unique_name)
    yield created
    member.block_storage.delete_volume(created, ignore_missing=True)


# -- discovery ----------------------------------------------------------------------------


def test_version_discovery_is_public_and_offers_3_71(cloud: TargetCloud) -> None:
    conn = cloud.admin()
    access = conn.session.auth.get_access(conn.session)
    url = access.service_catalog.url_for(service_type="block-storage", interface="public", region_name=cloud.regions[0])
    assert url.rstrip("/").endswith("/v3")
    root = url.rstrip("/")[: -len("/v3")] + "/"
    resp = requests.get(root, timeout=10)
    assert resp.status_code == 300
    (version,) = resp.json()["versions"]
    assert (version["id"], version["status"], version["min_version"], version["version"]) == (
        "v3.0",
        "CURRENT",
        "3.0",
        "3.71",
    )
    assert requests.get(url, timeout=10).status_code == 401  # the versioned root needs a token


def test_microversion_is_negotiated_and_echoed(cloud: TargetCloud, demo: str) -> None:
    admin = cloud.admin()
    resp = call(admin, "GET", f"/os-quota-sets/{demo}", mv="3.71")
    assert resp.headers["OpenStack-API-Version"] == "volume 3.71"
    resp = call(admin, "GET", f"/os-quota-sets/{demo}")
    assert resp.headers["OpenStack-API-Version"] == "volume 3.0"
    resp = call(admin, "GET", f"/os-quota-sets/{demo}", mv="3.72")
    assert fault(resp, 406) == "Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71."
    assert "computeFault" in resp.json()


def test_both_url_forms_and_a_foreign_project_in_the_url(cloud: TargetCloud, demo: str) -> None:
    admin = cloud.admin()
    own = cloud.project_id("admin")
    plain = call(admin, "GET", f"/os-quota-sets/{demo}").json()
    assert call(admin, "GET", f"/{own}/os-quota-sets/{demo}").json() == plain
    assert fault(call(admin, "GET", f"/{demo}/os-quota-sets/{demo}"), 400) == "Malformed request url"


# -- quota sets --------------------------------------------------------------------------------


def test_quota_show_with_usage_has_every_key(cloud: TargetCloud, demo: str) -> None:
    shown = usage(cloud.member(), demo)
    assert tuple(shown) == RESOURCES
    for key in RESOURCES:
        assert set(shown[key]) == {"limit", "in_use", "reserved"}
    quota = cloud.member().block_storage.get_quota_set(demo, usage=True)
    assert quota.usage["volumes"] == shown["volumes"]["in_use"]


def test_quota_defaults_include_the_default_volume_type(cloud: TargetCloud, demo: str) -> None:
    resp = call(cloud.admin(), "GET", f"/os-quota-sets/{demo}/defaults")
    assert resp.json() == {
        "quota_set": {
            "volumes": 10,
            "per_volume_gigabytes": -1,
            "snapshots": 10,
            "gigabytes": 1000,
            "backups": 10,
            "backup_gigabytes": 1000,
            "volumes___DEFAULT__": -1,
            "gigabytes___DEFAULT__": -1,
            "snapshots___DEFAULT__": -1,
            "groups": 10,
            "id": demo,
        }
    }
    defaults = cloud.member().block_storage.get_quota_set_defaults(demo)
    assert (defaults.volumes, defaults.gigabytes) == (10, 1000)


def test_quota_update_answers_the_limits_without_id(cloud: TargetCloud, demo: str) -> None:
    admin = cloud.admin()
    resp = call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"backups": 7, "volumes___DEFAULT__": 4}})
    body = resp.json()["quota_set"]
    assert resp.status_code == 200 and "id" not in body
    assert (body["backups"], body["volumes___DEFAULT__"]) == (7, 4)
    updated = admin.block_storage.update_quota_set(demo, snapshots=6)
    assert updated.snapshots == 6
    resp = call(admin, "DELETE", f"/os-quota-sets/{demo}")
    assert (resp.status_code, resp.content) == (200, b"")
    assert call(admin, "GET", f"/os-quota-sets/{demo}").json()["quota_set"]["backups"] == 10
    assert call(admin, "DELETE", f"/os-quota-sets/{demo}").status_code == 200  # nothing left: still 200


def test_quota_update_validation(cloud: TargetCloud, demo: str) -> None:
    admin = cloud.admin()

    def put(body: Any) -> str:
        return fault(call(admin, "PUT", f"/os-quota-sets/{demo}", body), 400)

    assert (
        put({"quota_set": {"bogus": 1, "other": 2}}) == "Invalid input received: Bad key(s) in quota set: bogus, other"
    )
    assert put({"quota_set": {"volumes": 1, "force": True}}) == "Invalid input received: Bad key(s) in quota set: force"
    assert put({"quota_set": {"volumes": -2}}) == "volumes must be >= -1"
    assert put({"quota_set": {"volumes": "abc"}}) == "volumes must be an integer"
    assert put({"quota_set": {"volumes": 2147483648}}) == "volumes must be <= 2147483647"
    assert put({"quota_set": {}}) == "Invalid input for field/attribute quota_set. Value: {}. {} should be non-empty"
    assert put({"quota": {"volumes": 1}}) == "'quota_set' is a required property"
    assert put({"quota_set": {"volumes": 1}, "x": 1}) == "Additional properties are not allowed ('x' was unexpected)"
    # values are checked key by key, bad keys only after all of them
    assert put({"quota_set": {"bogus": 1, "gigabytes": -5}}) == "gigabytes must be >= -1"
    assert call(admin, "GET", f"/os-quota-sets/{demo}").json()["quota_set"]["volumes"] == 10


def test_usage_parameter_must_be_a_boolean(cloud: TargetCloud, demo: str) -> None:
    resp = call(cloud.admin(), "GET", f"/os-quota-sets/{demo}?usage=bogus")
    assert fault(resp, 400) == "Value 'bogus' for 'usage' is not a boolean."


def test_member_reads_its_own_quota_but_cannot_change_it(cloud: TargetCloud, demo: str) -> None:
    member = cloud.member()
    assert member.block_storage.get_quota_set(demo).volumes == 10
    resp = call(member, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"volumes": 5}})
    assert fault(resp, 403) == "Policy doesn't allow volume_extension:quotas:update to be performed."
    resp = call(member, "DELETE", f"/os-quota-sets/{demo}")
    assert fault(resp, 403) == "Policy doesn't allow volume_extension:quotas:delete to be performed."
    resp = call(member, "GET", f"/os-quota-sets/{cloud.project_id('demo2')}")
    assert fault(resp, 403) == "Policy doesn't allow volume_extension:quotas:show to be performed."


def test_quota_for_an_unknown_project_is_accepted(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    nobody = uuid.uuid4().hex
    try:
        assert admin.block_storage.update_quota_set(nobody, volumes=3).volumes == 3
    finally:
        admin.block_storage.revert_quota_set(nobody)


def test_quota_class_default(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    shown = call(admin, "GET", "/os-quota-class-sets/default").json()["quota_class_set"]
    assert (shown["id"], shown["volumes"], shown["volumes___DEFAULT__"]) == ("default", 10, -1)
    resp = call(admin, "PUT", "/os-quota-class-sets/default", {"quota_class_set": {"bogus": 1}})
    assert fault(resp, 400) == "Invalid input received: Bad key(s) in quota class set: bogus"
    resp = call(cloud.member(), "GET", "/os-quota-class-sets/default")
    assert fault(resp, 403) == "Policy doesn't allow volume_extension:quota_classes:get to be performed."


# -- volumes and usage ---------------------------------------------------------------------------


def test_volume_create_raises_usage_and_per_type_usage(cloud: TargetCloud, demo: str, unique_name: str) -> None:
    member = cloud.member()
    before = usage(member, demo)
    created = member.block_storage.create_volume(size=2, name=unique_name)
    try:
        assert (created.status, created.size, created.volume_type) == ("creating", 2, "__DEFAULT__")
        after = usage(member, demo)
        for key, grown in (("volumes", 1), ("gigabytes", 2), ("volumes___DEFAULT__", 1), ("gigabytes___DEFAULT__", 2)):
            assert after[key]["in_use"] == before[key]["in_use"] + grown, key
        limits = call(member, "GET", "/limits").json()["limits"]["absolute"]
        assert limits["totalVolumesUsed"] == after["volumes"]["in_use"]
    finally:
        member.block_storage.delete_volume(created)
    assert usage(member, demo)["volumes"]["in_use"] == before["volumes"]["in_use"]


def test_volume_reset_status_then_delete(cloud: TargetCloud, volume: Any) -> None:
    admin, member = cloud.admin(), cloud.member()
    resp = call(member, "POST", f"/volumes/{volume.id}/action", {"os-reset_status": {"status": "error"}})
    assert (
        fault(resp, 403) == "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed."
    )
    resp = call(admin, "POST", f"/volumes/{volume.id}/action", {"os-reset_status": {"status": "bogus"}})
    assert fault(resp, 400).startswith("Volume status: bogus is invalid, valid statuses are: ('creating', 'available',")
    resp = call(admin, "POST", f"/volumes/{volume.id}/action", {"os-reset_status": {}})
    assert fault(resp, 400) == "Must specify 'status', 'attach_status' or 'migration_status' for update."
    admin.block_storage.reset_volume_status(volume, status="error", attach_status=None, migration_status=None)
    assert member.block_storage.get_volume(volume.id).status == "error"
    resp = call(member, "DELETE", f"/volumes/{volume.id}")
    assert resp.status_code == 202
    resp = call(member, "GET", f"/volumes/{volume.id}")
    assert fault(resp, 404) == f"Volume {volume.id} could not be found."


def test_a_creating_volume_without_host_deletes_directly(cloud: TargetCloud, volume: Any) -> None:
    member = cloud.member()
    assert member.block_storage.get_volume(volume.id).status == "creating"
    assert call(member, "DELETE", f"/volumes/{volume.id}").status_code == 202
    assert call(member, "GET", f"/volumes/{volume.id}").status_code == 404


def test_volume_views_by_microversion(cloud: TargetCloud, volume: Any) -> None:
    member, admin = cloud.member(), cloud.admin()
    old = call(member, "GET", f"/volumes/{volume.id}").json()["volume"]
    assert "volume_type_id" not in old and "consumes_quota" not in old
    assert old["os-vol-tenant-attr:tenant_id"] == cloud.project_id("demo")
    assert old["bootable"] == "false" and old["created_at"].endswith(".000000")
    new = call(member, "GET", f"/volumes/{volume.id}", mv="3.71").json()["volume"]
    assert new["consumes_quota"] is True and new["shared_targets"] is True and new["group_id"] is None
    assert "os-vol-host-attr:host" not in new and "migration_status" not in new
    full = call(admin, "GET", f"/volumes/{volume.id}", mv="3.71").json()["volume"]
    assert full["os-vol-host-attr:host"] is None and full["cluster_name"] is None
    brief = call(member, "GET", "/volumes").json()["volumes"]
    assert {"id": volume.id, "name": volume.name, "links": new["links"]} in brief
    # admin lists its own project's volumes unless it asks for all
    assert volume.id not in {v["id"] for v in call(admin, "GET", "/volumes").json()["volumes"]}
    everyone = call(admin, "GET", "/volumes?all_tenants=1").json()["volumes"]
    assert volume.id in {v["id"] for v in everyone}


def test_volume_create_validation(cloud: TargetCloud) -> None:
    member = cloud.member()

    def post(body: Any, status: int = 400) -> str:
        return fault(call(member, "POST", "/volumes", body), status)

    assert (
        post({"volume": {"size": 0}})
        == "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"
    )
    assert (
        post({"volume": {"size": "x"}})
        == "Invalid input for field/attribute size. Value: x. 'x' does not match '^[0-9]+$'"
    )
    assert post({"vol": {"size": 1}}) == "'volume' is a required property"
    assert post({"volume": {"size": 1, "volume_type": "nope"}}, 404) == "Volume type with name nope could not be found."


def test_lowering_a_limit_below_usage_is_refused_once_the_project_has_its_own(
    cloud: TargetCloud, demo: str, volume: Any
) -> None:
    admin = cloud.admin()
    in_use = usage(admin, demo)["volumes"]["in_use"]
    assert in_use >= 1
    # "volumes" still follows the defaults: cinder does not compare
    resp = call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"volumes": in_use - 1}})
    assert resp.status_code == 200, resp.text
    # now that the project has its own "volumes" limit, it does
    resp = call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"volumes": in_use - 1}})
    assert fault(resp, 400) == (
        "Quota volumes limit must be equal or greater than existing resources. Current usage is %d and the "
        "requested limit is %d." % (in_use, in_use - 1)
    )
    assert call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"volumes": -1}}).status_code == 200
    call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"per_volume_gigabytes": 5}})
    # per_volume_gigabytes is never compared with usage
    assert call(admin, "PUT", f"/os-quota-sets/{demo}", {"quota_set": {"per_volume_gigabytes": 0}}).status_code == 200


def test_creating_beyond_quota_is_413(cloud: TargetCloud, demo: str, volume: Any) -> None:
    admin, member = cloud.admin(), cloud.member()
    in_use = usage(admin, demo)
    admin.block_storage.update_quota_set(demo, volumes=in_use["volumes"]["in_use"])
    resp = call(member, "POST", "/volumes", {"volume": {"size": 1}})
    assert fault(resp, 413) == (
        "VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota 'volumes'."
        % in_use["volumes"]["in_use"]
    )
    assert resp.headers["Retry-After"] == "0" and resp.json()["overLimit"]["retryAfter"] == "0"
    admin.block_storage.update_quota_set(demo, volumes=-1, gigabytes=in_use["gigabytes"]["in_use"])
    resp = call(member, "POST", "/volumes", {"volume": {"size": 1}})
    assert fault(resp, 413) == (
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested "
        "1G, quota is %dG and %dG has been consumed." % (in_use["gigabytes"]["in_use"], in_use["gigabytes"]["in_use"])
    )
    admin.block_storage.update_quota_set(demo, gigabytes=-1, per_volume_gigabytes=1)
    resp = call(member, "POST", "/volumes", {"volume": {"size": 2}})
    assert (
        fault(resp, 413) == "VolumeSizeExceedsLimit: Requested volume size 2G is larger than maximum allowed limit 1G."
    )
    admin.block_storage.update_quota_set(
        demo, per_volume_gigabytes=-1, **{"volumes___DEFAULT__": in_use["volumes___DEFAULT__"]["in_use"]}
    )
    resp = call(member, "POST", "/volumes", {"volume": {"size": 1}})
    assert fault(resp, 413).endswith("exceeded for quota 'volumes___DEFAULT__'.")
    assert usage(admin, demo)["volumes"]["in_use"] == in_use["volumes"]["in_use"]


# -- volume types ---------------------------------------------------------------------------------


def test_the_default_volume_type(cloud: TargetCloud) -> None:
    admin, member = cloud.admin(), cloud.member()
    (listed,) = call(member, "GET", "/types").json()["volume_types"]
    assert (listed["name"], listed["description"], listed["is_public"]) == ("__DEFAULT__", "Default Volume Type", True)
    assert listed["os-volume-type-access:is_public"] is True and "qos_specs_id" not in listed
    shown = call(admin, "GET", "/types/default").json()["volume_type"]
    assert shown["id"] == listed["id"] and shown["qos_specs_id"] is None
    assert "os-volume-type-access:is_public" not in shown
    assert [t.name for t in member.block_storage.types()] == ["__DEFAULT__"]
    missing = str(uuid.uuid4())
    assert fault(call(admin, "GET", f"/types/{missing}"), 404) == f"Volume type {missing} could not be found."
