"""Random security groups, some of them kingsync's copies of one another, for
the property tests: what neutron lists in each region, what the id record
says, and the true count of what the regions count more than once (the
oracle the code under test is checked against).

A copy class is a source group and its copies, linked by records that form
a tree (a chain R1 -> R2 -> R3, a star, records in either direction). Every
member has the class's shared rules: egress rules, a tcp port or two, and
now and then a rule whose remote group is the member itself (the same rule
in every member once remote_group_id is taken to its class). A member may
have rules of its own as well (the tenant added them after the copy), and
may be gone: deleted by hand after it was recorded. Groups in no class sit
beside them.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from hypothesis import strategies as st

from kingsync.quota import copies

PROJECT = "6d0b2f4c"
REGIONS = ("RegionFour", "RegionOne", "RegionThree", "RegionTwo")

Rule = dict[str, Any]


@dataclasses.dataclass
class Member:
    region: str
    group_id: str
    present: bool  # listed by neutron; False: deleted by hand after the copy was recorded
    own_rules: int  # rules only this member has


@dataclasses.dataclass
class CopyClass:
    members: list[Member]
    links: list[copies.Link]
    shared: list[Rule]  # every member has these (remote_group_id "self": the member itself)


@dataclasses.dataclass
class Groups:
    regions: list[str]
    classes: list[CopyClass]
    alone: dict[str, list[int]]  # region -> rule count of each group in no class
    _ids: itertools.count[int] = dataclasses.field(default_factory=itertools.count)

    def links(self) -> list[copies.Link]:
        return [link for found in self.classes for link in found.links]

    def listed(self, readable: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """region -> the groups neutron lists there, for the regions that could be read."""
        found: dict[str, list[dict[str, Any]]] = {region: [] for region in self.regions}
        for klass in self.classes:
            for member in klass.members:
                if member.present:
                    rules = [_materialise(rule, member.group_id) for rule in klass.shared]
                    rules += [self.unique_rule() for _ in range(member.own_rules)]
                    found[member.region].append(group(member.group_id, rules))
        for region, counts in self.alone.items():
            for count in counts:
                found[region].append(group("alone-%d" % next(self._ids), [self.unique_rule() for _ in range(count)]))
        if readable is None:
            return found
        return {region: groups for region, groups in found.items() if region in readable}

    def unique_rule(self) -> Rule:
        """A rule no other group has: a port of its own."""
        port = 20000 + next(self._ids)
        return rule(port_range_min=port, port_range_max=port, protocol="tcp")

    def usage(self, region: str) -> tuple[int, int]:
        """(groups, rules) neutron counts in ``region``: every group present there."""
        listed = self.listed()[region]
        return len(listed), sum(len(g["security_group_rules"]) for g in listed)

    def copies_in(self, region: str) -> tuple[int, int]:
        """(groups, rules) of class members present in ``region``: what the tenant does not delete."""
        groups = rules = 0
        for klass in self.classes:
            for member in klass.members:
                if member.present and member.region == region:
                    groups += 1
                    rules += len(klass.shared) + member.own_rules
        return groups, rules

    def true_dup(self, readable: set[str] | None = None) -> dict[str, int]:
        """The oracle: per class, present (and readable) members less one; their shared rules as often."""
        dup_groups = dup_rules = 0
        for klass in self.classes:
            counted = [m for m in klass.members if m.present and (readable is None or m.region in readable)]
            if counted:
                dup_groups += len(counted) - 1
                dup_rules += (len(counted) - 1) * len(klass.shared)
        return {copies.GROUPS: dup_groups, copies.RULES: dup_rules}


def rule(**fields: Any) -> Rule:
    base: Rule = {
        "id": "",
        "project_id": PROJECT,
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": None,
        "port_range_min": None,
        "port_range_max": None,
        "remote_ip_prefix": None,
        "remote_group_id": None,
        "description": None,
    }
    base.update(fields)
    return base


def group(group_id: str, rules: list[Rule]) -> dict[str, Any]:
    numbered = [{**r, "id": "%s-rule-%d" % (group_id, n), "security_group_id": group_id} for n, r in enumerate(rules)]
    return {"id": group_id, "project_id": PROJECT, "name": "g", "security_group_rules": numbered}


def _materialise(shared: Rule, group_id: str) -> Rule:
    return {**shared, "remote_group_id": group_id} if shared.get("remote_group_id") == "self" else dict(shared)


SHARED = [
    rule(direction="egress", ethertype="IPv4"),
    rule(direction="egress", ethertype="IPv6"),
    rule(protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8"),
    rule(protocol="tcp", port_range_min=443, port_range_max=443),
    rule(remote_group_id="self"),
    rule(ethertype="IPv6", remote_group_id="self"),
]


@st.composite
def copy_classes(draw: st.DrawFn, regions: list[str], number: int, absent: bool = True) -> CopyClass:
    size = draw(st.integers(1, len(regions) + 1))
    where = [draw(st.sampled_from(regions)) for _ in range(size)]
    members = [
        Member(
            region=region,
            group_id="c%d-m%d" % (number, index),
            present=draw(st.sampled_from([True, True, True, False])) if absent else True,
            own_rules=draw(st.sampled_from([0, 0, 0, 1, 2])),
        )
        for index, region in enumerate(where)
    ]
    links: list[copies.Link] = []
    for index in range(1, size):
        earlier = members[draw(st.integers(0, index - 1))]
        later = members[index]
        link = ((earlier.region, earlier.group_id), (later.region, later.group_id))
        links.append(link if draw(st.booleans()) else (link[1], link[0]))
    shared = draw(st.lists(st.sampled_from(range(len(SHARED))), unique=True, max_size=len(SHARED)))
    return CopyClass(members, links, [SHARED[i] for i in sorted(shared)])


@st.composite
def security_groups(draw: st.DrawFn, regions: list[str] | None = None, absent: bool = True) -> Groups:
    if regions is None:
        count = draw(st.integers(1, len(REGIONS)))
        regions = sorted(draw(st.permutations(REGIONS))[:count])
    number = draw(st.integers(0, 4))
    classes = [draw(copy_classes(regions, index, absent)) for index in range(number)]
    alone = {region: draw(st.lists(st.integers(0, 3), max_size=3)) for region in regions}
    return Groups(regions, classes, alone)
