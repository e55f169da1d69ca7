"""Flavors and security groups end to end, as an admin and a tenant use them.

kingsync runs as ``kingsync all-in-one``; the admin and the tenant talk to
its API over HTTP with Keystone tokens, and the test reads what the regions
hold straight from each region's nova and neutron, never through kingsync.
Every scenario runs against the simulated regions and the real devcloud.

Stopping a region stops the devcloud's services of RegionThree (keystone
stays up) and always starts them again; do not run this module while
something else uses the devcloud.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import openstack.connection
import pytest
import requests

from kingsync.sync import sg_rules
from tests.conformance.conftest import TargetCloud, own_target
from tests.integration.test_deployments import Deployment
from tests.integration.test_quotas import _deploy, region_down

pytestmark = pytest.mark.slow

SOURCE = "RegionOne"
TARGETS = ["RegionTwo", "RegionThree"]
JOB_TIMEOUT = 90.0


@pytest.fixture(scope="module", params=["sim", pytest.param("real", marks=pytest.mark.devcloud)])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    yield from own_target(request.param, tmp_path_factory, seed=23)


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    yield from _deploy(request, "embedded", target, tmp_path_factory.mktemp(f"kinds-{target.kind}"))


class Caller:
    """Someone at kingsync's os-sync API with a Keystone token: the admin or a tenant."""

    def __init__(self, conn: openstack.connection.Connection, deployed: Deployment) -> None:
        self.conn = conn
        self.url = f"{deployed.url}/v1.0/{conn.current_project_id}/os-sync"

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.conn.session.get_token(), "Content-Type": "application/json"}

    def post(self, kind: str, resources: list[str], targets: list[str], force: bool = False) -> requests.Response:
        entry = {"resource_type": kind, "resources": resources, "source": SOURCE, "target": targets, "force": force}
        return requests.post(self.url, json={"resource_set": entry}, headers=self.headers(), timeout=60)

    def sync(self, kind: str, resources: list[str], targets: list[str] = TARGETS, force: bool = False) -> str:
        resp = self.post(kind, resources, targets, force)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["job_status"]["id"])

    def wait(self, job_id: str) -> tuple[str, dict[str, dict[str, Any]]]:
        """The job's status and its items by target region, once it has ended."""
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            items = requests.get(f"{self.url}/{job_id}", headers=self.headers(), timeout=30).json()["job_set"]
            if all(item["sync_status"] != "IN_PROGRESS" for item in items):
                jobs = requests.get(self.url, headers=self.headers(), timeout=30).json()["job_set"]
                status = next(job["sync_status"] for job in jobs if job["id"] == job_id)
                return status, {item["target_region"]: item for item in items}
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} still IN_PROGRESS after {JOB_TIMEOUT} s")

    def run(self, kind: str, resources: list[str], targets: list[str] = TARGETS, force: bool = False) -> Any:
        return self.wait(self.sync(kind, resources, targets, force))


def results(items: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {region: item["result"] for region, item in items.items()}


@pytest.fixture
def admin(target: TargetCloud, deployment: Deployment) -> Caller:
    return Caller(target.admin(), deployment)


@pytest.fixture
def tenant(target: TargetCloud, deployment: Deployment) -> Caller:
    return Caller(target.member(), deployment)


# -- flavors -------------------------------------------------------------------------------------------


def _nova(target: TargetCloud, region: str, method: str, path: str, **kwargs: Any) -> Any:
    resp = target.admin(region).compute.request(path, method, microversion="2.61", raise_exc=False, **kwargs)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def _flavor(target: TargetCloud, region: str, flavor_id: str) -> dict[str, Any] | None:
    resp = target.admin(region).compute.request(f"/flavors/{flavor_id}", "GET", microversion="2.61", raise_exc=False)
    if resp.status_code == 404:
        return None
    flavor = resp.json()["flavor"]
    access: list[str] = []
    if not flavor["os-flavor-access:is_public"]:
        listed = _nova(target, region, "GET", f"/flavors/{flavor_id}/os-flavor-access")["flavor_access"]
        access = sorted(entry["tenant_id"] for entry in listed)
    return {
        "name": flavor["name"],
        "ram": flavor["ram"],
        "vcpus": flavor["vcpus"],
        "description": flavor["description"],
        "extra_specs": flavor["extra_specs"],
        "access": access,
    }


@pytest.fixture
def private_flavor(target: TargetCloud) -> Iterator[str]:
    """A private flavor in RegionOne with extra specs, open to two projects; gone from every region afterwards."""
    flavor_id = "ks-" + uuid.uuid4().hex[:8]
    body = {
        "flavor": {
            "id": flavor_id,
            "name": "ks-e2e-" + flavor_id,
            "ram": 512,
            "vcpus": 1,
            "disk": 1,
            "os-flavor-access:is_public": False,
            "description": "kingsync e2e",
        }
    }
    _nova(target, SOURCE, "POST", "/flavors", json=body)
    _nova(
        target,
        SOURCE,
        "POST",
        f"/flavors/{flavor_id}/os-extra_specs",
        json={"extra_specs": {"hw:cpu_policy": "dedicated", "acme:tier": "gold"}},
    )
    for member in (target.member(), target.member2()):
        _nova(
            target,
            SOURCE,
            "POST",
            f"/flavors/{flavor_id}/action",
            json={"addTenantAccess": {"tenant": member.current_project_id}},
        )
    yield flavor_id
    for region in target.regions:
        target.admin(region).compute.request(f"/flavors/{flavor_id}", "DELETE", raise_exc=False)


def test_a_private_flavor_reaches_every_target_with_its_specs_and_access(
    target: TargetCloud, admin: Caller, private_flavor: str
) -> None:
    status, items = admin.run("flavor", [private_flavor])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"})
    source = _flavor(target, SOURCE, private_flavor)
    assert source is not None and len(source["access"]) == 2
    for region in TARGETS:
        assert _flavor(target, region, private_flavor) == source
        assert items[region]["target_id"] == private_flavor

    status, items = admin.run("flavor", [private_flavor])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "unchanged", "RegionThree": "unchanged"})


