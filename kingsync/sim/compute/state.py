"""The compute state of one region: plain JSON-able data, indexed by user or
project so that per-project calls stay fast with thousands of projects."""

from __future__ import annotations

import dataclasses

from kingsync.sim.wire import Json


@dataclasses.dataclass
class State:
    # user id -> lower-cased keypair name -> keypair (nova keeps keypairs per
    # user, and its database compares names without case)
    keypairs: dict[str, dict[str, Json]] = dataclasses.field(default_factory=dict)
    # lower-cased flavor id -> flavor, with its "extra_specs" and access
    # "projects" (ids and names are unique without case, as in nova's MySQL)
    flavors: dict[str, Json] = dataclasses.field(default_factory=dict)
    # project id -> resource -> limit set on the project
    quotas: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # project id -> user id -> resource -> limit set on the user
    user_quotas: dict[str, dict[str, dict[str, int]]] = dataclasses.field(default_factory=dict)
    # quota class name -> resource -> limit ("default" holds the defaults)
    quota_classes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # project id -> server group uuid -> server group
    server_groups: dict[str, dict[str, Json]] = dataclasses.field(default_factory=dict)
    # server group uuid -> project id, to find a group by its id alone
    server_group_projects: dict[str, str] = dataclasses.field(default_factory=dict)
    # the database's auto-increment counters ("keypairs", "flavors")
    sequences: dict[str, int] = dataclasses.field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.sequences[table] = self.sequences.get(table, 0) + 1
        return self.sequences[table]
