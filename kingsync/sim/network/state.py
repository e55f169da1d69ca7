"""The network state of one region: plain JSON-able data, indexed by project
so that per-project calls stay fast with thousands of projects."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kingsync.sim.network import api
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

# The quota resources neutron registers with ML2 and no service plugins, with
# neutron.conf's [quotas] defaults, in the order neutron reports them.
QUOTA_DEFAULTS = {
    "network": 100,
    "subnet": 100,
    "subnetpool": -1,
    "port": 500,
    "rbac_policy": 10,
    "security_group": 10,
    "security_group_rule": 100,
}
# Quota resource -> the table whose rows it counts (the other resources count
# only what the control API adds).
_COUNTED = {"network": "networks", "port": "ports", "security_group": "security_groups", "security_group_rule": "rules"}
# The tables of objects owned by a project.
KINDS = ("security_groups", "rules", "networks", "ports")


@dataclasses.dataclass
class State:
    # table -> project id -> object id -> the object as stored
    objects: dict[str, dict[str, dict[str, Json]]] = dataclasses.field(default_factory=dict)
    # object id -> owning project, for every table
    owners: dict[str, str] = dataclasses.field(default_factory=dict)
    # security group id -> its rule ids, in creation order
    group_rules: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # security group id -> ids of the rules (of any group) naming it as remote
    remote_rules: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # security group id -> ids of the ports bound to it
    group_ports: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # network id -> ids of its ports
    network_ports: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # project id -> id of its default security group
    default_groups: dict[str, str] = dataclasses.field(default_factory=dict)
    # project id -> resource -> limit, for projects with limits set
    quotas: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # neutron's standardattributes auto-increment (rules show the value)
    last_standard_attr_id: int = 0

    # -- objects -----------------------------------------------------------------------

    def next_standard_attr_id(self) -> int:
        self.last_standard_attr_id += 1
        return self.last_standard_attr_id

    def get(self, kind: str, object_id: str) -> Json | None:
        project_id = self.owners.get(object_id)
        if project_id is None:
            return None
        return self.objects.get(kind, {}).get(project_id, {}).get(object_id)

    def add(self, kind: str, obj: Json) -> None:
        self.objects.setdefault(kind, {}).setdefault(obj["project_id"], {})[obj["id"]] = obj
        self.owners[obj["id"]] = obj["project_id"]

    def remove(self, kind: str, obj: Json) -> None:
        table = self.objects.get(kind, {})
        owned = table.get(obj["project_id"], {})
        owned.pop(obj["id"], None)
        if not owned:
            table.pop(obj["project_id"], None)
        self.owners.pop(obj["id"], None)

    def of_project(self, kind: str, project_id: str) -> list[Json]:
        return list(self.objects.get(kind, {}).get(project_id, {}).values())

    def everything(self, kind: str) -> list[Json]:
        return [obj for owned in self.objects.get(kind, {}).values() for obj in owned.values()]

    def of_projects(self, kind: str, project_ids: Iterable[str] | None) -> list[Json]:
        """The objects of these projects, or of all when ``project_ids`` is None."""
        if project_ids is None:
            return self.everything(kind)
        return [obj for p in dict.fromkeys(project_ids) for obj in self.of_project(kind, p)]

    # -- quotas ----------------------------------------------------------------------------

    def limits(self, project_id: str) -> dict[str, int]:
        return {**QUOTA_DEFAULTS, **self.quotas.get(project_id, {})}

    def used(self, region: Region, project_id: str, resource: str) -> int:
        kind = _COUNTED.get(resource)
        counted = len(self.objects.get(kind, {}).get(project_id, {})) if kind else 0
        if resource == "rbac_policy":
            # Sharing a network creates an access_as_shared RBAC policy.
            counted = sum(1 for n in self.of_project("networks", project_id) if n["shared"])
        return counted + region.usage_of("network", project_id, resource)

    def check_quota(self, region: Region, project_id: str, deltas: dict[str, int]) -> None:
        """The reservation check: 409 OverQuota naming every resource over."""
        limits = self.limits(project_id)
        overs = sorted(
            r for r, delta in deltas.items() if limits[r] >= 0 and self.used(region, project_id, r) + delta > limits[r]
        )
        if overs:
            api.fault(409, "OverQuota", "Quota exceeded for resources: %s." % overs)


def link(index: dict[str, list[str]], key: str, member: str) -> None:
    index.setdefault(key, []).append(member)


def unlink(index: dict[str, list[str]], key: str, member: str) -> None:
    members = index.get(key, [])
    if member in members:
        members.remove(member)
    if not members:
        index.pop(key, None)
