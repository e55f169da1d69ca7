"""Security group rules as neutron checks them: the converters of the
attribute map, then the plugin's validation, and the key by which two rules
are duplicates. Pure functions; the texts are neutron's."""

from __future__ import annotations

import ipaddress
from typing import Any, NoReturn

from kingsync.sim import auth
from kingsync.sim.network import api
from kingsync.sim.wire import Json

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
# number -> canonical name (58 is ipv6-icmp, not the legacy icmpv6)
_NAMES = {str(num): name for name, num in PROTOCOLS.items() if name != "icmpv6"}
_PORT_PROTOCOLS = ("dccp", "sctp", "tcp", "udp", "udplite")
_IPV6_ONLY = {
    "ipv6-encap",
    "ipv6-frag",
    "ipv6-icmp",
    "icmpv6",
    "ipv6-nonxt",
    "ipv6-opts",
    "ipv6-route",
    "41",
    "44",
    "58",
    "59",
    "60",
    "43",
}
_SUPPORTED_TEXT = "(None, 'any', " + ", ".join(repr(p) for p in PROTOCOLS) + ")"

# The attributes a rule request may carry.
ATTRIBUTES = (
    "id",
    "security_group_id",
    "remote_group_id",
    "direction",
    "protocol",
    "port_range_min",
    "port_range_max",
    "ethertype",
    "remote_ip_prefix",
    "tenant_id",
    "project_id",
    "description",
    "remote_address_group_id",
)


def from_request(ctx: auth.Context, item: Json) -> Json:
    """One rule of a POST, owner set and values converted as neutron does."""
    project_id = api.set_owner(ctx, item)
    api.verify(item, ATTRIBUTES)
    api.required(item, "security_group_id", "direction")
    rule: Json = {
        "security_group_id": item["security_group_id"],
        "remote_group_id": item.get("remote_group_id"),
        "direction": item["direction"],
        "protocol": _protocol(item.get("protocol")),
        "port_range_min": _port(item.get("port_range_min")),
        "port_range_max": _port(item.get("port_range_max")),
        "ethertype": _ethertype(item.get("ethertype", "IPv4")),
        "remote_ip_prefix": _prefix(item.get("remote_ip_prefix")),
        "project_id": project_id,
        "description": api.string(item, "description"),
        "remote_address_group_id": item.get("remote_address_group_id"),
    }
    if rule["direction"] not in ("ingress", "egress"):
        api.bad_request("Invalid input for direction. Reason: %s is not in valid_values." % rule["direction"])
    return rule


def _protocol(value: Any) -> str | None:
    if value is None or value == "any":
        return None
    if isinstance(value, str) and value.lower() in PROTOCOLS:
        return value.lower()
    try:
        number = int(value)
    except (TypeError, ValueError):
        _unsupported(value)
    if not 0 <= number <= 255:
        _unsupported(value)
    return str(value)


def _unsupported(value: Any) -> NoReturn:
    api.fault(
        400,
        "SecurityGroupRuleInvalidProtocol",
        "Security group rule protocol %s not supported. Only protocol values %s and integer representations "
        "[0 to 255] are supported." % (value, _SUPPORTED_TEXT),
    )


def _port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= 65535:
        api.fault(400, "SecurityGroupInvalidPortValue", "Invalid value for port %s" % value)
    return number


def _ethertype(value: Any) -> str:
    for ethertype in ("IPv4", "IPv6"):
        if isinstance(value, str) and ethertype.lower() == value.lower():
            return ethertype
    api.fault(
        400,
        "SecurityGroupRuleInvalidEtherType",
        "Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6']." % value,
    )


