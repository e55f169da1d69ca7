"""Security group sync: a project's group and its rules, made equal in a target region.

The group is the requesting project's in both regions; kingsync reads and
writes it with its own admin credentials, naming the project. Neutron does
not let a group's id be chosen, so the copy has an id of its own and the id
record (kingsync.sync.record) is how a retry, a later job and the global
quota engine find it. The facts this follows are in
../shared/reference/sync-facts.md, section 3.

- A rule's remote group is the target's group of the same name (through the
  record first; "default" is the target's default group). A referenced group
  missing in the target is created with its rules, and so on along the
  references: every missing group of that closure is created first (cycles
  and self-references need the ids before any rule), then the rules.
- A referenced group that is already in the target is only mapped, never
  changed: the job asked for one group, not for its neighbours.
- The project's "default" group cannot be created (neutron makes one per
  project) so it is merged: the target's default group gets the source's
  rules; its description and stateful are left as they are.
- A new group comes with the rules of the target's default rule templates;
  they go unless the source has the same rule.

The decisions are pure (kingsync.sync.sg_plan: which group is which, what
to do; kingsync.sync.sg_rules: the rules to add and delete); ``sync`` and
``find_sources`` here are the I/O around them: raw neutron calls
(kingsync.regions.rest), one attempt each, the engine retrying what may pass.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from typing import Any

import openstack.connection
from oslo_log import log as logging

from kingsync.context import RequestContext
from kingsync.db.models import CONFLICT, ERROR
from kingsync.regions import rest
from kingsync.sync import errors, sg_rules
from kingsync.sync.sg_plan import (
    RESULTS,
    Action,
    Group,
    GroupPlan,
    How,
    Refused,
    closure,
    compare,
    decide,
    plan_groups,
    resolve,
)
from kingsync.sync.sg_rules import Rule
from kingsync.sync.task import Connect, Outcome, Task

LOG = logging.getLogger(__name__)


def find_sources(ctxt: RequestContext, connect: Connect, region: str, names: Sequence[str]) -> None:
    """Each name must be a group id or a group name of the caller's project in ``region``.

    kingsync asks as admin, naming the project; the listing holds that
    project's groups only, so another project's group is not found, never
    shown. (An admin listing makes the project's default group if it has
    none, as the project's own first listing would.)
    """
    project_id = str(ctxt.project_id)
    try:
        groups = _list(connect(region), project_id)
    except errors.UNREACHABLE as exc:
        LOG.warning("Could not list the security groups of project %s in region %s: %s", project_id, region, exc)
        raise errors.SourceUnavailable(
            "Region %s could not be asked for the security groups of project %s (%s); try again later."
            % (region, project_id, exc)
        ) from None
    for name in names:
        resolve(groups, name, project_id, region)


_RULE_EXISTS = re.compile(r"Security group rule already exists\. Rule id is ([^\s.]+)")
_OVER_QUOTA = "Quota exceeded"


def sync(task: Task) -> Outcome:
    """Read both regions, plan, decide, then write: groups, their rules, the record."""
    item, project_id = task.item, task.project_id
    source_groups = _list(task.source, project_id)
    try:
        root = resolve(source_groups, item.resource, project_id, item.source_region)
    except errors.SourceError as exc:
        return Outcome.failure(ERROR, "%s Nothing to copy." % exc.message)
    # Another item of the project writing groups in this region at the same time
    # could create a group both refer to, twice: the target is read and written
    # by one item at a time.
    with task.exclusive("security_group/%s/%s" % (project_id, item.target_region)):
        return _sync_to(task, source_groups, root)


def _sync_to(task: Task, source_groups: list[Group], root: Group) -> Outcome:
    item, project_id = task.item, task.project_id
    recorded = {sid: copy for sid in closure(source_groups, root.id) if (copy := task.record.find(sid)) is not None}
    target_groups = _list(task.target, project_id)
    try:
        plan = plan_groups(
            source_groups,
            root.id,
            target_groups,
            recorded,
            source_region=item.source_region,
            target_region=item.target_region,
        )
    except Refused as exc:
        return Outcome.failure(exc.result, exc.message)
    action, diff = decide(plan, item.force)
    root_target = plan.groups[root.id].target
    if action is Action.CONFLICT:
        assert root_target is not None
        return Outcome.failure(
            CONFLICT,
            "Security group %s in %s differs from %s: %s; sync with force to make it equal."
            % (root.name, item.target_region, item.source_region, diff.describe()),
            target_id=root_target.id,
        )
    writer = _Writer(task, plan)
    try:
        writer.create_missing()
        writer.finish(action)
    except _Refusal as exc:
        made = writer.targets.get(root.id)
        return Outcome.failure(ERROR, exc.message, target_id=made.id if made else None)
    return Outcome.success(RESULTS[action], writer.targets[root.id].id)


class _Refusal(Exception):
    """Neutron refused a change for good (e.g. stateful on a group in use)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Writer:
    """The writes of one item, in their order: missing groups (each on record at
    once, unfinished), then rules group by group (each group on record as
    finished once equal), then the groups only mapped (on record as they are)."""

    def __init__(self, task: Task, plan: GroupPlan) -> None:
        self.task = task
        self.plan = plan
        self.conn = task.target
        self.project_id = task.project_id
        self.region = task.item.target_region
        self.targets: dict[str, Group] = {sid: c.target for sid, c in plan.groups.items() if c.target is not None}
        self.made: set[str] = set()  # source ids whose copy this attempt created
        self.finishing: set[str] = {sid for sid, c in plan.groups.items() if c.how is How.FINISH}

    def create_missing(self) -> None:
        for source in self.plan.to_create():
            created = _create_group(self.conn, source, self.project_id)
            self.task.record.keep(source.id, created.id, complete=False)
            LOG.info(
                "Created security group %s (%s) of project %s in %s as a copy of %s from %s",
                source.name,
                created.id,
                self.project_id,
                self.region,
                source.id,
                self.task.item.source_region,
            )
            self.made.add(source.id)
            self.targets[source.id] = created

    @property
    def mapping(self) -> dict[str, str]:
        """Source id -> target id, for every group the target has now."""
        return {sid: target.id for sid, target in self.targets.items()}

    def finish(self, action: Action) -> None:
        """Rules for the groups kingsync makes, and for the root if it is to change;
        then every group of the plan on record as finished (mapped ones included:
        the quota engine counts a recorded group and its copies once)."""
        changes_root = action in (Action.UPDATE, Action.MERGE)
        for sid, counterpart in self.plan.groups.items():
            if sid in self.made or sid in self.finishing or (sid == self.plan.root and changes_root):
                self._make_equal(counterpart.source, self.targets[sid], counterpart.how is How.DEFAULT, sid)
            self.task.record.keep(sid, self.targets[sid].id, complete=True)

    def _make_equal(self, source: Group, target: Group, default: bool, sid: str) -> None:
        diff = compare(source, target, self.mapping, default=default)
        if diff.description or diff.stateful:
            self._update_group(source, target)
        # A group this attempt created has no port yet: its template rules go
        # first, which spares the project's rule quota. In a group that may be
        # in use, rules are added first, so traffic allowed before and after
        # the sync is never cut.
        if sid in self.made:
            self._delete_rules(diff.rules.delete, set())
            self._add_rules(diff.rules.add, target)
        else:
            adopted = self._add_rules(diff.rules.add, target)
            self._delete_rules(diff.rules.delete, adopted)
        if diff:
            LOG.info(
                "%s security group %s (%s) of project %s in %s: %d rules added, %d deleted%s",
                "Merged" if default else "Synced",
                source.name,
                target.id,
                self.project_id,
                self.region,
                len(diff.rules.add),
                len(diff.rules.delete),
                "".join(", " + part for part in ("description", "stateful") if getattr(diff, part)),
            )

    def _update_group(self, source: Group, target: Group) -> None:
        body = {"security_group": {"description": source.description, "stateful": source.stateful}}
        try:
            _call(self.conn, self.project_id, "PUT", "/security-groups/%s" % target.id, body)
        except rest.ServiceError as exc:
            if exc.status != 409:
                raise
            # SecurityGroupInUse: stateful cannot change while ports use the group.
            raise _Refusal(
                "Neutron in %s refused to change security group %s (%s) to stateful=%s: %s"
                % (self.region, source.name, target.id, source.stateful, exc.message)
            ) from None

    def _add_rules(self, rules: Sequence[Rule], target: Group) -> set[str]:
        """Add ``rules`` to ``target``: one bulk POST (all or nothing); if neutron
        answers that a rule exists (someone added it meanwhile, or neutron
        calls two rules the same that kingsync's key does not), one POST per
        rule, an existing rule counting as added. Returns the ids of the
        existing rules neutron named, which must not be deleted as extra."""

        mapping = self.mapping

        def body(rule: Rule) -> dict[str, Any]:
            remote = rule.get("remote_group_id")
            return sg_rules.copy_body(rule, target.id, mapping[remote] if remote else None, self.project_id)

        bodies = [body(rule) for rule in rules]
        if len(bodies) > 1:
            try:
                _call(self.conn, self.project_id, "POST", "/security-group-rules", {"security_group_rules": bodies})
                return set()
            except rest.ServiceError as exc:
                if exc.status != 409:
                    raise
                LOG.info("Bulk rule create in %s refused (%s); adding the rules one by one", self.region, exc.message)
        adopted = set()
        for one in bodies:
            try:
                _call(self.conn, self.project_id, "POST", "/security-group-rules", {"security_group_rule": one})
            except rest.ServiceError as exc:
                found = _RULE_EXISTS.search(exc.message) if exc.status == 409 else None
                if found is None:
                    raise
                adopted.add(found.group(1))
        return adopted

    def _delete_rules(self, rules: Sequence[Rule], keep: set[str]) -> None:
        for rule in rules:
            if rule["id"] not in keep:
                _call(self.conn, self.project_id, "DELETE", "/security-group-rules/%s" % rule["id"], missing_ok=True)


def _list(conn: openstack.connection.Connection, project_id: str) -> list[Group]:
    """The project's groups with their rules (an admin listing naming the project:
    neutron makes the project's default group first if it has none)."""
    answer = _call(conn, project_id, "GET", "/security-groups?project_id=%s" % urllib.parse.quote(project_id, safe=""))
    return [Group.from_neutron(group) for group in answer["security_groups"]]


def _create_group(conn: openstack.connection.Connection, source: Group, project_id: str) -> Group:
    # stateful is always sent: a region may default it per project (2026.2).
    body = {
        "security_group": {
            "name": source.name,
            "description": source.description,
            "stateful": source.stateful,
            "project_id": project_id,
        }
    }
    return Group.from_neutron(_call(conn, project_id, "POST", "/security-groups", body)["security_group"])


def _call(
    conn: openstack.connection.Connection,
    project_id: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    missing_ok: bool = False,
) -> Any:
    """One neutron call for ``project_id``. Over quota is RetryLater: kingsync's global quota may move
    room to this region at its next rebalance, and what was made so far stays
    on record, unfinished, for the retry to resume. A 404 on a delete with
    ``missing_ok`` is done (someone else deleted it)."""
    try:
        return rest.call(conn, "network", method, path, body=body)
    except rest.ServiceError as exc:
        if exc.status == 404 and missing_ok:
            return None
        if exc.status == 409 and exc.message.startswith(_OVER_QUOTA):
            raise errors.RetryLater(
                "Neutron in %s refused: %s kingsync tries again once its global quota has rebalanced the "
                "project's room across regions." % (exc.region, exc.message),
                rebalance=project_id,
            ) from None
        raise
