"""Security group sync, the pure part: which target group is which, and what to do.

- ``plan_groups``: the group asked for and every group its rules lead to
  (however far, cycles and self-references included), each with its
  counterpart in the target: through the id record first, "default" for the
  project's default group, else the one group of the same name, else none
  (to create). A referenced group the target already has is only mapped,
  and its own references are not followed.
- ``decide``: for the group asked for, create, finish (kingsync's half-made
  copy), unchanged, conflict, update (force) or merge (the default group),
  with what differs; the rules through kingsync.sync.sg_rules.plan_rules.
- ``resolve``: the group a name or id means, in one project's groups.

No I/O here: kingsync.sync.security_group reads, calls these, and writes.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kingsync.db.models import CONFLICT, CREATED, ERROR, UNCHANGED, UPDATED
from kingsync.sync import errors, sg_rules
from kingsync.sync.sg_rules import Rule, RulePlan
from kingsync.sync.task import Copy

DEFAULT = "default"  # the name of the group neutron makes for every project


@dataclasses.dataclass(frozen=True)
class Group:
    """A security group as neutron lists it, with its rules."""

    id: str
    name: str
    description: str = ""
    stateful: bool = True
    rules: tuple[Rule, ...] = ()

    @classmethod
    def from_neutron(cls, body: Mapping[str, Any]) -> Group:
        return cls(
            id=str(body["id"]),
            name=str(body.get("name") or ""),
            description=str(body.get("description") or ""),
            stateful=bool(body.get("stateful", True)),
            rules=tuple(body.get("security_group_rules") or ()),
        )


class How(enum.Enum):
    """How a source group of the closure is found in the target."""

    CREATE = "create"  # not there: create it, then give it its rules
    FINISH = "finish"  # kingsync's own copy, left half-made by an earlier attempt: make it equal
    EXISTS = "exists"  # there already (on record, or by name)
    DEFAULT = "default"  # the project's default group, neutron's own


@dataclasses.dataclass(frozen=True)
class Counterpart:
    """A source group of the closure and what stands for it in the target."""

    source: Group
    how: How
    target: Group | None  # None for CREATE

    @property
    def written(self) -> bool:
        """Its rules are written whatever the decision: it is kingsync's to make."""
        return self.how in (How.CREATE, How.FINISH)


class Refused(Exception):
    """The item cannot be done as asked; ``result`` is CONFLICT or ERROR."""

    def __init__(self, result: str, message: str) -> None:
        super().__init__(message)
        self.result = result
        self.message = message


@dataclasses.dataclass(frozen=True)
class GroupPlan:
    """The group asked for (``root``) and every group its rules lead to, by source id,
    each with its counterpart in the target; the root comes first."""

    root: str
    groups: Mapping[str, Counterpart]

    def mapping(self) -> dict[str, str]:
        """Source id -> target id, for the groups the target has."""
        return {sid: c.target.id for sid, c in self.groups.items() if c.target is not None}

    def to_create(self) -> list[Group]:
        return [c.source for c in self.groups.values() if c.how is How.CREATE]


def closure(groups: Iterable[Group], root: str) -> list[str]:
    """The ids of ``root`` and of every group of ``groups`` its rules lead to, however far.

    A superset of what ``plan_groups`` visits (it stops at groups the target
    has): the shell reads the id record for these before planning.
    """
    by_id = {group.id: group for group in groups}
    found, queue = [root], [root]
    while queue:
        group = by_id.get(queue.pop())
        for remote in _remotes(group.rules if group else ()):
            if remote in by_id and remote not in found:
                found.append(remote)
                queue.append(remote)
    return found


def plan_groups(
    source_groups: Sequence[Group],
    root: str,
    target_groups: Sequence[Group],
    recorded: Mapping[str, Copy],
    *,
    source_region: str = "the source region",
    target_region: str = "the target region",
) -> GroupPlan:
    """Which target group each group of the closure is, and which to create.

    ``source_groups`` and ``target_groups`` are all of the project's groups
    in each region, ``recorded`` the id record's copies by source id. The
    references of the root and of the groups kingsync makes (CREATE, FINISH)
    are followed; those of a group the target already has are not, since
    that group is only mapped. Raises Refused for a reference kingsync cannot
    map: another project's group (shared with this one), an address group,
    or a name several groups share.
    """
    by_id = {group.id: group for group in source_groups}
    targets = {group.id: group for group in target_groups}
    planned: dict[str, Counterpart] = {}
    queue = [root]
    while queue:
        source = by_id[queue.pop(0)]
        if source.id in planned:
            continue
        counterpart = _counterpart(
            source, source_groups, target_groups, targets, recorded.get(source.id), source_region, target_region
        )
        planned[source.id] = counterpart
        if source.id != root and not counterpart.written:
            continue
        for rule in source.rules:
            if rule.get("remote_address_group_id"):
                raise Refused(
                    ERROR,
                    "Security group %s (%s) in %s has a rule with remote address group %s; address groups are "
                    "not synced, so kingsync cannot copy it to %s."
                    % (source.name, source.id, source_region, rule["remote_address_group_id"], target_region),
                )
        for remote in _remotes(source.rules):
            if remote not in by_id:
                raise Refused(
                    ERROR,
                    "Security group %s (%s) in %s has a rule whose remote group %s is not one of the project's "
                    "own groups (another project shares it?); kingsync syncs a project's own groups only, so it "
                    "cannot map it to %s." % (source.name, source.id, source_region, remote, target_region),
                )
            queue.append(remote)
    return GroupPlan(root, planned)


