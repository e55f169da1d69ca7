"""kingsync's regional quota client against nova, neutron and cinder: the
simulator and the real devcloud (tools/devcloud/devcloud up), the same
scenarios on both.

kingsync acts with its own service user through kingsync.regions, as the
engine does. Usage is real: server groups (nova), networks, ports and
security groups (neutron), volumes (cinder; with no scheduler they stay
'creating' and are deleted directly), in a project made for each test.

The real cloud is skipped when the devcloud is not running, except under
CI=true, where it fails.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import openstack.connection
import pytest

from kingsync.quota.model import RegionError, ServiceQuota
from kingsync.quota.regional import NOVA_KEYS, OpenStackQuotas
from tests.conformance.conftest import TargetCloud, own_target
from tests.functional.quota.service_user import kingsync_regions

Conn = openstack.connection.Connection
REGION = "RegionTwo"
NEUTRON_KEYS = {"network", "subnet", "subnetpool", "port", "rbac_policy", "security_group", "security_group_rule"}
CINDER_KEYS = {
    "volumes",
    "snapshots",
    "gigabytes",
    "backups",
    "backup_gigabytes",
    "groups",
    "per_volume_gigabytes",
    "volumes___DEFAULT__",
    "snapshots___DEFAULT__",
    "gigabytes___DEFAULT__",
}


@pytest.fixture(scope="module", params=["sim", pytest.param("real", marks=pytest.mark.devcloud)])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    yield from own_target(request.param, tmp_path_factory, seed=11)


@pytest.fixture(scope="module")
def quotas(target: TargetCloud) -> Iterator[OpenStackQuotas]:
    """The client as the engine makes it: kingsync.regions with [regions] set
    to kingsync's service user."""
    with kingsync_regions(target.auth_url):
        yield OpenStackQuotas()


class Project:
    """A project of its own for one test, demo2 a member of it; what the
    test creates in it is deleted afterwards, then the project."""

    def __init__(self, cloud: TargetCloud) -> None:
        self.cloud = cloud
        self.name = "ks-quota-" + uuid.uuid4().hex[:10]
        admin = cloud.admin()
        self.id = str(admin.identity.create_project(name=self.name, domain_id="default").id)
        role = admin.identity.find_role("member", ignore_missing=False)
        admin.identity.assign_project_role_to_user(self.id, cloud.user_id("demo2"), role)
        self._members: dict[str, Conn] = {}
        self.cleanup = contextlib.ExitStack()

    def member(self, region: str) -> Conn:
        if region not in self._members:
            conn = self.cloud.member2(region).connect_as_project(self.name)
            self._members[region] = conn
            self.cleanup.callback(conn.close)
        return self._members[region]

    def server_groups(self, region: str, count: int) -> None:
        member = self.member(region)
        for index in range(count):
            body = {"server_group": {"name": "%s-%d" % (self.name, index), "policies": ["affinity"]}}
            resp = member.compute.post("/os-server-groups", json=body, microversion="2.1", raise_exc=False)
            assert resp.status_code == 200, resp.text
            path = "/os-server-groups/" + resp.json()["server_group"]["id"]
            self.cleanup.callback(member.compute.delete, path, raise_exc=False)

    def network_with_port(self, region: str) -> None:
        """A flat network on a physical network of its own, and a port on it."""
        admin = self.cloud.admin(region)
        network = admin.network.create_network(
            name=self.name,
            project_id=self.id,
            provider_network_type="flat",
            provider_physical_network=self.name,
        )
        self.cleanup.callback(admin.network.delete_network, network, ignore_missing=True)
        port = admin.network.create_port(network_id=network.id, project_id=self.id, name=self.name)
        self.cleanup.callback(admin.network.delete_port, port, ignore_missing=True)

    def security_group(self, region: str) -> None:
        """One group of the project's own (neutron adds its ``default`` group)."""
        admin = self.cloud.admin(region)
        group = admin.network.create_security_group(name=self.name, project_id=self.id)
        self.cleanup.callback(admin.network.delete_security_group, group, ignore_missing=True)

    def volume(self, region: str, size: int = 1) -> None:
        member = self.member(region)
        volume = member.block_storage.create_volume(size=size, name=self.name)
        self.cleanup.callback(member.block_storage.delete_volume, volume, ignore_missing=True)

    def close(self) -> None:
        self.cleanup.close()
        for region in self.cloud.regions:
            admin = self.cloud.admin(region)
            admin.compute.delete("/os-quota-sets/" + self.id, raise_exc=False)
            admin.network.delete("/quotas/" + self.id, raise_exc=False)
            admin.block_storage.delete("/os-quota-sets/" + self.id, raise_exc=False)
            # neutron made a default group wherever the project was touched
            for group in admin.network.security_groups(project_id=self.id):
                admin.network.delete_security_group(group, ignore_missing=True)
        self.cloud.admin().identity.delete_project(self.id)


