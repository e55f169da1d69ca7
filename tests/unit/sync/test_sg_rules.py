"""Security group rules as neutron compares them: the key, the copy body, and
the diff that makes one group's rules another's."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kingsync.sync import sg_rules
from kingsync.sync.sg_rules import Rule, copy_body, key, plan_rules

# Source group ids a rule may refer to, and their copies' ids in the target.
SOURCE_GROUPS = ("s-web", "s-db", "s-self")
MAPPING = {gid: "t-" + gid[2:] for gid in SOURCE_GROUPS}

_PORT_PROTOCOLS = st.sampled_from([("tcp", "6"), ("udp", "17"), ("sctp", "132"), ("dccp", "33"), ("udplite", "136")])


@st.composite
def rules(draw: st.DrawFn, remote_groups: tuple[str, ...] = SOURCE_GROUPS) -> dict[str, Any]:
    """A rule neutron would store: a port protocol with a range, icmp with a type,
    any protocol, or another protocol; a prefix, a remote group or neither."""
    ethertype = draw(st.sampled_from(["IPv4", "IPv6"]))
    rule: dict[str, Any] = {"direction": draw(st.sampled_from(["ingress", "egress"])), "ethertype": ethertype}
    shape = draw(st.sampled_from(["ports", "icmp", "any", "other"]))
    if shape == "ports":
        rule["protocol"] = draw(_PORT_PROTOCOLS)[0]
        low = draw(st.integers(1, 65535))
        rule["port_range_min"], rule["port_range_max"] = low, draw(st.integers(low, 65535))
    elif shape == "icmp":
        rule["protocol"] = "icmp" if ethertype == "IPv4" else "ipv6-icmp"
        rule["port_range_min"] = draw(st.none() | st.integers(0, 255))
        if rule["port_range_min"] is not None:
            rule["port_range_max"] = draw(st.none() | st.integers(0, 255))
    elif shape == "other":
        rule["protocol"] = draw(st.sampled_from(["gre", "esp", "ah", "vrrp"]))
    remote = draw(st.sampled_from(["prefix", "group", "none"]))
    if remote == "prefix":
        if ethertype == "IPv4":
            rule["remote_ip_prefix"] = "10.%d.%d.0/24" % (draw(st.integers(0, 255)), draw(st.integers(0, 255)))
        else:
            rule["remote_ip_prefix"] = "2001:db8:%x::/48" % draw(st.integers(0, 0xFFFF))
    elif remote == "group" and remote_groups:
        rule["remote_group_id"] = draw(st.sampled_from(remote_groups))
    if draw(st.booleans()):
        rule["description"] = draw(st.text(max_size=10))
    return rule


@st.composite
def as_neutron_could_store(draw: st.DrawFn, rule: dict[str, Any]) -> dict[str, Any]:
    """The same rule written in another of the forms neutron calls the same."""
    other = dict(rule)
    protocol = other.get("protocol")
    names = dict(sg_rules.PROTOCOLS)
    if protocol in names and draw(st.booleans()):
        number = names[protocol]
        other["protocol"] = str(number) if draw(st.booleans()) else number
    if other.get("ethertype") == "IPv6" and protocol == "ipv6-icmp":
        other["protocol"] = draw(st.sampled_from(["icmp", "icmpv6", "1", "58", "ipv6-icmp"]))
    if protocol in ("tcp", "udp") and other.get("port_range_min") is None and draw(st.booleans()):
        other["port_range_min"], other["port_range_max"] = 1, 65535
    if other.get("remote_ip_prefix") is None and other.get("remote_group_id") is None and draw(st.booleans()):
        other["remote_ip_prefix"] = "0.0.0.0/0" if other["ethertype"] == "IPv4" else "::/0"
    if protocol is None and draw(st.booleans()):
        other["protocol"] = draw(st.sampled_from(["any", "", None]))
    other["description"] = draw(st.text(max_size=10))  # neutron ignores it
    other["id"] = "rule-%d" % draw(st.integers(0, 10**6))
    return other


@given(st.data(), rules())
def test_a_rule_keeps_its_key_in_every_form_neutron_calls_the_same(data: st.DataObject, rule: dict[str, Any]) -> None:
    assert key(data.draw(as_neutron_could_store(rule))) == key(rule)


def test_the_equivalences_one_by_one() -> None:
    base = {"direction": "ingress", "ethertype": "IPv4"}
    assert key({**base, "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}) == key(
        {**base, "protocol": "6", "port_range_min": 22, "port_range_max": 22}
    )
    assert key({**base, "protocol": "udp", "port_range_min": 1, "port_range_max": 65535}) == key(
        {**base, "protocol": "udp"}
    )
    assert key({**base, "remote_ip_prefix": "0.0.0.0/0"}) == key(base)
    assert key({**base, "ethertype": "IPv6", "remote_ip_prefix": "::/0"}) == key({**base, "ethertype": "IPv6"})
    assert key({**base, "ethertype": "IPv6", "protocol": "icmp"}) == key({**base, "ethertype": "IPv6", "protocol": 58})
    assert key({**base, "remote_ip_prefix": "10.0.0.5"}) == key({**base, "remote_ip_prefix": "10.0.0.5/32"})
    assert key({**base, "ethertype": "IPv6", "remote_ip_prefix": "2001:DB8::1"}) == key(
        {**base, "ethertype": "IPv6", "remote_ip_prefix": "2001:db8::1/128"}
    )


def test_what_neutron_tells_apart_stays_apart() -> None:
    base = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    assert key(base) != key({**base, "direction": "egress"})
    assert key(base) != key({**base, "port_range_max": 23})
    assert key(base) != key({**base, "protocol": "udp"})
    # the host bits of a prefix are kept: 10.0.0.5/24 is not 10.0.0.0/24
    assert key({**base, "remote_ip_prefix": "10.0.0.5/24"}) != key({**base, "remote_ip_prefix": "10.0.0.0/24"})
    # 1-65535 is no range only for the port protocols; icmp's are a type and a code
    icmp = {"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"}
    assert key({**icmp, "port_range_min": 1, "port_range_max": 255}) != key(icmp)
    assert key({**base, "remote_group_id": "a"}) != key({**base, "remote_group_id": "b"})
    assert key({**base, "remote_group_id": "a"}, remote=lambda gid: "x") == key({**base, "remote_group_id": "x"})


def test_the_copy_body_sends_what_the_rule_has_in_the_target_group_and_project() -> None:
    rule = {
        "id": "r1",
        "security_group_id": "s-web",
        "project_id": "p",
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
        "remote_ip_prefix": None,
        "remote_group_id": "s-db",
        "remote_address_group_id": None,
        "normalized_cidr": None,
        "belongs_to_default_sg": False,
        "description": "ssh",
        "revision_number": 3,
    }
    assert copy_body(rule, "t-web", "t-db", "p") == {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
        "description": "ssh",
        "security_group_id": "t-web",
        "remote_group_id": "t-db",
        "project_id": "p",
    }


def _as_copied(rule: Rule, index: int) -> dict[str, Any]:
    """A source rule as it lands in the target: through copy_body, with the remote mapped."""
    remote = rule.get("remote_group_id")
    body = copy_body(rule, "t-web", MAPPING[remote] if remote else None, "p")
    return {**body, "id": "added-%d" % index}


def _mapped_keys(source: list[dict[str, Any]]) -> set[sg_rules.RuleKey]:
    return {key(rule, remote=lambda gid: MAPPING[gid]) for rule in source}


@given(st.lists(rules(), max_size=8), st.lists(rules(remote_groups=tuple(MAPPING.values())), max_size=8))
def test_the_plan_applied_to_the_target_gives_the_source_rules(
    source: list[dict[str, Any]], target: list[dict[str, Any]]
) -> None:
    target = [{**rule, "id": "t%d" % i} for i, rule in enumerate(target)]
    plan = plan_rules(source, target, MAPPING)
    deleted = {rule["id"] for rule in plan.delete}
    after = [rule for rule in target if rule["id"] not in deleted] + [
        _as_copied(rule, i) for i, rule in enumerate(plan.add)
    ]
    assert {key(rule) for rule in after} == _mapped_keys(source)
    # nothing is added twice: a bulk POST with a duplicate in it is refused
    assert len({key(rule) for rule in plan.add}) == len(plan.add)


@given(st.data(), st.lists(rules(), max_size=8))
def test_a_faithful_copy_needs_nothing(data: st.DataObject, source: list[dict[str, Any]]) -> None:
    # The copy holds the same rules, in other forms, in another order, with other descriptions.
    copied = [data.draw(as_neutron_could_store(_as_copied(rule, i))) for i, rule in enumerate(source)]
    random.Random(data.draw(st.integers())).shuffle(copied)
    assert not plan_rules(source, copied, MAPPING)


@given(st.lists(rules(remote_groups=()), max_size=8))
def test_a_group_compared_with_itself_needs_nothing(rules_: list[dict[str, Any]]) -> None:
    assert not plan_rules(rules_, [{**r, "id": str(i)} for i, r in enumerate(rules_)], {})


def test_a_rule_whose_remote_group_has_no_copy_yet_matches_nothing() -> None:
    rule = {"direction": "ingress", "ethertype": "IPv4", "remote_group_id": "s-new"}
    target = [{"id": "t1", "direction": "ingress", "ethertype": "IPv4", "remote_group_id": "s-new"}]
    plan = plan_rules([rule], target, {})
    assert plan.add == (rule,) and plan.delete == tuple(target)


def test_template_rules_of_a_new_group_go_unless_the_source_has_them() -> None:
    egress4 = {"id": "e4", "direction": "egress", "ethertype": "IPv4"}
    egress6 = {"id": "e6", "direction": "egress", "ethertype": "IPv6"}
    ssh: Rule = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 22,
        "port_range_max": 22,
    }
    source: list[Rule] = [ssh, {"direction": "egress", "ethertype": "IPv4", "remote_ip_prefix": "0.0.0.0/0"}]
    plan = plan_rules(source, [egress4, egress6], {})
    assert plan.add == (ssh,) and plan.delete == (egress6,)
