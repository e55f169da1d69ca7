"""kingsync's copies of security groups, counted once. Pure: no I/O.

kingsync records every copy it makes of a security group (the id record,
kingsync.db.copies). A source group and its copies, chains included
(RegionOne -> RegionTwo, then RegionTwo -> RegionThree), are one *copy
class*: a connected component of the (region, group id) nodes that the
records link. Merged default groups are recorded too, so they form classes
like any other. Neutron counts a copy in each region that holds it;
globally a class is one group, so the regions' counts add up to more than
the distinct groups and rules by

    dup_groups = sum over classes of (members present - 1)
    dup_rules  = sum over classes of (the present members' rules
                                      - the distinct rules of the class)

A member is present when neutron listed it in a region that was read: a
copy deleted by hand, or one in a region that did not answer, is not
counted. A smaller dup only gives less headroom, so that is the safe side.
Two rules are the same rule when neutron's duplicate key says so
(kingsync.sync.sg_rules.key), with remote_group_id taken to its class: a
rule referring to a copy of group X equals one referring to X. Rules the
copies share count once, rules that differ each count. Groups in no class
count as they are.

With distinct usage D = sum over regions of usage - dup, the invariant of a
copyable resource with a finite global limit G is

    sum over regions of max(limit_r, usage_r) - dup <= max(G, D)

and ``planning_limits`` is how the planner keeps it.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from kingsync.db.copies import Copy
from kingsync.quota.model import Group
from kingsync.quota.resources import MAX_LIMIT, UNLIMITED
from kingsync.sync import sg_rules

RECORD_KIND = "security_group"  # the id record's kind for security groups
GROUPS = "security_group"
RULES = "security_group_rule"
COUNTED_ONCE = (GROUPS, RULES)

Node = tuple[str, str]  # (region, group id)
Link = tuple[Node, Node]  # (source, copy)


def links(records: Iterable[Copy]) -> list[Link]:
    """The id record's copies as links between (region, group id) nodes."""
    return [((c.key.source_region, c.key.source_id), (c.key.target_region, c.target_id)) for c in records]


def classes(found: Iterable[Link]) -> dict[Node, Node]:
    """Every node on record -> the name of its copy class: the class's smallest node.

    Union-find; the smaller root always wins, so the name does not depend on
    the order of the records.
    """
    parent: dict[Node, Node] = {}

    def root(node: Node) -> Node:
        top = parent.setdefault(node, node)
        while parent[top] != top:
            top = parent[top]
        while parent[node] != top:
            parent[node], node = top, parent[node]
        return top

    for source, copy in found:
        one, other = root(source), root(copy)
        if one != other:
            low, high = sorted((one, other))
            parent[high] = low
    return {node: root(node) for node in list(parent)}


def regions_to_read(limits: Mapping[str, int], found: Sequence[Link]) -> list[str]:
    """The regions whose groups must be listed to count the copies once: those of
    the copy classes, and only when a copyable resource has a finite global limit.

    Everything else is counted from the quota APIs alone (DESIGN.md: never
    list collections to count them); only a project with copies on record
    pays one listing per region its copies are in.
    """
    if not found or not any(limits.get(name, UNLIMITED) != UNLIMITED for name in COUNTED_ONCE):
        return []
    return sorted({region for link in found for region, _group in link})


def duplicates(found: Iterable[Link], listed: Mapping[str, Sequence[Group]], project_id: str) -> dict[str, int]:
    """dup for security_group and security_group_rule: what the regions count more
    than once (see the module's docstring).

    ``listed``: region -> the project's groups there as neutron lists them
    (rules embedded), for every region that was read; a region absent from it
    holds no member that counts. Rules of another project inside the
    project's groups (an admin's, made without a project) are not in the
    project's usage, and are left out here too.
    """
    names = classes(found)
    present: dict[Node, list[tuple[str, Group]]] = collections.defaultdict(list)
    for region, groups in sorted(listed.items()):
        by_id = {str(group.get("id")): group for group in groups}
        for group_id, group in sorted(by_id.items()):
            name = names.get((region, group_id))
            if name is not None:
                present[name].append((region, group))

    dup_groups = dup_rules = 0
    for members in present.values():
        dup_groups += len(members) - 1
        # A key a member has n times (neutron refuses duplicates, but a count
        # must not rest on that) counts n times there; the class has it as
        # often as the member that has it most.
        most: collections.Counter[Hashable] = collections.Counter()
        total = 0
        for region, group in members:
            keys = collections.Counter(_rule_key(rule, region, names) for rule in _own_rules(group, project_id))
            total += sum(keys.values())
            for key, count in keys.items():
                most[key] = max(most[key], count)
        dup_rules += total - sum(most.values())
    return {GROUPS: dup_groups, RULES: dup_rules}


def distinct(usage: int, resource: str, dup: Mapping[str, int]) -> int:
    """Usage summed over the regions, with the copies of ``resource`` counted once."""
    return max(usage - dup.get(resource, 0), 0)


def planning_limits(limits: Mapping[str, int], dup: Mapping[str, int]) -> dict[str, int]:
    """The global limits to plan with: G + dup for a copyable resource with a finite G.

    Neutron counts a copy in each region it is in, so the regions' usages
    add up to the distinct usage D plus dup. The planner and the apply keep,
    at every instant,

        sum over regions of max(limit_r, usage_r) <= max(G', sum of usage_r)

    and with G' = G + dup that is exactly

        sum over regions of max(limit_r, usage_r) - dup <= max(G, D)

    the invariant with copies counted once. Every region keeps at least its
    usage (its own groups and the copies it holds) and gets its share of the
    headroom G' - sum of usage_r = G - D. Only the planner's input changes:
    the apply spends the plan's budget (G') and needs nothing new. A copy
    deleted by hand after the count frees a slot that counted once: until
    the next round the project may hold one more group than G per copy so
    deleted (doc/quotas.md).
    """
    planned = dict(limits)
    for resource in COUNTED_ONCE:
        limit, extra = planned.get(resource), dup.get(resource, 0)
        if limit is not None and limit != UNLIMITED and extra > 0:
            planned[resource] = min(limit + extra, MAX_LIMIT)  # capped: less is the safe side
    return planned


def _own_rules(group: Group, project_id: str) -> list[Mapping[str, Any]]:
    rules = group.get("security_group_rules") or []
    return [
        rule
        for rule in rules
        if isinstance(rule, Mapping) and (rule.get("project_id") or rule.get("tenant_id") or project_id) == project_id
    ]


def _rule_key(rule: Mapping[str, Any], region: str, names: Mapping[Node, Node]) -> Hashable:
    """The rule's duplicate key, remote_group_id taken to its class; a rule neutron
    would not have stored as listed is a rule of its own."""

    def remote(group_id: str) -> str:
        return "\x1f".join(names.get((region, group_id), (region, group_id)))

    try:
        return sg_rules.key(rule, remote=remote)
    except (TypeError, ValueError):
        return ("unkeyed", region, str(rule.get("id")))
