"""Usage across regions, from the planner's views: what the detail view shows,
and how close a project is to its limits (which sets when it is looked at next)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kingsync.quota import copies, resources
from kingsync.quota.model import RegionView


def aggregate_usage(views: Mapping[str, Sequence[RegionView]], dup: Mapping[str, int] | None = None) -> dict[str, int]:
    """Usage across regions: the sum for split resources, the sum minus the
    copies counted more than once (``dup``) for copyable ones, the largest
    region's for copied ones."""
    total: dict[str, int] = {}
    for resource, region_views in views.items():
        usages = [view.usage for view in region_views]
        if not usages:
            total[resource] = 0
        elif resources.is_divided(resource):
            total[resource] = copies.distinct(sum(usages), resource, dup or {})
        else:
            total[resource] = max(usages)
    return total


def nearness(
    limits: Mapping[str, int], views: Mapping[str, Sequence[RegionView]], dup: Mapping[str, int] | None = None
) -> float:
    """The smallest share of headroom left over the project's finite split and
    copyable limits (1.0: none is used); copies counted once."""
    smallest = 1.0
    for resource, region_views in views.items():
        limit = limits.get(resource)
        if limit is None or limit <= 0 or not resources.is_divided(resource):
            continue
        used = copies.distinct(sum(view.usage for view in region_views), resource, dup or {})
        smallest = min(smallest, max(0.0, (limit - used) / limit))
    return smallest
