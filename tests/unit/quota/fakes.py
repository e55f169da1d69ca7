"""The regions' quota APIs in memory, with their refusals, outages and a tenant.

``FakeRegions`` implements kingsync.quota.apply.QuotaClient over the true
state of every (project, region): limits and usage (in_use + reserved) per
key. It refuses what the real services refuse:

    nova, neutron   a limit below usage (except -1): 400, the whole PUT, nothing written
    cinder          the same, but only for keys the project already has its own row
                    for (``own``, set by the first accepted write); below usage on a
                    key still at the default is stored (per_volume_gigabytes never checked)

and it can misbehave like a real cloud: a region ``down`` (every call fails,
nothing written), a service in ``noop`` (accepts a PUT and stores nothing,
like nova's unified-limits driver), a region in ``lost`` (the PUT is stored,
then the answer is lost), and ``fault`` (any other error, raised before
anything is stored: a 403 with refused=True, a 503 without). ``before_call``
runs before every call: a tenant creating and deleting things between two
PUTs of a rebalance.

After every write that stored something the fake checks, on the true state,
the global-quota invariant for each split or copyable resource with a finite
global limit in ``budgets``: a write may raise sum(max(L, u)) - dup over the
regions only up to max(G, sum(u) - dup), where dup (``dups``) is what the
regions count more than once: kingsync's copies of a security group
(kingsync.quota.copies). Tenants cannot raise that sum (usage grows only up
to the limit, and never below ``floors``: the copies stay), so a project
within G stays within G at every instant.

``security_groups`` holds the groups each region lists (``groups``, the
third call of the QuotaClient protocol); the fake keeps them apart from the
usage numbers, which the test sets to match.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping, Sequence

from hypothesis import strategies as st

from kingsync.quota import resources
from kingsync.quota.model import Group, RegionError, ServiceQuota, above
from kingsync.quota.resources import UNLIMITED


class InvariantBroken(AssertionError):
    """A write let the regions together grant more than the global limit (copies counted once)."""


@dataclasses.dataclass
class Call:
    kind: str  # "read", "write" or "groups"
    region: str
    service: str
    project_id: str
    body: dict[str, int]
    outcome: str = "ok"  # ok, down, failed, refused, noop, lost
    lowered: tuple[str, ...] = ()  # keys the write actually lowered
    raised: tuple[str, ...] = ()  # keys the write actually raised


@dataclasses.dataclass(frozen=True)
class Sum:
    """sum(max(L, u)) - dup and sum(u) - dup of one resource right after a write."""

    project_id: str
    resource: str
    held: float  # inf when a region is unlimited
    usage: int
    budget: int


class FakeRegions:
    def __init__(self) -> None:
        self.limits: dict[tuple[str, str], dict[str, int]] = {}  # (project, region) -> key -> limit
        self.usage: dict[tuple[str, str], dict[str, int]] = {}
        self.own: set[tuple[str, str, str]] = set()  # (project, region, key) with a project row (cinder)
        self.budgets: dict[tuple[str, str], int] = {}  # (project, resource) -> G, for the invariant
        self.dups: dict[tuple[str, str], int] = {}  # (project, resource) -> counted more than once
        self.floors: dict[tuple[str, str, str], int] = {}  # (project, region, key) -> usage the tenant keeps
        self.security_groups: dict[tuple[str, str], list[dict[str, object]]] = {}  # (project, region) -> listed
        self.down: set[str] = set()
        self.noop: set[tuple[str, str]] = set()  # (region, service)
        self.lost: set[str] = set()
        self.fault: Callable[[Call], RegionError | None] | None = None  # an error for this call, or None
        self.before_call: Callable[[FakeRegions], None] | None = None
        self.calls: list[Call] = []
        self.sums: list[Sum] = []

    # Setting up and looking at the true state.

    def set(self, project_id: str, region: str, key: str, limit: int, usage: int = 0, own: bool = True) -> None:
        self.limits.setdefault((project_id, region), {})[key] = limit
        self.usage.setdefault((project_id, region), {})[key] = usage
        if own:
            self.own.add((project_id, region, key))

    def limit_of(self, project_id: str, region: str, key: str) -> int:
        return self.limits[(project_id, region)][key]

    def usage_of(self, project_id: str, region: str, key: str) -> int:
        return self.usage[(project_id, region)].get(key, 0)

    def regions(self, project_id: str) -> list[str]:
        return sorted(region for project, region in self.limits if project == project_id)

    def floor(self, project_id: str, region: str, key: str) -> int:
        return self.floors.get((project_id, region, key), 0)

    def held(self, project_id: str, resource: str) -> tuple[float, int]:
        """sum(max(L, u)) and sum(u) over the regions that have the key (copies counted in each)."""
        held: float = 0
        usage = 0
        for region in self.regions(project_id):
            limit = self.limits[(project_id, region)].get(resource)
            if limit is None:
                continue
            used = self.usage_of(project_id, region, resource)
            held += math.inf if limit == UNLIMITED else max(limit, used)
            usage += used
        return held, usage

    def writes(self) -> list[Call]:
        return [call for call in self.calls if call.kind == "write"]

    # The QuotaClient protocol.

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        call = self._start("read", region, service, project_id, {})
        self._fault(call)
        limits = self._service_limits(project_id, region, service)
        usage = {key: self.usage_of(project_id, region, key) for key in limits}
        return ServiceQuota(limits=limits, usage=usage)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        call = self._start("write", region, service, project_id, dict(limits))
        assert "force" not in limits, "kingsync never forces a limit below usage"
        stored = self.limits.setdefault((project_id, region), {})
        bad = [key for key in limits if resources.service_of(key) != service]
        if bad:
            self._refuse(call, "Bad key(s) in quota set: %s" % ", ".join(bad))
        self._fault(call)
        for key, value in limits.items():
            if self._below_usage(project_id, region, service, key, value):
                self._refuse(
                    call,
                    "Quota limit %d for %s must be greater than or equal to already used %d"
                    % (value, key, self.usage_of(project_id, region, key)),
                )
        if (region, service) in self.noop:
            call.outcome = "noop"
            return self._service_limits(project_id, region, service)

        before = {resource: self.held(project_id, resource) for resource in self._watched(project_id)}
        call.lowered = tuple(k for k, v in limits.items() if k in stored and above(stored[k], v))
        call.raised = tuple(k for k, v in limits.items() if k not in stored or above(v, stored[k]))
        for key, value in limits.items():
            stored[key] = value
            self.own.add((project_id, region, key))
        self._check(project_id, before)
        if region in self.lost:
            call.outcome = "lost"
            raise RegionError(region, service, "timed out after the request was sent")
        return self._service_limits(project_id, region, service)

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        call = self._start("groups", region, resources.NEUTRON, project_id, {})
        self._fault(call)
        return [dict(group) for group in self.security_groups.get((project_id, region), [])]

    # Inside.

    def _start(self, kind: str, region: str, service: str, project_id: str, body: dict[str, int]) -> Call:
        if self.before_call is not None:
            self.before_call(self)
        call = Call(kind, region, service, project_id, body)
        self.calls.append(call)
        if region in self.down:
            call.outcome = "down"
            raise RegionError(region, service, "connection refused")
        return call

    def _fault(self, call: Call) -> None:
        error = self.fault(call) if self.fault is not None else None
        if error is not None:
            call.outcome = "refused" if error.refused else "failed"
            raise error

    def _refuse(self, call: Call, message: str) -> None:
        call.outcome = "refused"
        raise RegionError(call.region, call.service, message, refused=True)

    def _service_limits(self, project_id: str, region: str, service: str) -> dict[str, int]:
        stored = self.limits.get((project_id, region), {})
        return {key: value for key, value in stored.items() if resources.service_of(key) == service}

    def _below_usage(self, project_id: str, region: str, service: str, key: str, value: int) -> bool:
        if value == UNLIMITED or value >= self.usage_of(project_id, region, key):
            return False
        if service == resources.CINDER:
            return key != "per_volume_gigabytes" and (project_id, region, key) in self.own
        return True

    def _watched(self, project_id: str) -> list[str]:
        return [
            resource
            for (project, resource), budget in self.budgets.items()
            if project == project_id and budget != UNLIMITED and resources.is_divided(resource)
        ]

    def _check(self, project_id: str, before: Mapping[str, tuple[float, int]]) -> None:
        for resource in self._watched(project_id):
            budget = self.budgets[(project_id, resource)]
            dup = self.dups.get((project_id, resource), 0)
            held, usage = self.held(project_id, resource)
            held, usage = held - dup, usage - dup
            self.sums.append(Sum(project_id, resource, held, usage, budget))
            if held > max(budget, usage) and held > before[resource][0] - dup:
                raise InvariantBroken(
                    "%s %s: regions may hold %s, global limit %d, usage %d (before this write %s)"
                    % (project_id, resource, held, budget, usage, before[resource][0] - dup)
                )


class RandomTenant:
    """A tenant that creates and deletes things between any two calls.

    Usage grows only up to the region's current limit (that is what the
    region enforces; it cannot grow at all in a region already above it)
    and shrinks down to the region's floor (0, or the copies it holds).
    """

    def __init__(self, rng: random.Random, project_id: str, rate: float = 0.5) -> None:
        self.rng = rng
        self.project_id = project_id
        self.rate = rate

    def __call__(self, fake: FakeRegions) -> None:
        if self.rng.random() >= self.rate:
            return
        regions = fake.regions(self.project_id)
        if not regions:
            return
        region = self.rng.choice(regions)
        keys = sorted(fake.limits[(self.project_id, region)])
        if not keys:
            return
        key = self.rng.choice(keys)
        limit = fake.limit_of(self.project_id, region, key)
        used = fake.usage_of(self.project_id, region, key)
        ceiling = used + 10 if limit == UNLIMITED else max(limit, used)
        fake.usage[(self.project_id, region)][key] = self.rng.randint(fake.floor(self.project_id, region, key), ceiling)


def within_budget(limits: Mapping[str, int], usage: Mapping[str, int], budget: int) -> dict[str, int]:
    """``limits`` (finite) lowered toward usage, in region order, until they satisfy the invariant for ``budget``.

    Property tests start from a state kingsync could have left behind.
    """
    fitted = dict(limits)
    excess = sum(max(fitted[r], usage[r]) for r in fitted) - max(budget, sum(usage.values()))
    for region in sorted(fitted):
        if excess <= 0:
            break
        cut = min(excess, max(fitted[region] - usage[region], 0))
        fitted[region] -= cut
        excess -= cut
    return fitted


def misbehave(
    draw: st.DrawFn,
    fake: FakeRegions,
    regions: list[str],
    project_id: str,
    calls_before_down: int,
    error_rates: list[float],
) -> str:
    """Make ``fake`` misbehave as hypothesis draws it, during one round: a region
    that goes down after some calls, refusals of writes, server errors, and a
    tenant creating and deleting between calls. Returns the draw, for the report."""
    goes_down = draw(st.one_of(st.none(), st.tuples(st.integers(0, calls_before_down), st.sampled_from(regions))))
    refuse_rate = draw(st.sampled_from([0.0, 0.0, 0.2, 0.5]))
    error_rate = draw(st.sampled_from(error_rates))
    rng = draw(st.randoms(use_true_random=False))
    tenant = RandomTenant(rng, project_id, rate=draw(st.sampled_from([0.0, 0.3, 0.9])))

    def before_call(fake: FakeRegions) -> None:
        if goes_down is not None and len(fake.calls) == goes_down[0]:
            fake.down.add(goes_down[1])
        tenant(fake)

    def fault(call: Call) -> RegionError | None:
        if call.kind == "write" and rng.random() < refuse_rate:
            return RegionError(call.region, call.service, "403 Forbidden", refused=True)
        if rng.random() < error_rate:
            return RegionError(call.region, call.service, "503 Service Unavailable")
        return None

    fake.before_call = before_call
    fake.fault = fault
    return "goes down: %s, refusals: %s, errors: %s" % (goes_down, refuse_rate, error_rate)