def test_a_tenant_may_not_sync_a_flavor(target: TargetCloud, tenant: Caller, private_flavor: str) -> None:
    assert tenant.post("flavor", [private_flavor], TARGETS).status_code == 403


def test_a_different_flavor_is_a_conflict_until_forced(target: TargetCloud, admin: Caller, private_flavor: str) -> None:
    assert admin.run("flavor", [private_flavor])[0] == "SUCCESS"
    # RegionTwo: the same id made anew with other ram (nova's flavors are immutable);
    # RegionThree: only an extra spec differs.
    _nova(target, "RegionTwo", "DELETE", f"/flavors/{private_flavor}")
    other = {"id": private_flavor, "name": "ks-e2e-" + private_flavor, "ram": 1024, "vcpus": 1, "disk": 1}
    _nova(target, "RegionTwo", "POST", "/flavors", json={"flavor": other})
    _nova(
        target,
        "RegionThree",
        "POST",
        f"/flavors/{private_flavor}/os-extra_specs",
        json={"extra_specs": {"acme:tier": "bronze"}},
    )

    status, items = admin.run("flavor", [private_flavor])
    assert (status, results(items)) == ("FAILURE", {"RegionTwo": "conflict", "RegionThree": "conflict"})
    assert "ram" in items["RegionTwo"]["error"] and "extra_specs" in items["RegionThree"]["error"]
    assert _flavor(target, "RegionTwo", private_flavor)["ram"] == 1024  # type: ignore[index]

    status, items = admin.run("flavor", [private_flavor], force=True)
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "replaced", "RegionThree": "updated"})
    source = _flavor(target, SOURCE, private_flavor)
    assert [_flavor(target, region, private_flavor) for region in TARGETS] == [source, source]


def test_a_stopped_region_fails_its_items_clearly_and_the_others_finish(
    target: TargetCloud, admin: Caller, private_flavor: str
) -> None:
    with region_down(target, "RegionThree"):
        status, items = admin.run("flavor", [private_flavor])
    assert status == "FAILURE"
    assert results(items) == {"RegionTwo": "created", "RegionThree": "error"}
    assert "gave up after" in items["RegionThree"]["error"]
    assert items["RegionThree"]["attempts"] >= 2
    status, items = admin.run("flavor", [private_flavor], targets=["RegionThree"])
    assert (status, results(items)) == ("SUCCESS", {"RegionThree": "created"})


# -- security groups ------------------------------------------------------------------------------------


def _groups(target: TargetCloud, region: str) -> dict[str, dict[str, Any]]:
    """The tenant's groups in ``region``, by name; the default group and this module's
    groups (ks-...) must be there once (kingsync never duplicates one)."""
    conn = target.member(region)
    found = conn.network.get("/security-groups?project_id=%s" % conn.current_project_id).json()["security_groups"]
    by_name: dict[str, dict[str, Any]] = {}
    for group in found:
        name = group["name"]
        if name == "default" or name.startswith("ks-"):
            assert name not in by_name, "two groups named %s in %s" % (name, region)
        by_name[name] = group
    return by_name


def _rules(groups: dict[str, dict[str, Any]], name: str) -> set[sg_rules.RuleKey]:
    """A group's rules, remote groups by name: comparable across regions."""
    names = {group["id"]: group_name for group_name, group in groups.items()}
    return {sg_rules.key(rule, remote=names.get) for rule in groups[name]["security_group_rules"]}


