"""Security groups as neutron's SecurityGroupDbMixin keeps them: the default
group and the rule templates, creation with quota checks, cascading deletes,
and the three shapes neutron renders a group's rules in."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from kingsync.sim.network import api, rules
from kingsync.sim.network.state import State, link, unlink
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

# neutron's default_security_group_rules templates, as its migration creates
# them: (direction, ethertype, remote is the group itself, used in groups
# other than "default").
TEMPLATES = (
    ("egress", "IPv4", False, True),
    ("egress", "IPv6", False, True),
    ("ingress", "IPv4", True, False),
    ("ingress", "IPv6", True, False),
)
DEFAULT_DESCRIPTION = "Default security group"

# Key order of a rule as neutron renders it.
_RULE_KEYS = (
    "id",
    "project_id",
    "security_group_id",
    "ethertype",
    "direction",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "remote_address_group_id",
    "normalized_cidr",
    "remote_group_id",
)


class Groups:
    def __init__(self, state: State, region: Region) -> None:
        self.state = state
        self.region = region

    # -- creation ---------------------------------------------------------------------

    def ensure_default(self, project_id: str) -> str:
        """The project's default group, created (with its four rules) if missing."""
        existing = self.state.default_groups.get(project_id)
        if existing is not None:
            return existing
        self.state.check_quota(self.region, project_id, {"security_group_rule": len(TEMPLATES)})
        group = self._new(project_id, "default", DEFAULT_DESCRIPTION, True)
        self.state.default_groups[project_id] = group["id"]
        return str(group["id"])

    def create(self, project_id: str, name: str, description: str, stateful: bool) -> Json:
        # The API reserves the group before the plugin makes sure the default
        # group exists, then checks room for the template rules.
        self.state.check_quota(self.region, project_id, {"security_group": 1})
        self.ensure_default(project_id)
        in_custom = sum(1 for template in TEMPLATES if template[3])
        self.state.check_quota(self.region, project_id, {"security_group_rule": in_custom})
        return self._new(project_id, name, description, stateful)

    def _new(self, project_id: str, name: str, description: str, stateful: bool) -> Json:
        now = api.now()
        group: Json = {
            "id": str(uuid.uuid4()),
            "name": name,
            "stateful": stateful,
            "tenant_id": project_id,
            "project_id": project_id,
            "description": description,
            "shared": False,
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 1,
            "standard_attr_id": self.state.next_standard_attr_id(),
        }
        self.state.add("security_groups", group)
        self.state.group_rules[group["id"]] = []
        is_default = name == "default"
        for direction, ethertype, remote_self, in_custom in TEMPLATES:
            if is_default or in_custom:
                template = {
                    "direction": direction,
                    "ethertype": ethertype,
                    "protocol": None,
                    "port_range_min": None,
                    "port_range_max": None,
                    "remote_ip_prefix": None,
                    "remote_address_group_id": None,
                    "remote_group_id": group["id"] if remote_self else None,
                    "description": None,
                }
                self.add_rule(group, template, project_id, bump=False)
        return group

    def add_rule(self, group: Json, fields: Json, project_id: str, bump: bool = True) -> Json:
        now = api.now()
        rule = {
            "id": str(uuid.uuid4()),
            "project_id": project_id,
            "tenant_id": project_id,
            "security_group_id": group["id"],
            **fields,
            "normalized_cidr": rules.normalized_cidr(fields.get("remote_ip_prefix")),
            "standard_attr_id": self.state.next_standard_attr_id(),
            "tags": [],
            "created_at": now,
            "updated_at": now,
            "revision_number": 0,
        }
        self.state.add("rules", rule)
        link(self.state.group_rules, group["id"], rule["id"])
        if rule["remote_group_id"]:
            link(self.state.remote_rules, rule["remote_group_id"], rule["id"])
        if bump:
            bump_revision(group)
        return rule

    # -- deletion -------------------------------------------------------------------------

    def delete(self, group: Json) -> None:
        for rule in self.rules_of(group):
            self._forget_rule(rule)
        self.state.group_rules.pop(group["id"], None)
        # Rules of other groups whose remote is this group go with it (the
        # database cascades on remote_group_id).
        for rule_id in list(self.state.remote_rules.pop(group["id"], [])):
            remote = self.state.get("rules", rule_id)
            if remote is not None:
                self.delete_rule(remote)
        self.state.remove("security_groups", group)
        self.state.group_ports.pop(group["id"], None)
        if self.state.default_groups.get(group["project_id"]) == group["id"]:
            del self.state.default_groups[group["project_id"]]

    def _forget_rule(self, rule: Json) -> None:
        self.state.remove("rules", rule)
        if rule["remote_group_id"]:
            unlink(self.state.remote_rules, rule["remote_group_id"], rule["id"])

    def delete_rule(self, rule: Json) -> None:
        self._forget_rule(rule)
        unlink(self.state.group_rules, rule["security_group_id"], rule["id"])
        group = self.state.get("security_groups", rule["security_group_id"])
        if group is not None:
            bump_revision(group)

    # -- views ------------------------------------------------------------------------------

    def rules_of(self, group: Json) -> list[Json]:
        """The group's rules in creation order."""
        found = (self.state.get("rules", rule_id) for rule_id in self.state.group_rules.get(group["id"], []))
        return [rule for rule in found if rule is not None]

    def belongs_to_default(self, rule: Json) -> bool:
        owner = self.state.owners.get(rule["security_group_id"], "")
        return bool(self.state.default_groups.get(owner) == rule["security_group_id"])

    def rule_view(self, rule: Json) -> Json:
        """A rule on its own (rule list and show): no tags, no standard_attr_id."""
        view = {key: rule[key] for key in _RULE_KEYS}
        view.update(
            belongs_to_default_sg=self.belongs_to_default(rule),
            description=rule["description"],
            created_at=rule["created_at"],
            updated_at=rule["updated_at"],
            revision_number=rule["revision_number"],
            tenant_id=rule["tenant_id"],
        )
        return view

    def _nested_rule(self, rule: Json, listed: bool) -> Json:
        """A rule inside a group: neutron leaves standard_attr_id and tags in,
        and computes belongs_to_default_sg only when it loaded the group as an
        object (show, create, update), not in a list."""
        view = {key: rule[key] for key in _RULE_KEYS}
        view.update(
            standard_attr_id=rule["standard_attr_id"],
            belongs_to_default_sg=None if listed else self.belongs_to_default(rule),
            description=rule["description"],
            tags=rule["tags"],
            created_at=rule["created_at"],
            updated_at=rule["updated_at"],
            revision_number=rule["revision_number"],
            tenant_id=rule["tenant_id"],
        )
        return view

    def group_view(self, group: Json, listed: bool = False) -> Json:
        """A group with its rules: a list shows them in creation order, a
        single group by rule id."""
        found = self.rules_of(group)
        if not listed:
            found.sort(key=lambda r: str(r["id"]))
        view = {
            key: group[key] for key in ("id", "name", "stateful", "tenant_id", "project_id", "description", "shared")
        }
        view["security_group_rules"] = [self._nested_rule(r, listed) for r in found]
        view.update({key: group[key] for key in ("tags", "created_at", "updated_at", "revision_number")})
        return view


def bump_revision(obj: Json) -> None:
    """One more revision (neutron bumps once per transaction that changes the object)."""
    obj["revision_number"] += 1
    obj["updated_at"] = api.now()