@pytest.fixture
def project(target: TargetCloud) -> Iterator[Project]:
    made = Project(target)
    try:
        yield made
    finally:
        made.close()


def refusal(call: Callable[[], Any]) -> RegionError:
    with pytest.raises(RegionError) as caught:
        call()
    return caught.value


# -- reading ------------------------------------------------------------------------------


def test_nova_shows_the_keys_of_2_56_and_counts_server_groups(quotas: OpenStackQuotas, project: Project) -> None:
    project.server_groups(REGION, 2)
    read = quotas.read(REGION, "nova", project.id)
    assert set(read.limits) == set(read.usage) == NOVA_KEYS
    assert read.limits["cores"] == 20 and read.limits["server_groups"] == 10
    assert read.usage["server_groups"] == 2
    assert read.usage["cores"] == 0


def test_neutron_counts_networks_ports_and_security_groups(quotas: OpenStackQuotas, project: Project) -> None:
    project.network_with_port(REGION)
    project.security_group(REGION)
    read = quotas.read(REGION, "neutron", project.id)
    assert set(read.limits) == set(read.usage) == NEUTRON_KEYS  # neither cloud runs the L3 plugin
    assert (read.usage["network"], read.usage["port"]) == (1, 1)
    assert read.usage["security_group"] == 2  # its own and neutron's default


def test_cinder_counts_volumes_and_per_type_keys(quotas: OpenStackQuotas, project: Project) -> None:
    project.volume(REGION, size=2)
    read = quotas.read(REGION, "cinder", project.id)
    assert set(read.limits) == set(read.usage) == CINDER_KEYS
    assert (read.usage["volumes"], read.usage["gigabytes"]) == (1, 2)
    assert (read.usage["volumes___DEFAULT__"], read.usage["gigabytes___DEFAULT__"]) == (1, 2)
    assert read.limits["volumes___DEFAULT__"] == -1


def test_usage_is_per_region(quotas: OpenStackQuotas, project: Project) -> None:
    project.server_groups("RegionOne", 1)
    assert quotas.read("RegionOne", "nova", project.id).usage["server_groups"] == 1
    assert quotas.read("RegionThree", "nova", project.id).usage["server_groups"] == 0


# -- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "limits"),
    [
        ("nova", {"cores": -1, "instances": 0, "server_groups": 4, "injected_files": 3}),
        ("neutron", {"network": -1, "port": 0, "security_group": 7}),
        ("cinder", {"volumes": 0, "gigabytes": -1, "volumes___DEFAULT__": 3}),
    ],
)
def test_write_answers_the_stored_limits(
    quotas: OpenStackQuotas, project: Project, service: str, limits: dict[str, int]
) -> None:
    answer = quotas.write(REGION, service, project.id, limits)
    assert dict(answer, **limits) == answer
    read = quotas.read(REGION, service, project.id)
    assert dict(read.limits) == dict(answer)
    # Another region is untouched.
    assert quotas.read("RegionThree", service, project.id).limits != read.limits


def test_nothing_to_write_is_no_call(quotas: OpenStackQuotas, project: Project) -> None:
    assert quotas.write(REGION, "cinder", project.id, {}) == {}


def test_nova_refuses_a_limit_below_usage(quotas: OpenStackQuotas, project: Project) -> None:
    project.server_groups(REGION, 2)
    error = refusal(lambda: quotas.write(REGION, "nova", project.id, {"cores": 5, "server_groups": 1}))
    assert (error.region, error.service, error.refused) == (REGION, "nova", True)
    assert error.message == (
        "Quota limit 1 for server_groups must be greater than or equal to already used and reserved 2."
    )
    # nova checks every key before writing any
    assert quotas.read(REGION, "nova", project.id).limits["cores"] == 20
    assert quotas.write(REGION, "nova", project.id, {"server_groups": 2})["server_groups"] == 2


