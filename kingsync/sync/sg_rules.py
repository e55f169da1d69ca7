"""Security group rules as neutron compares them. Pure: no I/O.

Neutron stores a rule's protocol as given ("tcp" or "6") and its prefix with
a mask but with the host bits kept, and calls two rules duplicates on a key
that ignores the description (neutron/db/securitygroups_db.py,
``_rule_to_key``; the facts are in ../shared/reference/sync-facts.md, §3):

- protocol: a name and its number are the same ("tcp" is 6); "any", "0" and
  none all mean any; for IPv6, icmp, icmpv6 and 1 mean ipv6-icmp (58);
- ports: 1-65535 is the same as no range (for the port protocols);
- remote_ip_prefix: 0.0.0.0/0 and ::/0 are the same as none; an address
  without a mask is a host (/32 or /128);
- remote_group_id is compared through the caller's mapping: a rule of a
  copy refers to the copy's groups, not the source's.

``key`` is the comparison kingsync uses for "the same rule" everywhere: in a
sync's decision, and when a global quota counts a group's copies once;
``plan_rules`` is the sync's diff of two groups' rules on that key.

One place where ``key`` is looser than neutron's duplicate check: neutron
stores protocol "0" as given and lets a rule with "0" sit next to one
without a protocol (both mean any), while ``key`` makes them one rule.
A sync therefore never adds the one beside the other.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Rule = Mapping[str, Any]  # a rule as neutron shows it

# neutron-lib's IP protocol names and numbers (constants.IP_PROTOCOL_MAP).
PROTOCOLS = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 0,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
# The protocols whose rules have port ranges (neutron-lib SG_PORT_PROTO_NAMES, by number).
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})
ICMP, IPV6_ICMP = 1, 58
ANY = None

# A rule's fields a copy takes from its source; the rest (id, project, group,
# revision, timestamps, normalized_cidr, belongs_to_default_sg) are the
# target's own, and remote_group_id is mapped.
COPIED = (
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "description",
)


@dataclasses.dataclass(frozen=True, order=True)
class RuleKey:
    """What makes two rules of one group the same rule, for neutron."""

    direction: str
    ethertype: str
    protocol: int | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group: str | None  # through the mapping; see ``key``
    remote_address_group: str | None


def protocol_number(protocol: Any, ethertype: str) -> int | None:
    """The protocol as a number, None for any. A value neutron would not take is kept as
    an impossible number, so it never equals a real one."""
    if protocol is None:
        return ANY
    text = str(protocol).strip().lower()
    if text in ("", "any"):
        return ANY
    if text.isdigit():
        number = int(text)
    elif text in PROTOCOLS:
        number = PROTOCOLS[text]
    else:
        return -1
    if number == 0:
        return ANY
    if ethertype == "IPv6" and number == ICMP:
        return IPV6_ICMP
    return number


def _port(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def prefix(value: Any) -> str | None:
    """The prefix as neutron stores it, None for "anywhere"; host bits kept (10.0.0.5/24 stays)."""
    if value is None or value == "":
        return None
    try:
        interface = ipaddress.ip_interface(str(value).strip())
    except ValueError:
        return str(value)
    if interface.network.prefixlen == 0:
        return None
    return interface.with_prefixlen


def key(rule: Mapping[str, Any], remote: Callable[[str], str | None] = lambda group_id: group_id) -> RuleKey:
    """The rule's duplicate key. ``remote`` maps its remote_group_id (a group of the
    rule's own region) to a name comparable across regions; the default keeps the id."""
    ethertype = str(rule.get("ethertype") or "IPv4")
    protocol = protocol_number(rule.get("protocol"), ethertype)
    low, high = _port(rule.get("port_range_min")), _port(rule.get("port_range_max"))
    if protocol in PORT_PROTOCOLS and (low, high) == (1, 65535):
        low = high = None
    remote_group = rule.get("remote_group_id")
    return RuleKey(
        direction=str(rule.get("direction")),
        ethertype=ethertype,
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=prefix(rule.get("remote_ip_prefix")),
        remote_group=remote(str(remote_group)) if remote_group else None,
        remote_address_group=rule.get("remote_address_group_id") or None,
    )


def copy_body(rule: Mapping[str, Any], group_id: str, remote_group_id: str | None, project_id: str) -> dict[str, Any]:
    """The POST body of a rule like ``rule`` in the target group ``group_id`` of ``project_id``.

    Only the fields the rule has are sent (a region of an older release
    refuses attributes it does not know, even as null). The project is always
    sent: a rule posted without one belongs to the caller's project (kingsync's
    service project), even inside the tenant's group.
    """
    body = {name: rule[name] for name in COPIED if rule.get(name) is not None}
    body["security_group_id"] = group_id
    body["project_id"] = project_id
    if remote_group_id is not None:
        body["remote_group_id"] = remote_group_id
    return body


# What a source rule's remote group compares as while it has no copy in the
# target yet: never equal to a target group's id.
UNMAPPED = "unmapped:%s"


@dataclasses.dataclass(frozen=True)
class RulePlan:
    """What makes a target group's rules equal to its source group's."""

    add: tuple[Rule, ...] = ()  # source rules the target lacks, one per key, in the source's order
    delete: tuple[Rule, ...] = ()  # target rules the source lacks, in the target's order

    def __bool__(self) -> bool:
        return bool(self.add or self.delete)


def plan_rules(source: Iterable[Rule], target: Iterable[Rule], mapping: Mapping[str, str]) -> RulePlan:
    """The rules to add to ``target`` and to delete from it so that its keys are the source's.

    ``mapping`` takes a source group id to its copy's id in the target: a
    source rule's remote group compares equal to the target rule's when the
    target's is the mapped copy. A remote group with no copy yet matches no
    target rule. Target rules are compared as they are (their remote groups
    are target ids already). Descriptions are ignored, as neutron ignores
    them; a source rule whose key is already to be added is not added twice
    (neutron refuses a bulk POST with a duplicate in it).
    """

    def remote(group_id: str) -> str:
        return mapping.get(group_id, UNMAPPED % group_id)

    wanted: dict[RuleKey, Rule] = {}
    for rule in source:
        wanted.setdefault(key(rule, remote), rule)
    target = list(target)
    present = {key(rule) for rule in target}
    add = tuple(rule for rule_key, rule in wanted.items() if rule_key not in present)
    delete = tuple(rule for rule in target if key(rule) not in wanted)
    return RulePlan(add, delete)