def _prefix(value: Any) -> str | None:
    """An address gains its host mask; a prefix keeps its host bits."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_interface(str(value)))
    except ValueError:
        api.fault(400, "InvalidCIDR", "Invalid CIDR %s given as IP prefix." % value)


def normalized_cidr(prefix: str | None) -> str | None:
    return str(ipaddress.ip_network(prefix, strict=False)) if prefix else None


def validate(rule: Json) -> None:
    """_validate_base_security_group_rule_attributes, in neutron's order."""
    if rule["ethertype"] == "IPv6":
        if rule["protocol"] in ("icmp", "icmpv6"):
            rule["protocol"] = "ipv6-icmp"
        elif rule["protocol"] == "1":
            rule["protocol"] = "58"
    if rule["port_range_min"] == 1 and rule["port_range_max"] == 65535:
        # the whole range is stored as no range
        rule["port_range_min"] = rule["port_range_max"] = None
    _validate_ports(rule)
    prefix = rule["remote_ip_prefix"]
    if prefix and rule["ethertype"] != "IPv%d" % ipaddress.ip_interface(prefix).version:
        api.fault(
            400,
            "SecurityGroupRuleParameterConflict",
            "Conflicting value ethertype %s for CIDR %s" % (rule["ethertype"], prefix),
        )
    if rule["protocol"] in _IPV6_ONLY and rule["ethertype"] == "IPv4":
        api.fault(
            400,
            "SecurityGroupEthertypeConflictWithProtocol",
            "Invalid ethertype %s for protocol %s." % (rule["ethertype"], rule["protocol"]),
        )
    remotes = [k for k in ("remote_ip_prefix", "remote_group_id", "remote_address_group_id") if rule.get(k)]
    if len(remotes) > 1:
        api.fault(
            400,
            "SecurityGroupMultipleRemoteEntites",
            "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.",
        )


def _validate_ports(rule: Json) -> None:
    low, high = rule["port_range_min"], rule["port_range_max"]
    if low is None and high is None:
        return
    if not rule["protocol"]:
        api.fault(400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
    number = PROTOCOLS.get(rule["protocol"]) if rule["protocol"] in PROTOCOLS else int(rule["protocol"])
    if _NAMES.get(str(number)) in _PORT_PROTOCOLS:
        if low == 0 or high == 0:
            api.fault(400, "SecurityGroupInvalidPortValue", "Invalid value for port 0")
        if low is None or high is None or low > high:
            api.fault(
                400,
                "SecurityGroupInvalidPortRange",
                "For TCP/UDP protocols, port_range_min must be <= port_range_max",
            )
    elif number in (1, 58):
        for attr, field in (("port_range_min", "type"), ("port_range_max", "code")):
            if rule[attr] is not None and not 0 <= rule[attr] <= 255:
                api.fault(
                    400,
                    "SecurityGroupInvalidIcmpValue",
                    "Invalid value for ICMP %s (%s) %s. It must be 0 to 255." % (field, attr, rule[attr]),
                )
        if low is None:
            api.fault(
                400,
                "SecurityGroupMissingIcmpType",
                "ICMP code (port-range-max) %s is provided but ICMP type (port-range-min) is missing." % high,
            )
    else:
        api.fault(
            400,
            "SecurityGroupInvalidProtocolForPort",
            "Ports cannot be specified for protocol %s. Ports are only supported for %s."
            % (number, ", ".join(p.upper() for p in _PORT_PROTOCOLS)),
        )


def duplicate_key(rule: Json) -> tuple[str, ...]:
    """What neutron compares to call two rules the same (_rule_to_key)."""

    def norm(key: str) -> str:
        value = rule.get(key)
        if value is None or key == "remote_ip_prefix" and value in ("0.0.0.0/0", "::/0"):
            return "+"
        if key == "protocol":
            return str(_protocol_pair(str(value), rule.get("ethertype")))
        return str(value)

    keys = (
        "direction",
        "ethertype",
        "port_range_max",
        "port_range_min",
        "protocol",
        "remote_group_id",
        "remote_address_group_id",
        "remote_ip_prefix",
        "security_group_id",
    )
    return tuple(norm(k) for k in keys)


def _protocol_pair(protocol: str, ethertype: str | None) -> list[str]:
    if ethertype == "IPv6":
        if protocol in ("icmp", "icmpv6"):
            protocol = "ipv6-icmp"
        elif protocol == "1":
            protocol = "58"
    if protocol in PROTOCOLS:
        return [protocol, str(PROTOCOLS[protocol])]
    if protocol in _NAMES:
        return [_NAMES[protocol], protocol]
    return [protocol, protocol]
