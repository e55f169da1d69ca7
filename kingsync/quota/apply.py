"""Moving the regions to the planner's targets without ever over-granting.

The order is the demarcation protocol (Barbara and Garcia-Molina; see
reference/quota-algorithms.md 4.5): a region may always lower its own limit,
and another may be raised only by what a lowering has actually freed.

    1. decreases: per region and service one PUT with every key to lower
       (never ``force``: a refusal is the safety signal), then read back the
       limits and fresh usage; a refusal is retried once at the fresh usage
    2. slack: G minus what every region may hold now, from the values read
       back, the snapshot for regions not touched, and the last confirmed
       limit of unreachable regions
    3. increases: within that slack, in region order, one PUT per region and
       service; the PUT's answer (the service re-reads what it stored) is
       the read-back

Whenever the outcome of a write is unknown (timeout, 5xx, connection lost)
the applier assumes the worst for the budget: a decrease may not have
happened, an increase may have. Lost answers only waste slack; they never
let the regions together grant more than G.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

from kingsync.quota import resources
from kingsync.quota.model import Group, RegionError, RegionView, ResourcePlan, ServiceQuota, above, term
from kingsync.quota.resources import UNLIMITED

ACCEPTED_UNCHANGED = "accepted but unchanged"

Key = tuple[str, str]  # (region, resource)


class QuotaClient(Protocol):
    """One project's quotas in the regions' services (regional.py over HTTP, a fake in tests)."""

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        """Limits and usage (in_use + reserved) of every key; raises RegionError."""

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        """Set ``limits`` in one request; returns the limits the service stored
        after the write. Raises RegionError (refused=True: the service said no
        and wrote nothing)."""

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        """The project's security groups in the region as neutron lists them,
        rules embedded, in one request; raises RegionError. Only for counting
        kingsync's copies once (kingsync.quota.copies), before planning: the
        apply never calls it."""


@dataclasses.dataclass(frozen=True)
class Change:
    """A regional limit this apply changed: ``old`` is what the region had before."""

    region: str
    resource: str
    old: int | None
    new: int


@dataclasses.dataclass(frozen=True)
class Failure:
    """A request to one region's service that did not do what was asked."""

    region: str
    service: str
    message: str
    refused: bool  # the service said no; otherwise it could not be reached or failed
    resources: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    """What one apply knows afterwards.

    ``confirmed``: every (region, resource) of the snapshot whose regional
    limit is known now: read back, answered by an increase, or from the
    snapshot when not touched. Absent: a write without an answer (the region
    holds either value) and a decrease without a read-back (what the region
    holds is not known). ``usage``: fresh usage where a read-back gave it.
    ``unreachable``: (region, service) pairs that failed during the apply.
    """

    confirmed: dict[Key, int]
    usage: dict[Key, int]
    changes: list[Change]
    failures: list[Failure]
    unreachable: set[tuple[str, str]]


def apply_plans(
    project_id: str,
    plans: Mapping[str, ResourcePlan],
    views: Mapping[str, Sequence[RegionView]],
    client: QuotaClient,
) -> ApplyResult:
    """Apply one project's plans: decreases, read back, increases within the slack."""
    run = _Run(project_id, views, client)
    run.lower(plans)
    run.raise_within_slack(plans)
    return ApplyResult(
        confirmed=run.confirmed,
        usage=run.fresh_usage,
        changes=run.changes,
        failures=run.failures,
        unreachable=run.unreachable,
    )


def at_least_usage(target: int, usage: int) -> int:
    """The limit to ask for: never below usage.

    Below usage nova and neutron refuse, and cinder (for a key the project
    has no row for yet) stores it, which is what ``force`` does; neither is
    wanted, and the region cannot hold less than its usage anyway.
    """
    return target if target == UNLIMITED else max(target, usage)