@pytest.fixture
def web_and_admin(target: TargetCloud) -> Iterator[tuple[str, str]]:
    """Two groups of the tenant's in RegionOne: web (http from anywhere, ssh from admin, all from
    itself) and admin (ssh from anywhere, and from web); gone from every region afterwards."""
    suffix = uuid.uuid4().hex[:6]
    web, adm = "ks-web-" + suffix, "ks-admin-" + suffix
    network = target.member(SOURCE).network
    web_group = network.create_security_group(name=web, description="web tier")
    admin_group = network.create_security_group(name=adm, description="bastion")
    for rule in list(web_group.security_group_rules) + list(admin_group.security_group_rules):
        network.delete_security_group_rule(rule["id"])  # the template egress rules
    project = web_group.project_id
    rules = [
        (
            web_group.id,
            {"protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"},
        ),
        (
            web_group.id,
            {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_group_id": admin_group.id},
        ),
        (web_group.id, {"remote_group_id": web_group.id}),
        (
            admin_group.id,
            {"protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"},
        ),
        (
            admin_group.id,
            {"protocol": "tcp", "port_range_min": 9100, "port_range_max": 9100, "remote_group_id": web_group.id},
        ),
    ]
    for group_id, rule in rules:
        network.create_security_group_rule(
            security_group_id=group_id, direction="ingress", ethertype="IPv4", project_id=project, **rule
        )
    yield web, adm
    for region in target.regions:
        groups = _groups(target, region)
        for name in (web, adm):
            if name in groups:
                target.member(region).network.delete_security_group(groups[name]["id"], ignore_missing=True)


def test_a_group_reaches_every_target_with_the_group_it_refers_to(
    target: TargetCloud, tenant: Caller, web_and_admin: tuple[str, str]
) -> None:
    web, adm = web_and_admin
    status, items = tenant.run("security_group", [web])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "created", "RegionThree": "created"})
    source = _groups(target, SOURCE)
    for region in TARGETS:
        copied = _groups(target, region)
        assert items[region]["target_id"] == copied[web]["id"]
        # The rules as in the source, remote groups mapped (the cycle too), no template rules left.
        assert _rules(copied, web) == _rules(source, web)
        assert _rules(copied, adm) == _rules(source, adm)
        assert copied[web]["description"] == "web tier"

    status, items = tenant.run("security_group", [web])
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "unchanged", "RegionThree": "unchanged"})


def test_a_different_group_is_a_conflict_until_forced(
    target: TargetCloud, tenant: Caller, web_and_admin: tuple[str, str]
) -> None:
    web, _ = web_and_admin
    assert tenant.run("security_group", [web], ["RegionTwo"])[0] == "SUCCESS"
    copy = _groups(target, "RegionTwo")[web]
    target.member("RegionTwo").network.create_security_group_rule(
        security_group_id=copy["id"],
        direction="ingress",
        ethertype="IPv4",
        protocol="udp",
        port_range_min=53,
        port_range_max=53,
        remote_ip_prefix="192.0.2.0/24",
    )

    status, items = tenant.run("security_group", [web], ["RegionTwo"])
    assert (status, results(items)) == ("FAILURE", {"RegionTwo": "conflict"})
    assert "1 extra" in items["RegionTwo"]["error"]

    status, items = tenant.run("security_group", [web], ["RegionTwo"], force=True)
    assert (status, results(items)) == ("SUCCESS", {"RegionTwo": "updated"})
    assert _rules(_groups(target, "RegionTwo"), web) == _rules(_groups(target, SOURCE), web)


def test_the_default_group_is_merged_not_duplicated(target: TargetCloud, tenant: Caller) -> None:
    source = target.member(SOURCE).network
    default = _groups(target, SOURCE)["default"]
    added = source.create_security_group_rule(
        security_group_id=default["id"],
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=8443,
        port_range_max=8443,
        remote_ip_prefix="198.51.100.0/24",
    )
    try:
        status, items = tenant.run("security_group", ["default"])
        assert status == "SUCCESS"
        assert set(results(items).values()) <= {"updated", "unchanged"}
        for region in TARGETS:
            groups = _groups(target, region)  # asserts one default group
            assert _rules(groups, "default") == _rules(_groups(target, SOURCE), "default")
    finally:
        source.delete_security_group_rule(added.id, ignore_missing=True)
        tenant.run("security_group", ["default"])  # and back to neutron's own default rules


def test_a_stopped_region_fails_its_group_clearly_and_the_other_finishes(
    target: TargetCloud, tenant: Caller, web_and_admin: tuple[str, str]
) -> None:
    web, adm = web_and_admin
    with region_down(target, "RegionThree"):
        status, items = tenant.run("security_group", [adm])
    assert (status, results(items)) == ("FAILURE", {"RegionTwo": "created", "RegionThree": "error"})
    assert "gave up after" in items["RegionThree"]["error"]
    status, items = tenant.run("security_group", [adm], ["RegionThree"])
    assert (status, results(items)) == ("SUCCESS", {"RegionThree": "created"})
