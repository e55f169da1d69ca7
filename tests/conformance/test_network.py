"""Neutron: security groups and rules, quotas with details and the
below-usage check, and the ports that put usage on a project, as kingsync
drives them, on the wire (status codes, shapes, error texts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import openstack.connection
import openstack.exceptions
import pytest
import requests

from tests.conformance.conftest import TargetCloud

Conn = openstack.connection.Connection


def call(conn: Conn, method: str, path: str, body: Any = None) -> requests.Response:
    """One raw neutron request (errors are returned, not raised)."""
    kwargs: dict[str, Any] = {"raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    resp: requests.Response = conn.network.request(path, method, **kwargs)
    return resp


def neutron_error(resp: requests.Response, status: int) -> tuple[str, str]:
    """(type, message) of ``{"NeutronError": {"type", "message", "detail"}}``."""
    assert resp.status_code == status, resp.text
    error = resp.json()["NeutronError"]
    assert error["detail"] == ""
    return error["type"], error["message"]


def endpoint(cloud: TargetCloud, conn: Conn, service_type: str) -> str:
    access = conn.session.auth.get_access(conn.session)
    url: str = access.service_catalog.url_for(
        service_type=service_type, interface="public", region_name=cloud.regions[0]
    )
    return url


@pytest.fixture
def scratch(cloud: TargetCloud, unique_name: str) -> Iterator[str]:
    """A new project nobody has touched in neutron yet; afterwards its groups
    and quota rows go, then the project."""
    admin = cloud.admin()
    project = admin.identity.create_project(name=unique_name, domain_id="default")
    try:
        yield str(project.id)
    finally:
        for group in admin.network.security_groups(project_id=project.id):
            admin.network.delete_security_group(group)
        call(admin, "DELETE", f"/quotas/{project.id}")
        admin.identity.delete_project(project)


@pytest.fixture
def member_group(cloud: TargetCloud, unique_name: str) -> Iterator[Any]:
    """A security group of the demo project, made by its member."""
    member = cloud.member()
    group = member.network.create_security_group(name=unique_name, description="conformance")
    yield group
    member.network.delete_security_group(group, ignore_missing=True)


def _rule_shape(rule: Any) -> tuple[str, str, str | None]:
    return rule["direction"], rule["ethertype"], rule["remote_group_id"]


# -- discovery ----------------------------------------------------------------------------


def test_version_discovery_needs_no_token(cloud: TargetCloud) -> None:
    resp = requests.get(endpoint(cloud, cloud.admin(), "network"), timeout=10)
    assert resp.status_code == 200
    (version,) = resp.json()["versions"]
    assert version["id"] == "v2.0" and version["status"] == "CURRENT"
    assert version["links"][0]["href"].endswith("/v2.0/")


def test_extensions_announce_the_quota_check_by_default(cloud: TargetCloud) -> None:
    aliases = {ext.alias for ext in cloud.admin().network.extensions()}
    assert {
        "security-group",
        "quotas",
        "quota_details",
        "quota-check-limit",
        "quota-check-limit-default",
        "project-id",
        "standard-attr-description",
        "standard-attr-revisions",
        "standard-attr-timestamp",
        "stateful-security-group",
        "security-groups-default-rules",
    } <= aliases
    assert "router" not in aliases  # no L3 plugin


def test_unknown_extension_is_404(cloud: TargetCloud) -> None:
    resp = call(cloud.admin(), "GET", "/extensions/no-such-thing")
    assert resp.status_code == 404


# -- the default security group -----------------------------------------------------------


def test_default_group_appears_on_first_list_not_on_quota_read(cloud: TargetCloud, scratch: str) -> None:
    admin = cloud.admin()
    before = admin.network.get_quota(scratch, details=True)
    assert before.security_groups == {"limit": 10, "used": 0, "reserved": 0}
    assert before.security_group_rules == {"limit": 100, "used": 0, "reserved": 0}

    (group,) = admin.network.security_groups(project_id=scratch)
    assert group.name == "default"
    assert group.description == "Default security group"
    assert group.project_id == scratch and group.stateful is True
    shapes = sorted(_rule_shape(r) for r in group.security_group_rules)
    assert shapes == sorted(
        [
            ("egress", "IPv4", None),
            ("egress", "IPv6", None),
            ("ingress", "IPv4", group.id),
            ("ingress", "IPv6", group.id),
        ]
    )
    for rule in group.security_group_rules:
        assert rule["protocol"] is None and rule["remote_ip_prefix"] is None
        assert rule["port_range_min"] is None and rule["port_range_max"] is None

    after = admin.network.get_quota(scratch, details=True)
    assert after.security_groups["used"] == 1
    assert after.security_group_rules["used"] == 4


def test_listing_rules_also_creates_the_default_group(cloud: TargetCloud, scratch: str) -> None:
    admin = cloud.admin()
    rules = list(admin.network.security_group_rules(project_id=scratch))
    assert len(rules) == 4
    assert all(r.belongs_to_default_sg is True for r in rules)
    (group,) = admin.network.security_groups(project_id=scratch)
    assert {r.security_group_id for r in rules} == {group.id}


def test_rules_nested_in_a_listed_group_leave_belongs_to_default_unset(cloud: TargetCloud, scratch: str) -> None:
    admin = cloud.admin()
    listed = call(admin, "GET", f"/security-groups?project_id={scratch}").json()["security_groups"][0]
    assert {r["belongs_to_default_sg"] for r in listed["security_group_rules"]} == {None}
    assert all("standard_attr_id" in r and r["tags"] == [] for r in listed["security_group_rules"])
    shown = call(admin, "GET", f"/security-groups/{listed['id']}").json()["security_group"]
    assert {r["belongs_to_default_sg"] for r in shown["security_group_rules"]} == {True}
    rule = call(admin, "GET", f"/security-group-rules/{listed['security_group_rules'][0]['id']}").json()
    assert "tags" not in rule["security_group_rule"]
    assert "standard_attr_id" not in rule["security_group_rule"]


def test_member_cannot_delete_its_default_group(cloud: TargetCloud) -> None:
    member = cloud.member()
    (group,) = member.network.security_groups(name="default")
    resp = call(member, "DELETE", f"/security-groups/{group.id}")
    assert neutron_error(resp, 409) == (
        "SecurityGroupCannotRemoveDefault",
        "Insufficient rights for removing default security group.",
    )


def test_default_group_cannot_be_renamed_nor_created(cloud: TargetCloud) -> None:
    member = cloud.member()
    (group,) = member.network.security_groups(name="default")
    resp = call(member, "PUT", f"/security-groups/{group.id}", {"security_group": {"name": "other"}})
    assert neutron_error(resp, 409) == (
        "SecurityGroupCannotUpdateDefault",
        "Updating default security group not allowed.",
    )
    resp = call(member, "POST", "/security-groups", {"security_group": {"name": "Default"}})
    assert neutron_error(resp, 409) == ("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")


def test_admin_may_delete_a_default_group_and_it_comes_back(cloud: TargetCloud, scratch: str) -> None:
    admin = cloud.admin()
    (first,) = admin.network.security_groups(project_id=scratch)
    admin.network.delete_security_group(first)
    (second,) = admin.network.security_groups(project_id=scratch)
    assert second.name == "default" and second.id != first.id


# -- security groups ------------------------------------------------------------------------


def test_new_group_comes_with_two_egress_rules(cloud: TargetCloud, member_group: Any) -> None:
    assert member_group.description == "conformance"
    assert member_group.project_id == cloud.project_id("demo")
    shapes = sorted(_rule_shape(r) for r in member_group.security_group_rules)
    assert shapes == [("egress", "IPv4", None), ("egress", "IPv6", None)]
    assert all(r["belongs_to_default_sg"] is False for r in member_group.security_group_rules)
    assert member_group.revision_number == 1


def test_member_sees_only_its_own_groups(cloud: TargetCloud, member_group: Any, unique_name: str) -> None:
    other = cloud.member2().network.create_security_group(name=unique_name + "-2")
    try:
        mine = {g.id for g in cloud.member().network.security_groups()}
        assert member_group.id in mine and other.id not in mine
        resp = call(cloud.member(), "GET", f"/security-groups/{other.id}")
        assert neutron_error(resp, 404) == ("SecurityGroupNotFound", f"Security group {other.id} does not exist")
        theirs = {g.id for g in cloud.admin().network.security_groups(project_id=cloud.project_id("demo2"))}
        assert other.id in theirs and member_group.id not in theirs
    finally:
        cloud.member2().network.delete_security_group(other)


def test_group_filters_and_fields(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    resp = call(member, "GET", f"/security-groups?name={member_group.name}&fields=id&fields=name")
    assert resp.json() == {"security_groups": [{"id": member_group.id, "name": member_group.name}]}
    resp = call(member, "GET", "/security-groups?bogus=1")
    assert neutron_error(resp, 400) == ("HTTPBadRequest", "['bogus'] is invalid attribute for filtering")


def test_group_update_changes_name_and_description(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    renamed = member_group.name + "-x"
    updated = member.network.update_security_group(member_group.id, name=renamed, description="d2")
    assert (updated.name, updated.description, updated.revision_number) == (renamed, "d2", 2)
    resp = call(member, "PUT", f"/security-groups/{member_group.id}", {"security_group": {"id": "x"}})
    assert neutron_error(resp, 400) == ("HTTPBadRequest", "Cannot update read-only attribute id")


def test_group_create_validation(cloud: TargetCloud) -> None:
    member = cloud.member()
    resp = call(member, "POST", "/security-groups", {"security_group": {"name": "x", "foo": 1}})
    assert neutron_error(resp, 400) == ("HTTPBadRequest", "Unrecognized attribute(s) 'foo'")
    resp = call(member, "POST", "/security-groups", {"security_group": {"name": "x", "description": None}})
    assert neutron_error(resp, 400) == (
        "HTTPBadRequest",
        "Invalid input for description. Reason: 'None' is not a valid string.",
    )
    resp = call(member, "POST", "/security-groups", {"security_group": {"name": "x", "stateful": "maybe"}})
    assert neutron_error(resp, 400) == (
        "InvalidInput",
        "Invalid input for operation: 'maybe' cannot be converted to boolean.",
    )
    other = cloud.project_id("demo2")
    resp = call(member, "POST", "/security-groups", {"security_group": {"name": "x", "project_id": other}})
    assert neutron_error(resp, 400)[1] == (
        "Specifying 'project_id' other than the authenticated project in request is not allowed for the current user."
    )


def test_admin_creates_a_group_in_another_project(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    admin = cloud.admin()
    group = admin.network.create_security_group(name=unique_name, project_id=scratch)
    assert group.project_id == scratch
    # creating it made the project's default group first
    assert {g.name for g in admin.network.security_groups(project_id=scratch)} == {"default", unique_name}


# -- rules ------------------------------------------------------------------------------------


def test_rule_prefix_gets_its_mask_and_a_normalized_cidr(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    host = member.network.create_security_group_rule(
        security_group_id=member_group.id,
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="10.1.2.3",
    )
    assert host.remote_ip_prefix == "10.1.2.3/32"
    net = call(
        member,
        "POST",
        "/security-group-rules",
        {
            "security_group_rule": {
                "security_group_id": member_group.id,
                "direction": "ingress",
                "remote_ip_prefix": "10.9.8.7/24",
            }
        },
    )
    assert net.status_code == 201, net.text
    body = net.json()["security_group_rule"]
    assert (body["remote_ip_prefix"], body["normalized_cidr"]) == ("10.9.8.7/24", "10.9.8.0/24")
    assert body["project_id"] == cloud.project_id("demo") and body["description"] == ""
    assert body["belongs_to_default_sg"] is False and body["revision_number"] == 0


def test_duplicate_rule_is_409_with_the_existing_id(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    first = member.network.create_security_group_rule(
        security_group_id=member_group.id,
        direction="ingress",
        protocol="tcp",
        port_range_min=443,
        port_range_max=443,
        remote_ip_prefix="192.0.2.0/24",
    )
    # "6" is tcp, and the same prefix: still the same rule
    resp = call(
        member,
        "POST",
        "/security-group-rules",
        {
            "security_group_rule": {
                "security_group_id": member_group.id,
                "direction": "ingress",
                "protocol": "6",
                "port_range_min": 443,
                "port_range_max": 443,
                "remote_ip_prefix": "192.0.2.0/24",
            }
        },
    )
    assert neutron_error(resp, 409) == (
        "SecurityGroupRuleExists",
        f"Security group rule already exists. Rule id is {first.id}.",
    )
    with pytest.raises(openstack.exceptions.ConflictException):
        member.network.create_security_group_rule(
            security_group_id=member_group.id, direction="egress", ether_type="IPv4"
        )


def test_rule_with_a_remote_group(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    (default,) = member.network.security_groups(name="default")
    rule = member.network.create_security_group_rule(
        security_group_id=member_group.id,
        direction="ingress",
        protocol="udp",
        port_range_min=53,
        port_range_max=53,
        remote_group_id=default.id,
    )
    assert rule.remote_group_id == default.id and rule.remote_ip_prefix is None
    listed = {r.id for r in member.network.security_group_rules(security_group_id=member_group.id)}
    assert rule.id in listed
    revision = member.network.get_security_group(member_group.id).revision_number
    assert revision > member_group.revision_number  # adding rules bumps the group


def test_invalid_rules_are_400_with_neutron_texts(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()

    def post(**fields: Any) -> tuple[str, str]:
        rule = {"security_group_id": member_group.id, "direction": "ingress", **fields}
        return neutron_error(call(member, "POST", "/security-group-rules", {"security_group_rule": rule}), 400)

    assert post(remote_ip_prefix="10.0.0.0/8", remote_group_id=member_group.id) == (
        "SecurityGroupMultipleRemoteEntites",
        "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.",
    )
    assert post(protocol="tcp", port_range_min=10, port_range_max=5) == (
        "SecurityGroupInvalidPortRange",
        "For TCP/UDP protocols, port_range_min must be <= port_range_max",
    )
    assert post(port_range_min=10, port_range_max=20) == (
        "SecurityGroupProtocolRequiredWithPorts",
        "Must also specify protocol if port range is given.",
    )
    assert post(protocol="gre", port_range_min=1, port_range_max=2) == (
        "SecurityGroupInvalidProtocolForPort",
        "Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.",
    )
    assert post(ethertype="IPv6", remote_ip_prefix="10.0.0.0/8") == (
        "SecurityGroupRuleParameterConflict",
        "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8",
    )
    assert post(remote_ip_prefix="nonsense") == ("InvalidCIDR", "Invalid CIDR nonsense given as IP prefix.")
    assert post(protocol="tcp", port_range_min=70000, port_range_max=70000) == (
        "SecurityGroupInvalidPortValue",
        "Invalid value for port 70000",
    )
    assert post(direction="sideways") == (
        "HTTPBadRequest",
        "Invalid input for direction. Reason: sideways is not in valid_values.",
    )
    assert post(protocol="ipv6-icmp") == (
        "SecurityGroupEthertypeConflictWithProtocol",
        "Invalid ethertype IPv4 for protocol ipv6-icmp.",
    )
    kind, message = post(protocol="foo")
    assert kind == "SecurityGroupRuleInvalidProtocol" and message.startswith(
        "Security group rule protocol foo not supported."
    )


def test_rule_normalisations(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    whole = member.network.create_security_group_rule(
        security_group_id=member_group.id, direction="ingress", protocol="udp", port_range_min=1, port_range_max=65535
    )
    assert (whole.port_range_min, whole.port_range_max) == (None, None)  # the whole range is no range
    icmp6 = member.network.create_security_group_rule(
        security_group_id=member_group.id, direction="ingress", ether_type="IPv6", protocol="icmp"
    )
    assert icmp6.protocol == "ipv6-icmp"
    v6 = member.network.create_security_group_rule(
        security_group_id=member_group.id,
        direction="ingress",
        ether_type="IPv6",
        protocol="tcp",
        remote_ip_prefix="2001:DB8::1/64",
    )
    assert v6.remote_ip_prefix == "2001:db8::1/64"


def test_rule_in_another_projects_group_is_refused(cloud: TargetCloud, member_group: Any) -> None:
    rule = {"security_group_id": member_group.id, "direction": "ingress", "protocol": "tcp"}
    resp = call(cloud.member2(), "POST", "/security-group-rules", {"security_group_rule": rule})
    assert neutron_error(resp, 403) == (
        "PolicyNotAuthorized",
        "rule:create_security_group_rule is disallowed by policy",
    )
    resp = call(cloud.member2(), "DELETE", f"/security-groups/{member_group.id}")
    assert neutron_error(resp, 404)[0] == "SecurityGroupNotFound"


def test_missing_group_and_rule_are_404(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    missing = str(uuid.uuid4())
    rule = {"security_group_id": missing, "direction": "ingress"}
    resp = call(admin, "POST", "/security-group-rules", {"security_group_rule": rule})
    assert neutron_error(resp, 404) == ("SecurityGroupNotFound", f"Security group {missing} does not exist")
    resp = call(admin, "GET", f"/security-group-rules/{missing}")
    assert neutron_error(resp, 404) == ("SecurityGroupRuleNotFound", f"Security group rule {missing} does not exist")
    resp = call(admin, "DELETE", f"/security-groups/{missing}")
    assert neutron_error(resp, 404) == ("SecurityGroupNotFound", f"Security group {missing} does not exist")


def test_bulk_rule_create_is_all_or_nothing(cloud: TargetCloud, member_group: Any) -> None:
    member = cloud.member()
    web = {"security_group_id": member_group.id, "direction": "ingress", "protocol": "tcp"}
    rules = [dict(web, port_range_min=80, port_range_max=80), dict(web, port_range_min=8080, port_range_max=8080)]
    resp = call(member, "POST", "/security-group-rules", {"security_group_rules": rules})
    assert resp.status_code == 201, resp.text
    assert sorted(r["port_range_min"] for r in resp.json()["security_group_rules"]) == [80, 8080]
    twice = [dict(web, port_range_min=81, port_range_max=81)] * 2
    resp = call(member, "POST", "/security-group-rules", {"security_group_rules": twice})
    assert neutron_error(resp, 409) == ("DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.")
    ports = {r.port_range_min for r in member.network.security_group_rules(security_group_id=member_group.id)}
    assert 81 not in ports


def test_deleting_a_group_deletes_its_rules(cloud: TargetCloud, unique_name: str) -> None:
    member = cloud.member()
    group = member.network.create_security_group(name=unique_name)
    rule = member.network.create_security_group_rule(security_group_id=group.id, direction="ingress", protocol="icmp")
    member.network.delete_security_group(group)
    resp = call(member, "GET", f"/security-group-rules/{rule.id}")
    assert neutron_error(resp, 404)[0] == "SecurityGroupRuleNotFound"


def test_deleting_a_group_deletes_rules_that_name_it_as_remote(
    cloud: TargetCloud, member_group: Any, unique_name: str
) -> None:
    member = cloud.member()
    remote = member.network.create_security_group(name=unique_name + "-remote")
    rule = member.network.create_security_group_rule(
        security_group_id=member_group.id, direction="ingress", remote_group_id=remote.id
    )
    member.network.delete_security_group(remote)
    assert rule.id not in {r.id for r in member.network.security_group_rules(security_group_id=member_group.id)}


# -- networks and ports -------------------------------------------------------------------------


def test_networks_need_an_admin_and_a_flat_provider(cloud: TargetCloud) -> None:
    resp = call(cloud.member(), "POST", "/networks", {"network": {"name": "x"}})
    assert neutron_error(resp, 503) == (
        "NoNetworkAvailable",
        "Unable to create the network. No project network is available for allocation.",
    )
    body = {"network": {"name": "x", "provider:network_type": "flat", "provider:physical_network": "p"}}
    resp = call(cloud.member(), "POST", "/networks", body)
    assert neutron_error(resp, 403) == (
        "PolicyNotAuthorized",
        "((rule:create_network and rule:create_network:provider:network_type) and "
        "rule:create_network:provider:physical_network) is disallowed by policy",
    )


@pytest.fixture
def shared_network(cloud: TargetCloud, unique_name: str) -> Iterator[Any]:
    """A shared flat network on a physical network of its own."""
    admin = cloud.admin()
    network = admin.network.create_network(
        name=unique_name, shared=True, provider_network_type="flat", provider_physical_network=unique_name
    )
    yield network
    for port in admin.network.ports(network_id=network.id):
        admin.network.delete_port(port)
    admin.network.delete_network(network)


def test_one_flat_network_per_physical_network(cloud: TargetCloud, shared_network: Any) -> None:
    assert shared_network.provider_network_type == "flat" and shared_network.status == "ACTIVE"
    assert shared_network.is_shared is True and shared_network.mtu == 1500
    body = {
        "network": {
            "name": "y",
            "provider:network_type": "flat",
            "provider:physical_network": shared_network.provider_physical_network,
        }
    }
    resp = call(cloud.admin(), "POST", "/networks", body)
    assert neutron_error(resp, 409) == (
        "FlatNetworkInUse",
        f"Unable to create the flat network. Physical network {shared_network.provider_physical_network} is in use.",
    )


def test_member_sees_a_shared_network_without_provider_details(cloud: TargetCloud, shared_network: Any) -> None:
    seen = call(cloud.member(), "GET", f"/networks/{shared_network.id}").json()["network"]
    assert seen["shared"] is True
    assert not [key for key in seen if key.startswith("provider:")]


def test_port_create_raises_port_usage(cloud: TargetCloud, shared_network: Any, unique_name: str) -> None:
    member = cloud.member()
    demo = cloud.project_id("demo")
    before = member.network.get_quota(demo, details=True).ports["used"]
    port = member.network.create_port(network_id=shared_network.id, name=unique_name)
    try:
        assert port.status == "DOWN" and port.fixed_ips == []
        (default,) = member.network.security_groups(name="default")
        assert port.security_group_ids == [default.id]
        assert member.network.get_quota(demo, details=True).ports["used"] == before + 1
        resp = call(cloud.admin(), "DELETE", f"/networks/{shared_network.id}")
        kind, message = neutron_error(resp, 409)
        assert kind == "NetworkInUse" and message.endswith(f"id for these ports is: {port.id}.")
    finally:
        member.network.delete_port(port)
    assert member.network.get_quota(demo, details=True).ports["used"] == before


def test_a_group_bound_to_a_port_is_in_use(cloud: TargetCloud, shared_network: Any, member_group: Any) -> None:
    member = cloud.member()
    port = member.network.create_port(network_id=shared_network.id, security_groups=[member_group.id])
    try:
        resp = call(member, "DELETE", f"/security-groups/{member_group.id}")
        assert neutron_error(resp, 409) == ("SecurityGroupInUse", f"Security Group {member_group.id} in use.")
    finally:
        member.network.delete_port(port)


def test_sharing_a_network_counts_an_rbac_policy(cloud: TargetCloud, shared_network: Any) -> None:
    admin = cloud.admin()
    details = admin.network.get_quota(shared_network.project_id, details=True)
    assert details.rbac_policies["used"] >= 1
    assert details.networks["used"] >= 1


# -- quotas --------------------------------------------------------------------------------------


def test_quota_resources_and_defaults(cloud: TargetCloud, scratch: str) -> None:
    resp = call(cloud.admin(), "GET", f"/quotas/{scratch}/default")
    assert resp.json() == {
        "quota": {
            "network": 100,
            "subnet": 100,
            "subnetpool": -1,
            "port": 500,
            "rbac_policy": 10,
            "security_group": 10,
            "security_group_rule": 100,
        }
    }
    shown = call(cloud.admin(), "GET", f"/quotas/{scratch}").json()
    assert shown == resp.json()  # no project_id in a single quota


def test_quota_update_below_usage_is_refused_unless_forced(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    admin = cloud.admin()
    admin.network.create_security_group(name=unique_name, project_id=scratch)  # with the default: 2 groups
    resp = call(admin, "PUT", f"/quotas/{scratch}", {"quota": {"security_group": 1}})
    assert neutron_error(resp, 400) == (
        "HTTPBadRequest",
        "Quota limit 1 for security_group must be greater than or equal to already used 2",
    )
    resp = call(admin, "PUT", f"/quotas/{scratch}", {"quota": {"security_group": 1, "check_limit": False}})
    assert resp.status_code == 400  # check_limit no longer turns the check off

    forced = admin.network.update_quota(scratch, security_groups=1, force=True)
    assert forced.security_groups == 1
    assert admin.network.get_quota(scratch, details=True).security_groups == {"limit": 1, "used": 2, "reserved": 0}
    resp = call(
        admin, "POST", "/security-groups", {"security_group": {"name": unique_name + "-3", "project_id": scratch}}
    )
    assert neutron_error(resp, 409) == ("OverQuota", "Quota exceeded for resources: ['security_group'].")

    admin.network.update_quota(scratch, security_groups=-1)  # -1 is never checked
    listed = {q.project_id: q for q in admin.network.quotas()}
    assert listed[scratch].security_groups == -1

    admin.network.delete_quota(scratch)
    assert admin.network.get_quota(scratch).security_groups == 10
    resp = call(admin, "DELETE", f"/quotas/{scratch}")
    assert neutron_error(resp, 404) == ("TenantQuotaNotFound", f"Quota for project {scratch} could not be found.")


def test_quota_update_validation(cloud: TargetCloud, scratch: str) -> None:
    admin = cloud.admin()

    def put(quota: dict[str, Any]) -> requests.Response:
        return call(admin, "PUT", f"/quotas/{scratch}", {"quota": quota})

    assert neutron_error(put({"bogus": 1}), 400) == ("HTTPBadRequest", "Unrecognized attribute(s) 'bogus'")
    assert neutron_error(put({"network": -2}), 400) == (
        "HTTPBadRequest",
        "Invalid input for network. Reason: '-2' is too small - must be at least '-1'.",
    )
    assert neutron_error(put({"network": "abc"}), 400) == (
        "InvalidInput",
        "Invalid input for operation: 'abc' is not an integer.",
    )
    assert neutron_error(put({"network": 2147483648}), 400)[1].endswith("must be no larger than '2147483647'.")
    assert put({"network": "7"}).json()["quota"]["network"] == 7


def test_member_reads_its_own_quota_but_cannot_change_any(cloud: TargetCloud) -> None:
    member = cloud.member()
    demo, other = cloud.project_id("demo"), cloud.project_id("demo2")
    assert member.network.get_quota(demo).security_group_rules >= 0
    assert member.network.get_quota(demo, details=True).security_groups["used"] >= 1
    resp = call(member, "PUT", f"/quotas/{demo}", {"quota": {"network": 5}})
    assert neutron_error(resp, 403) == ("PolicyNotAuthorized", "rule:update_quota is disallowed by policy")
    resp = call(member, "DELETE", f"/quotas/{demo}")
    assert neutron_error(resp, 403) == ("PolicyNotAuthorized", "rule:delete_quota is disallowed by policy")
    resp = call(member, "GET", f"/quotas/{other}")
    assert neutron_error(resp, 403) == ("PolicyNotAuthorized", "rule:get_quota is disallowed by policy")
    resp = call(member, "GET", f"/quotas/{other}/details")
    assert neutron_error(resp, 403) == (
        "AdminRequired",
        "User does not have admin privileges: Only admin is authorized to access quotas for another project.",
    )
    resp = call(member, "GET", "/quotas")
    assert neutron_error(resp, 403) == ("PolicyNotAuthorized", "rule:get_quota is disallowed by policy")


def test_quota_for_an_unknown_project_is_accepted(cloud: TargetCloud) -> None:
    admin = cloud.admin()
    nobody = uuid.uuid4().hex
    try:
        assert admin.network.update_quota(nobody, networks=3).networks == 3
    finally:
        admin.network.delete_quota(nobody)


# -- security groups as kingsync's sync drives them: its service user acting for a project ------

GROUP_KEYS = {
    "id",
    "name",
    "description",
    "stateful",
    "shared",
    "project_id",
    "tenant_id",
    "security_group_rules",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
}
RULE_KEYS = {
    "id",
    "project_id",
    "tenant_id",
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "normalized_cidr",
    "remote_group_id",
    "remote_address_group_id",
    "belongs_to_default_sg",
    "description",
    "created_at",
    "updated_at",
    "revision_number",
}


def _usage(conn: Conn, project_id: str) -> tuple[int, int]:
    """(security groups, rules) the project uses, as quota details count them."""
    quota = call(conn, "GET", f"/quotas/{project_id}/details").json()["quota"]
    return quota["security_group"]["used"], quota["security_group_rule"]["used"]


def _create_group(conn: Conn, project_id: str, name: str, stateful: bool = True) -> dict[str, Any]:
    body = {"security_group": {"name": name, "description": "synced", "stateful": stateful, "project_id": project_id}}
    resp = call(conn, "POST", "/security-groups", body)
    assert resp.status_code == 201, resp.text
    group: dict[str, Any] = resp.json()["security_group"]
    return group


def _by_rule_id(group: dict[str, Any]) -> dict[str, Any]:
    """The group with its rules in id order (neutron's order of a group's rules means nothing)."""
    return {**group, "security_group_rules": sorted(group["security_group_rules"], key=lambda r: r["id"])}


def test_sync_listing_for_a_project_creates_its_default_group(cloud: TargetCloud, scratch: str) -> None:
    service = cloud.service()
    assert _usage(service, scratch) == (0, 0)
    # Looking a name up for the project makes its default group, whatever the name.
    resp = call(service, "GET", f"/security-groups?project_id={scratch}&name=web")
    assert resp.status_code == 200 and resp.json() == {"security_groups": []}
    assert _usage(service, scratch) == (1, 4)
    (default,) = call(service, "GET", f"/security-groups?project_id={scratch}").json()["security_groups"]
    assert set(default) == GROUP_KEYS
    assert (default["name"], default["description"], default["stateful"], default["project_id"]) == (
        "default",
        "Default security group",
        True,
        scratch,
    )
    assert sorted(_rule_shape(r) for r in default["security_group_rules"]) == [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", default["id"]),
        ("ingress", "IPv6", default["id"]),
    ]
    named = call(service, "GET", f"/security-groups?project_id={scratch}&name=default").json()["security_groups"]
    assert [g["id"] for g in named] == [default["id"]]
    assert _usage(service, scratch) == (1, 4)


def test_sync_creates_a_group_for_a_project_with_the_template_rules(
    cloud: TargetCloud, scratch: str, unique_name: str
) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name, stateful=False)
    assert set(group) == GROUP_KEYS
    assert (group["name"], group["description"], group["stateful"], group["shared"]) == (
        unique_name,
        "synced",
        False,
        False,
    )
    assert (group["project_id"], group["tenant_id"], group["revision_number"]) == (scratch, scratch, 1)
    templates = [
        (r["direction"], r["ethertype"], r["protocol"], r["port_range_min"], r["port_range_max"])
        + (r["remote_ip_prefix"], r["remote_group_id"], r["description"], r["project_id"], r["belongs_to_default_sg"])
        for r in group["security_group_rules"]
    ]
    assert sorted(templates) == [
        ("egress", "IPv4", None, None, None, None, None, None, scratch, False),
        ("egress", "IPv6", None, None, None, None, None, None, scratch, False),
    ]
    # The project's default group came first: 2 groups, 4 + 2 rules.
    assert _usage(service, scratch) == (2, 6)
    shown = call(service, "GET", f"/security-groups/{group['id']}").json()["security_group"]
    assert _by_rule_id(shown) == _by_rule_id(group)
    missing = str(uuid.uuid4())
    assert neutron_error(call(service, "GET", f"/security-groups/{missing}"), 404) == (
        "SecurityGroupNotFound",
        f"Security group {missing} does not exist",
    )
    body = {"security_group": {"name": "default", "description": "", "stateful": True, "project_id": scratch}}
    assert neutron_error(call(service, "POST", "/security-groups", body), 409) == (
        "SecurityGroupDefaultAlreadyExists",
        "Default security group already exists.",
    )


def test_sync_updates_description_and_statefulness(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    body = {"security_group": {"description": "new words", "stateful": False}}
    resp = call(service, "PUT", f"/security-groups/{group['id']}", body)
    assert resp.status_code == 200, resp.text
    updated = resp.json()["security_group"]
    assert (updated["description"], updated["stateful"], updated["revision_number"]) == ("new words", False, 2)


def test_sync_cannot_change_statefulness_of_a_group_in_use(
    cloud: TargetCloud, scratch: str, shared_network: Any, unique_name: str
) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    port = {"port": {"network_id": shared_network.id, "project_id": scratch, "security_groups": [group["id"]]}}
    assert call(service, "POST", "/ports", port).status_code == 201
    path = f"/security-groups/{group['id']}"
    resp = call(service, "PUT", path, {"security_group": {"description": "d2", "stateful": True}})
    assert resp.status_code == 200 and resp.json()["security_group"]["description"] == "d2"
    resp = call(service, "PUT", path, {"security_group": {"description": "d3", "stateful": False}})
    assert neutron_error(resp, 409) == ("SecurityGroupInUse", f"Security Group {group['id']} in use.")
    shown = call(service, "GET", path).json()["security_group"]
    assert (shown["description"], shown["stateful"]) == ("d2", True)  # nothing of the refused update


def test_sync_bulk_creates_rules_with_remote_groups(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    other = _create_group(service, scratch, unique_name + "-other")
    mine = {"security_group_id": group["id"], "direction": "ingress", "project_id": scratch}
    rules = [
        {**mine, "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
        | {"remote_ip_prefix": "10.0.0.0/8", "description": "ssh"},
        {**mine, "ethertype": "IPv4", "remote_group_id": group["id"]},  # the group itself
        {**mine, "ethertype": "IPv6", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443}
        | {"remote_group_id": other["id"]},
    ]
    resp = call(service, "POST", "/security-group-rules", {"security_group_rules": rules})
    assert resp.status_code == 201, resp.text
    created = resp.json()["security_group_rules"]
    assert all(set(r) == RULE_KEYS for r in created)
    assert {(r["project_id"], r["security_group_id"], r["belongs_to_default_sg"]) for r in created} == {
        (scratch, group["id"], False)
    }
    assert {
        (r["ethertype"], r["port_range_min"], r["remote_ip_prefix"], r["remote_group_id"], r["description"])
        for r in created
    } == {
        ("IPv4", None, None, group["id"], ""),
        ("IPv4", 22, "10.0.0.0/8", None, "ssh"),
        ("IPv6", 443, None, other["id"], ""),
    }
    shown = call(service, "GET", f"/security-groups/{group['id']}").json()["security_group"]
    assert {r["id"] for r in created} <= {r["id"] for r in shown["security_group_rules"]}
    assert shown["revision_number"] == group["revision_number"] + 1  # one bump for the whole POST
    assert _usage(service, scratch) == (3, 4 + 2 + 2 + 3)


def test_sync_duplicate_rules_are_409(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    mine = {"security_group_id": group["id"], "direction": "ingress", "ethertype": "IPv4", "project_id": scratch}
    ssh = {**mine, "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "10.0.0.0/8"}
    resp = call(service, "POST", "/security-group-rules", {"security_group_rule": ssh})
    assert resp.status_code == 201, resp.text
    existing = resp.json()["security_group_rule"]["id"]
    exists = ("SecurityGroupRuleExists", f"Security group rule already exists. Rule id is {existing}.")
    # Against a rule the group has: the same text in a bulk POST and a single one; the
    # description does not count, and nothing of the bulk is created.
    web = {**mine, "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}

    def post(**body: Any) -> tuple[str, str]:
        return neutron_error(call(service, "POST", "/security-group-rules", body), 409)

    assert post(security_group_rules=[web, {**ssh, "description": "other words"}]) == exists
    assert post(security_group_rule=ssh) == exists
    shown = call(service, "GET", f"/security-groups/{group['id']}").json()["security_group"]
    assert 80 not in {r["port_range_min"] for r in shown["security_group_rules"]}
    # Twice in one POST (even when it also exists already) is another refusal.
    in_post = ("DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.")
    assert post(security_group_rules=[web, web]) == in_post
    assert post(security_group_rules=[ssh, ssh]) == in_post


def test_sync_bulk_rules_are_for_one_group_and_one_project(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    other = _create_group(service, scratch, unique_name + "-other")
    rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "project_id": scratch}
    two_groups = [rule, {**rule, "security_group_id": other["id"]}]
    resp = call(service, "POST", "/security-group-rules", {"security_group_rules": two_groups})
    assert neutron_error(resp, 400) == (
        "SecurityGroupNotSingleGroupRules",
        "Only allowed to update rules for one security profile at a time",
    )
    # Without project_id a rule belongs to the caller's project, not to the group's.
    unowned = {k: v for k, v in rule.items() if k != "project_id"} | {"protocol": "udp"}
    resp = call(service, "POST", "/security-group-rules", {"security_group_rules": [rule, unowned]})
    assert neutron_error(resp, 400) == (
        "SecurityGroupRulesNotSingleProject",
        "Multiple project_ids in bulk security group rule create not allowed",
    )
    resp = call(service, "POST", "/security-group-rules", {"security_group_rule": unowned})
    assert resp.status_code == 201, resp.text
    assert resp.json()["security_group_rule"]["project_id"] == cloud.project_id("service")


def test_sync_deletes_rules_and_usage_follows(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    assert _usage(service, scratch) == (2, 6)
    for rule in group["security_group_rules"]:
        resp = call(service, "DELETE", f"/security-group-rules/{rule['id']}")
        assert resp.status_code == 204 and resp.content == b""
    assert _usage(service, scratch) == (2, 4)
    shown = call(service, "GET", f"/security-groups/{group['id']}").json()["security_group"]
    assert shown["security_group_rules"] == []
    gone = group["security_group_rules"][0]["id"]
    assert neutron_error(call(service, "DELETE", f"/security-group-rules/{gone}"), 404) == (
        "SecurityGroupRuleNotFound",
        f"Security group rule {gone} does not exist",
    )


def test_sync_over_quota_is_409(cloud: TargetCloud, scratch: str, unique_name: str) -> None:
    service = cloud.service()
    group = _create_group(service, scratch, unique_name)
    assert _usage(service, scratch) == (2, 6)

    def set_quota(**values: int) -> None:
        assert call(service, "PUT", f"/quotas/{scratch}", {"quota": values}).status_code == 200

    set_quota(security_group=2)
    body = {"security_group": {"name": unique_name + "-2", "description": "", "stateful": True, "project_id": scratch}}
    assert neutron_error(call(service, "POST", "/security-groups", body), 409) == (
        "OverQuota",
        "Quota exceeded for resources: ['security_group'].",
    )
    set_quota(security_group_rule=7)
    rule = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "project_id": scratch}
    two = [{**rule, "port_range_min": 80, "port_range_max": 80}, {**rule, "port_range_min": 81, "port_range_max": 81}]
    over = ("OverQuota", "Quota exceeded for resources: ['security_group_rule'].")
    assert neutron_error(call(service, "POST", "/security-group-rules", {"security_group_rules": two}), 409) == over
    assert _usage(service, scratch) == (2, 6)  # none of the two
    resp = call(service, "POST", "/security-group-rules", {"security_group_rule": two[0]})
    assert resp.status_code == 201, resp.text
    assert neutron_error(call(service, "POST", "/security-group-rules", {"security_group_rule": two[1]}), 409) == over
    # A new group needs room for its template rules too.
    set_quota(security_group=3)
    assert neutron_error(call(service, "POST", "/security-groups", body), 409) == over
    assert _usage(service, scratch) == (2, 7)