class _Run:
    """The state of one apply: what each region may hold now, and what is known."""

    def __init__(self, project_id: str, views: Mapping[str, Sequence[RegionView]], client: QuotaClient) -> None:
        self.project_id = project_id
        self.client = client
        self.views = {resource: list(per_region) for resource, per_region in views.items()}
        # The budget's view of each region: the last value read (snapshot or read-back),
        # never a written value whose read-back is missing.
        self.limit: dict[Key, int | None] = {}
        self.usage: dict[Key, int] = {}
        self.confirmed: dict[Key, int] = {}
        self.fresh_usage: dict[Key, int] = {}
        self.changes: list[Change] = []
        self.failures: list[Failure] = []
        self.unreachable: set[tuple[str, str]] = set()
        for resource, per_region in self.views.items():
            for view in per_region:
                key = (view.region, resource)
                self.limit[key] = view.limit
                self.usage[key] = view.usage
                if view.reachable and view.limit is not None:
                    self.confirmed[key] = view.limit

    # Step 1: decreases, read back, one retry at the fresh usage.

    def lower(self, plans: Mapping[str, ResourcePlan]) -> None:
        """Every key whose target is below its limit (or whose limit is unknown)."""
        wanted: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for resource, plan in plans.items():
            for region, target in plan.targets.items():
                key = (region, resource)
                goal = at_least_usage(target, self.usage.get(key, 0))
                if _lowers(self.limit.get(key), goal):
                    wanted[(region, _service(resource))][resource] = goal
        for region, service in sorted(wanted, key=_call_order):
            self._lower_one(region, service, wanted[(region, service)])

    def _lower_one(self, region: str, service: str, wanted: dict[str, int]) -> None:
        before = self._limits(region, wanted)
        try:
            answer = self.client.write(region, service, self.project_id, wanted)
        except RegionError as exc:
            if not exc.refused:
                # It may have been written: the budget keeps the old, higher limits.
                self._fail(region, service, exc, wanted)
                return
            retried = self._retry(region, service, exc, wanted)
            if retried is None:
                return
            wanted, before, answer = retried
        fresh = self._read(region, service, wanted)
        if fresh is not None:
            self._settle(region, service, wanted, before, fresh.limits)
            return
        # No read-back: the answer says what was stored, not what the region
        # holds; cinder may have stored a limit below a usage that grew since.
        # The budget keeps the limits read before, and the limits are not
        # confirmed, so that a later round does not count on them either.
        self._settle(region, service, wanted, before, answer)
        for resource in wanted:
            self.confirmed.pop((region, resource), None)

    def _retry(
        self, region: str, service: str, refusal: RegionError, wanted: Mapping[str, int]
    ) -> tuple[dict[str, int], dict[str, int | None], Mapping[str, int]] | None:
        """Once more after a refusal, no lower than the fresh usage.

        The refusal wrote nothing; usage has most likely grown since the
        snapshot. Returns what was written, the limits before and the answer.
        """
        fresh = self._read(region, service, wanted)
        retry = {} if fresh is None else self._still_lower(wanted, fresh)
        if not retry:
            self._fail(region, service, refusal, wanted)
            return None
        before = self._limits(region, retry)
        try:
            return retry, before, self.client.write(region, service, self.project_id, retry)
        except RegionError as exc:
            self._fail(region, service, exc, retry)
            return None

    @staticmethod
    def _still_lower(wanted: Mapping[str, int], fresh: ServiceQuota) -> dict[str, int]:
        """The refused keys again, no lower than the fresh usage, where that is still a decrease."""
        retry = {}
        for resource, goal in wanted.items():
            goal = at_least_usage(goal, fresh.usage.get(resource, 0))
            if _lowers(fresh.limits.get(resource), goal):
                retry[resource] = goal
        return retry

    def _read(self, region: str, service: str, wanted: Mapping[str, int]) -> ServiceQuota | None:
        try:
            fresh = self.client.read(region, service, self.project_id)
        except RegionError as exc:
            self._fail(region, service, exc, wanted, writing=False)
            return None
        for resource in self.views:
            if _service(resource) != service or resource not in fresh.limits:
                continue
            key = (region, resource)
            self.limit[key] = self.confirmed[key] = fresh.limits[resource]
            self.usage[key] = self.fresh_usage[key] = fresh.usage.get(resource, 0)
        return fresh

    # Step 2 and 3: the slack actually freed, then increases within it.

    def raise_within_slack(self, plans: Mapping[str, ResourcePlan]) -> None:
        wanted: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for resource in sorted(plans):
            plan = plans[resource]
            service = _service(resource)
            slack = None if plan.budget is None else self._slack(resource, plan.budget)
            for region, target in sorted(plan.targets.items()):
                key = (region, resource)
                current, usage = self.limit.get(key), self.usage.get(key, 0)
                goal = at_least_usage(target, usage)
                if (region, service) in self.unreachable or not _raises(current, goal):
                    continue
                if slack is not None:
                    # With a budget the targets are finite, so an unknown limit is not raised.
                    if current is None or slack < 0:
                        continue
                    goal = min(goal, max(current, usage) + slack)
                    if not above(goal, current):
                        continue
                    # Spent when asked for: an unanswered increase may have been made.
                    slack -= max(goal, usage) - max(current, usage)
                wanted[(region, service)][resource] = goal
        for region, service in sorted(wanted, key=_call_order):
            limits = wanted[(region, service)]
            before = self._limits(region, limits)
            try:
                answer = self.client.write(region, service, self.project_id, limits)
            except RegionError as exc:
                self._fail(region, service, exc, limits)
                continue
            self._settle(region, service, limits, before, answer)

    def _slack(self, resource: str, global_limit: int) -> int:
        """G minus what every region may hold now; -1 when a region's share is unknown.

        Negative slack (overspent, or unknown) allows no increase at all, not
        even a limit below usage raised to that usage: the usage is as old as
        its read, and if the tenant has deleted since, the raise hands out
        room the project does not have. With slack >= 0 the sum after the
        raise is within G whatever the usage does, as it only shrinks terms.
        """
        held = 0
        for view in self.views.get(resource, []):
            key = (view.region, resource)
            amount = term(self.limit.get(key), self.usage.get(key, 0))
            if amount is None:
                return -1
            held += amount
        return global_limit - held

    # Bookkeeping.

    def _limits(self, region: str, wanted: Mapping[str, int]) -> dict[str, int | None]:
        return {resource: self.limit.get((region, resource)) for resource in wanted}

    def _settle(
        self,
        region: str,
        service: str,
        written: Mapping[str, int],
        before: Mapping[str, int | None],
        stored: Mapping[str, int],
    ) -> None:
        """Record what the service says it stored; a difference is a failure."""
        unchanged = []
        for resource, value in written.items():
            key = (region, resource)
            now = stored.get(resource)
            if now is None:
                self.confirmed.pop(key, None)
            else:
                self.confirmed[key] = now
                if now != before[resource]:
                    self.changes.append(Change(region, resource, before[resource], now))
            if now != value:
                unchanged.append("%s=%s (asked %d)" % (resource, now, value))
        if unchanged:
            message = "%s: %s" % (ACCEPTED_UNCHANGED, ", ".join(unchanged))
            self.failures.append(Failure(region, service, message, False, tuple(sorted(written))))

    def _fail(self, region: str, service: str, exc: RegionError, keys: Mapping[str, int], writing: bool = True) -> None:
        """Record a failed call; without an answer the region and service are done for this apply."""
        self.failures.append(Failure(region, service, exc.message, exc.refused, tuple(sorted(keys))))
        if exc.refused:
            return
        self.unreachable.add((region, service))
        if writing:
            for resource in keys:
                # The write may or may not have happened: neither value is known.
                self.confirmed.pop((region, resource), None)


def _service(resource: str) -> str:
    service = resources.service_of(resource)
    if service is None:
        raise ValueError("not a quota resource kingsync knows: %s" % resource)
    return service


def _lowers(current: int | None, goal: int) -> bool:
    """A decrease, or an unknown limit that may be higher than a finite goal."""
    return goal != UNLIMITED if current is None else above(current, goal)


def _raises(current: int | None, goal: int) -> bool:
    """An increase; unlimited is above an unknown limit too."""
    return goal == UNLIMITED if current is None else above(goal, current)


def _call_order(region_service: tuple[str, str]) -> tuple[str, int]:
    region, service = region_service
    return region, resources.SERVICES.index(service)
