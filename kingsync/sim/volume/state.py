"""The volume state of one region: plain JSON-able data, indexed by project
so that per-project calls stay fast with thousands of projects."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kingsync.sim.identity import stable_id
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

DEFAULT_TYPE = "__DEFAULT__"
# cinder's quota resources and the defaults its db sync puts in the
# "default" quota class; per volume type keys default to -1 (unlimited).
GLOBAL_DEFAULTS = {
    "volumes": 10,
    "per_volume_gigabytes": -1,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
}
GROUP_DEFAULTS = {"groups": 10}
_TYPE_PARTS = ("volumes", "gigabytes", "snapshots")


def type_id(region_name: str, name: str) -> str:
    """A stable uuid-shaped id for a volume type of a region."""
    raw = stable_id("volume_type", region_name, name)
    return "-".join((raw[:8], raw[8:12], raw[12:16], raw[16:20], raw[20:]))


@dataclasses.dataclass
class State:
    # project id -> volume id -> volume
    volumes: dict[str, dict[str, Json]] = dataclasses.field(default_factory=dict)
    # volume id -> project id, to find a volume by its id alone
    volume_projects: dict[str, str] = dataclasses.field(default_factory=dict)
    # volume type name -> type (db sync creates __DEFAULT__; see types_of)
    types: dict[str, Json] = dataclasses.field(default_factory=dict)
    # project id -> resource -> limit set on the project
    quotas: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # quota class name -> resource -> limit set on the class
    quota_classes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def ensure_default_type(self, region_name: str) -> None:
        if DEFAULT_TYPE not in self.types:
            self.types[DEFAULT_TYPE] = {
                "id": type_id(region_name, DEFAULT_TYPE),
                "name": DEFAULT_TYPE,
                "is_public": True,
                "description": "Default Volume Type",
                "extra_specs": {},
                "qos_specs_id": None,
            }

    # -- quota resources --------------------------------------------------------------

    def resources(self) -> list[str]:
        """Every quota resource, in the order cinder reports them."""
        per_type = [f"{part}_{name}" for name in self.types for part in _TYPE_PARTS]
        return [*GLOBAL_DEFAULTS, *per_type, *GROUP_DEFAULTS]

    def defaults(self) -> dict[str, int]:
        """The default quota class (db rows over the built-in defaults)."""
        built_in = {r: GLOBAL_DEFAULTS.get(r, GROUP_DEFAULTS.get(r, -1)) for r in self.resources()}
        return {**built_in, **self.quota_classes.get("default", {})}

    def class_limits(self, name: str) -> dict[str, int]:
        return {**self.defaults(), **self.quota_classes.get(name, {})}

    def limits(self, project_id: str) -> dict[str, int]:
        set_here = self.quotas.get(project_id, {})
        return {r: set_here.get(r, limit) for r, limit in self.defaults().items()}

    def in_use(self, region: Region, project_id: str) -> dict[str, int]:
        """What the project's volumes use, plus what the control API adds."""
        used = dict.fromkeys(self.resources(), 0)
        for volume in self.volumes.get(project_id, {}).values():
            for key, amount in volume_deltas(volume["volume_type"], volume["size"]).items():
                used[key] = used.get(key, 0) + amount
        for key in used:
            used[key] += region.usage_of("volume", project_id, key)
        return used

    # -- volumes ------------------------------------------------------------------------

    def get_volume(self, volume_id: str) -> Json | None:
        project_id = self.volume_projects.get(volume_id)
        if project_id is None:
            return None
        return self.volumes.get(project_id, {}).get(volume_id)

    def add_volume(self, volume: Json) -> None:
        self.volumes.setdefault(volume["project_id"], {})[volume["id"]] = volume
        self.volume_projects[volume["id"]] = volume["project_id"]

    def remove_volume(self, volume: Json) -> None:
        owned = self.volumes.get(volume["project_id"], {})
        owned.pop(volume["id"], None)
        if not owned:
            self.volumes.pop(volume["project_id"], None)
        self.volume_projects.pop(volume["id"], None)


def volume_deltas(type_name: str, size: int) -> dict[str, int]:
    """What one volume counts against (cinder's reserve_opts)."""
    return {"volumes": 1, "gigabytes": size, f"volumes_{type_name}": 1, f"gigabytes_{type_name}": size}