def test_neutron_refuses_a_limit_below_usage(quotas: OpenStackQuotas, project: Project) -> None:
    project.network_with_port(REGION)
    error = refusal(lambda: quotas.write(REGION, "neutron", project.id, {"port": 0}))
    assert error.refused
    assert error.message == "Quota limit 0 for port must be greater than or equal to already used 1"
    assert quotas.read(REGION, "neutron", project.id).limits["port"] == 500
    assert quotas.write(REGION, "neutron", project.id, {"port": 1})["port"] == 1


def test_cinder_refuses_below_usage_only_keys_the_project_has_set(quotas: OpenStackQuotas, project: Project) -> None:
    project.volume(REGION)
    # volumes still follows the defaults: cinder does not compare, and stores 0 under usage 1
    assert quotas.write(REGION, "cinder", project.id, {"volumes": 0})["volumes"] == 0
    # now the project has a volumes row of its own: the same write is refused
    error = refusal(lambda: quotas.write(REGION, "cinder", project.id, {"volumes": 0}))
    assert error.refused
    assert error.message == (
        "Quota volumes limit must be equal or greater than existing resources. "
        "Current usage is 1 and the requested limit is 0."
    )
    assert quotas.write(REGION, "cinder", project.id, {"volumes": 1})["volumes"] == 1


def test_nova_refuses_an_unknown_project_the_others_show_defaults(quotas: OpenStackQuotas) -> None:
    nobody = uuid.uuid4().hex
    for call in (
        lambda: quotas.read(REGION, "nova", nobody),
        lambda: quotas.write(REGION, "nova", nobody, {"cores": 5}),
    ):
        error = refusal(call)
        assert error.refused and error.message == "Project ID %s is not a valid project." % nobody
    assert quotas.read(REGION, "neutron", nobody).limits["network"] == 100
    assert quotas.read(REGION, "cinder", nobody).limits["volumes"] == 10


def test_keys_a_service_does_not_know_are_refused_in_its_words(quotas: OpenStackQuotas, project: Project) -> None:
    error = refusal(lambda: quotas.write(REGION, "neutron", project.id, {"network": 5, "bogus": 1}))
    assert error.refused and error.message == "Unrecognized attribute(s) 'bogus'"
    error = refusal(lambda: quotas.write(REGION, "cinder", project.id, {"volumes_nosuchtype": 1}))
    assert error.refused and error.message == "Invalid input received: Bad key(s) in quota set: volumes_nosuchtype"
    assert quotas.read(REGION, "neutron", project.id).limits["network"] == 100


def test_nova_keys_outside_2_56_are_never_sent(quotas: OpenStackQuotas, project: Project) -> None:
    with pytest.raises(ValueError, match="floating_ips"):
        quotas.write(REGION, "nova", project.id, {"cores": 5, "floating_ips": 1})
    assert quotas.read(REGION, "nova", project.id).limits["cores"] == 20


def test_a_member_is_refused_with_the_policy_message(target: TargetCloud) -> None:
    """Whatever credentials it is given, a 403 is a refusal in the service's words."""
    member = OpenStackQuotas(target.member)
    demo = target.project_id("demo")
    expected = {
        "nova": "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.",
        "neutron": "rule:update_quota is disallowed by policy",
        "cinder": "Policy doesn't allow volume_extension:quotas:update to be performed.",
    }
    keys = {"nova": "cores", "neutron": "network", "cinder": "volumes"}
    for service, message in expected.items():
        error = refusal(functools.partial(member.write, REGION, service, demo, {keys[service]: 1}))
        assert (error.refused, error.message) == (True, message)
        assert isinstance(member.read(REGION, service, demo), ServiceQuota)  # its own quotas it may read


def test_many_threads_share_the_connections(quotas: OpenStackQuotas, project: Project, target: TargetCloud) -> None:
    expected = {(r, s): quotas.read(r, s, project.id) for r in target.regions for s in ("nova", "neutron", "cinder")}
    failures: list[BaseException] = []
    start = threading.Barrier(12)

    def work() -> None:
        start.wait()
        try:
            for _ in range(3):
                for (region, service), read in expected.items():
                    assert quotas.read(region, service, project.id) == read
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
