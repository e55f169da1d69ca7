"""Plain data shared by the planner, the applier, the regional client and the engine.

Values follow OpenStack: a limit is an int >= 0, or -1 for unlimited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kingsync.quota.resources import UNLIMITED

# A security group as neutron lists it: "id", "security_group_rules" (each
# with neutron's fields) and the rest, as answered.
Group = Mapping[str, Any]

EVEN = "even"
PROPORTIONAL = "proportional"
HEADROOM_POLICIES = (EVEN, PROPORTIONAL)


def above(a: int, b: int) -> bool:
    """True when limit ``a`` is greater than limit ``b`` (-1 is greater than every number)."""
    if a == b:
        return False
    if a == UNLIMITED:
        return True
    if b == UNLIMITED:
        return False
    return a > b


def term(limit: int | None, usage: int) -> int | None:
    """max(limit, usage): what one region may hold; None when unbounded or unknown."""
    if limit is None or limit == UNLIMITED:
        return None
    return max(limit, usage)


@dataclasses.dataclass(frozen=True)
class Policy:
    """How headroom (G minus total usage) is divided between the regions.

    even:          equal shares, largest remainder first
    proportional:  each region first gets ``floor`` x (headroom / regions),
                   the rest in proportion to its recent demand
    hysteresis:    a change smaller than this share of G is not written
                   (never when it would break the invariant or starve a full region)
    """

    name: str = EVEN
    floor: float = 0.1
    hysteresis: float = 0.0


@dataclasses.dataclass(frozen=True)
class RegionView:
    """One region and one resource, as the planner sees them.

    ``limit`` is the region's current limit (read now, or for an unreachable
    region the last one confirmed); None if it was never known. ``usage`` is
    in_use + reserved, read now or last read.
    """

    region: str
    usage: int
    limit: int | None
    reachable: bool = True
    pin: int | None = None  # an admin's fixed regional limit for this project
    excluded: bool = False  # no headroom in this region: its limit follows its usage
    demand: float = 0.0  # recent growth of usage (proportional policy)


@dataclasses.dataclass(frozen=True)
class ResourcePlan:
    """The planner's answer for one resource.

    ``targets``: the limit each reachable region should get (unreachable ones are absent).
    ``budget``: G, or None for unlimited.
    ``frozen``: why no headroom could be given ("overspent", "unknown budget"), or None.
    """

    resource: str
    budget: int | None
    targets: Mapping[str, int]
    frozen: str | None = None


@dataclasses.dataclass(frozen=True)
class ServiceQuota:
    """One service's quota for one project in one region: limits and usage by wire name."""

    limits: Mapping[str, int]
    usage: Mapping[str, int]  # in_use + reserved


class RegionError(Exception):
    """A region's service could not be used. ``refused``: the service answered
    and said no (e.g. 400 below usage); otherwise it is unreachable, timed out
    or failed (5xx), and a write may or may not have happened."""

    def __init__(self, region: str, service: str, message: str, refused: bool = False) -> None:
        super().__init__("%s %s: %s" % (region, service, message))
        self.region = region
        self.service = service
        self.message = message
        self.refused = refused
