"""The quota resources kingsync knows: name, service, kind and default.

Kinds:
    SPLIT    one global limit divided between the regions (cores, volumes, ports...)
    COPIED   the same value in every region: the limit is per server, per user,
             per group or per volume, so splitting it means nothing
    COPYABLE objects kingsync may copy between regions (security groups and
             their rules): split like SPLIT, except that kingsync's copies of
             one group count once globally (kingsync.quota.copies); groups a
             tenant made separately in each region are different groups, and
             each counts
    IGNORED  accepted by the API for Kingbird compatibility, never written to a
             region: nova-network's floating_ips, fixed_ips, security_groups
             and security_group_rules (nova has not enforced them since 2.36)

The first 20 names are Kingbird's, with Kingbird's defaults; a project under
kingsync's management is held to them unless its own limits or the
``default`` quota class say otherwise. The other names have no default: a
resource without a global limit is left to the regions.
"""

from __future__ import annotations

import dataclasses
import re

NOVA = "nova"
NEUTRON = "neutron"
CINDER = "cinder"
SERVICES = (NOVA, NEUTRON, CINDER)

SPLIT = "split"
COPIED = "copied"
COPYABLE = "copyable"
IGNORED = "ignored"
# The kinds whose global limit is divided between the regions.
DIVIDED = (SPLIT, COPYABLE)

UNLIMITED = -1
MAX_LIMIT = 0x7FFFFFFF  # nova's schema maximum, the smallest of the three services


@dataclasses.dataclass(frozen=True)
class Resource:
    name: str
    service: str
    kind: str
    default: int | None = None  # Kingbird's default; None: not managed unless set


_KINGBIRD = [
    Resource("instances", NOVA, SPLIT, 10),
    Resource("cores", NOVA, SPLIT, 20),
    Resource("ram", NOVA, SPLIT, 51200),
    Resource("metadata_items", NOVA, COPIED, 128),
    Resource("key_pairs", NOVA, COPIED, 100),
    Resource("floating_ips", NOVA, IGNORED, 10),
    Resource("fixed_ips", NOVA, IGNORED, -1),
    Resource("security_groups", NOVA, IGNORED, 10),
    Resource("network", NEUTRON, SPLIT, 10),
    Resource("subnet", NEUTRON, SPLIT, 10),
    Resource("port", NEUTRON, SPLIT, 50),
    Resource("router", NEUTRON, SPLIT, 10),
    Resource("floatingip", NEUTRON, SPLIT, 50),
    Resource("security_group", NEUTRON, COPYABLE, 10),
    Resource("security_group_rule", NEUTRON, COPYABLE, 100),
    Resource("volumes", CINDER, SPLIT, 10),
    Resource("snapshots", CINDER, SPLIT, 10),
    Resource("gigabytes", CINDER, SPLIT, 1000),
    Resource("backups", CINDER, SPLIT, 10),
    Resource("backup_gigabytes", CINDER, SPLIT, 1000),
]

_CURRENT = [
    Resource("server_groups", NOVA, SPLIT),
    Resource("server_group_members", NOVA, COPIED),
    Resource("injected_files", NOVA, COPIED),
    Resource("injected_file_content_bytes", NOVA, COPIED),
    Resource("injected_file_path_bytes", NOVA, COPIED),
    Resource("security_group_rules", NOVA, IGNORED),
    Resource("subnetpool", NEUTRON, SPLIT),
    Resource("rbac_policy", NEUTRON, SPLIT),
    Resource("router_route", NEUTRON, COPIED),  # per router
    Resource("groups", CINDER, SPLIT),
    Resource("per_volume_gigabytes", CINDER, COPIED),  # per volume
]

RESOURCES: dict[str, Resource] = {r.name: r for r in (*_KINGBIRD, *_CURRENT)}
KINGBIRD_NAMES: tuple[str, ...] = tuple(r.name for r in _KINGBIRD)

# Cinder's per volume type keys: volumes_<type>, snapshots_<type>, gigabytes_<type>.
_VOLUME_TYPE_KEY = re.compile(r"^(volumes|snapshots|gigabytes)_(.+)$")
_TYPE_NAME = re.compile(r"^[A-Za-z0-9_\-. ]{1,255}$")


def get(name: str) -> Resource | None:
    """The resource called ``name`` (per volume type keys included), or None."""
    found = RESOURCES.get(name)
    if found is not None:
        return found
    match = _VOLUME_TYPE_KEY.match(name)
    if match and _TYPE_NAME.match(match.group(2)):
        return Resource(name, CINDER, SPLIT)
    return None


def is_known(name: str) -> bool:
    return get(name) is not None


def defaults() -> dict[str, int]:
    """Kingbird's built-in defaults (before the ``default`` quota class)."""
    return {r.name: r.default for r in _KINGBIRD if r.default is not None}


def managed_kind(name: str) -> str:
    """The kind for the engine; unknown names (a region's own extras) are IGNORED."""
    found = get(name)
    return found.kind if found is not None else IGNORED


def is_divided(name: str) -> bool:
    """True for a resource whose global limit is shared out between the regions (SPLIT, COPYABLE)."""
    return managed_kind(name) in DIVIDED


def service_of(name: str) -> str | None:
    found = get(name)
    return found.service if found is not None else None


def all_names() -> list[str]:
    return list(RESOURCES)