def _counterpart(
    source: Group,
    source_groups: Sequence[Group],
    target_groups: Sequence[Group],
    targets: Mapping[str, Group],
    copy: Copy | None,
    source_region: str,
    target_region: str,
) -> Counterpart:
    # The record first: a copy kingsync made keeps its role even if renamed.
    if copy is not None and copy.target_id in targets:
        target = targets[copy.target_id]
        if source.name == DEFAULT:
            return Counterpart(source, How.DEFAULT, target)
        return Counterpart(source, How.EXISTS if copy.complete else How.FINISH, target)
    if source.name == DEFAULT:
        # An admin listing makes the project's default group, so the target has one.
        defaults = [group for group in target_groups if group.name == DEFAULT]
        if len(defaults) != 1:
            raise Refused(ERROR, "Neutron in %s listed no default security group for the project." % target_region)
        return Counterpart(source, How.DEFAULT, defaults[0])
    named = [group for group in target_groups if group.name == source.name]
    if not named:
        return Counterpart(source, How.CREATE, None)
    if len(named) > 1:
        raise Refused(
            CONFLICT,
            "There are several security groups named %s in %s (%s); kingsync cannot tell which is the copy "
            "of %s in %s."
            % (source.name, target_region, ", ".join(sorted(g.id for g in named)), source.id, source_region),
        )
    twins = [group for group in source_groups if group.name == source.name]
    if len(twins) > 1:
        raise Refused(
            CONFLICT,
            "There are several security groups named %s in %s (%s); kingsync cannot tell which of them %s "
            "in %s is a copy of."
            % (source.name, source_region, ", ".join(sorted(g.id for g in twins)), named[0].id, target_region),
        )
    return Counterpart(source, How.EXISTS, named[0])


def _remotes(rules: Iterable[Rule]) -> list[str]:
    return [str(rule["remote_group_id"]) for rule in rules if rule.get("remote_group_id")]


# -- the decision for the group asked for -----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Diff:
    """How a target group differs from its source: rules, description, stateful."""

    rules: RulePlan = RulePlan()
    description: bool = False
    stateful: bool = False

    def __bool__(self) -> bool:
        return bool(self.rules) or self.description or self.stateful

    def describe(self) -> str:
        """E.g. "2 rules missing, 1 extra, description"."""
        parts = []
        if self.rules.add:
            parts.append("%d rule%s missing" % (len(self.rules.add), "" if len(self.rules.add) == 1 else "s"))
        if self.rules.delete:
            parts.append("%d extra" % len(self.rules.delete))
        if self.description:
            parts.append("description")
        if self.stateful:
            parts.append("stateful")
        return ", ".join(parts)


def compare(source: Group, target: Group, mapping: Mapping[str, str], *, default: bool = False) -> Diff:
    """The differences a sync would remove. A default group's description and
    stateful are neutron's, not the project's: only its rules count."""
    rules = sg_rules.plan_rules(source.rules, target.rules, mapping)
    if default:
        return Diff(rules)
    return Diff(rules, source.description != target.description, source.stateful != target.stateful)


class Action(enum.Enum):
    CREATE = "create"  # not in the target: create it (result CREATED)
    FINISH = "finish"  # kingsync's half-made copy: finish it, as if force were given (CREATED)
    UNCHANGED = "unchanged"  # the same group is there (or nothing to merge into the default)
    CONFLICT = "conflict"  # a different group has the name, and no force
    UPDATE = "update"  # a different group has the name: change it in place (force)
    MERGE = "merge"  # the default group: its rules made equal, force or not (UPDATED)


RESULTS = {
    Action.CREATE: CREATED,
    Action.FINISH: CREATED,
    Action.UNCHANGED: UNCHANGED,
    Action.CONFLICT: CONFLICT,
    Action.UPDATE: UPDATED,
    Action.MERGE: UPDATED,
}


def decide(plan: GroupPlan, force: bool) -> tuple[Action, Diff]:
    """What to do with the group asked for, and how its target differs from it.

    The comparison maps remote groups through ``plan``: a rule that refers to
    a group not yet in the target differs from every target rule.
    """
    root = plan.groups[plan.root]
    if root.target is None:
        return Action.CREATE, Diff()
    diff = compare(root.source, root.target, plan.mapping(), default=root.how is How.DEFAULT)
    if root.how is How.FINISH:
        return Action.FINISH, diff
    if not diff:
        return Action.UNCHANGED, diff
    if root.how is How.DEFAULT:
        return Action.MERGE, diff
    return (Action.UPDATE if force else Action.CONFLICT), diff


def resolve(groups: Sequence[Group], wanted: str, project_id: str, region: str) -> Group:
    """The group ``wanted`` names among the project's ``groups``: its id, else its name.

    Raises SourceNotFound or SourceAmbiguous. An id of another project's
    group is not among ``groups``, so it is not found, like any unknown id.
    """
    for group in groups:
        if group.id == wanted:
            return group
    named = [group for group in groups if group.name == wanted]
    if not named:
        raise errors.SourceNotFound(
            "Security group %r not found in project %s in region %s." % (wanted, project_id, region)
        )
    if len(named) > 1:
        raise errors.SourceAmbiguous(
            "Several security groups of project %s in region %s are named %r (%s); give the id of the one "
            "you mean." % (project_id, region, wanted, ", ".join(sorted(group.id for group in named)))
        )
    return named[0]
