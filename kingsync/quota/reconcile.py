"""One project, end to end: read every region, plan, apply, record.

    snapshot   one read per service per region (nova, neutron, cinder), in
               parallel, at most [quota] per_region_concurrency calls to a
               region at once from this engine
    copies     for a project with copies of security groups on record (and a
               finite limit on them), one listing of its groups per region
               its copies are in, so that each copy class counts once
               (kingsync.quota.copies); no other project pays for it
    views      the snapshot joined with what the database knows: the last
               confirmed limits of regions that could not be read, pins,
               exclusions, demand; a limit that differs from the one kingsync
               last confirmed is drift, recorded and corrected
    plan       kingsync.quota.planner, from that one snapshot; security
               groups and rules with G + dup (copies.planning_limits)
    apply      kingsync.quota.apply: decreases, read back, increases within
               the slack actually freed
    record     confirmed limits, usage and demand, region health, an audit
               entry for every regional limit that changed, and when to look
               again: soon for a project close to a limit, later for one far
               from all of them

Nothing here holds a lock across regions: the claim on the project row (see
kingsync.quota.scheduler) is what keeps two engines off one project, and it
is re-checked before the first write and again at least every third of a
lease while writing, so an engine that lost its claim writes nothing more.
"""

from __future__ import annotations

import collections
import dataclasses
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures

from oslo_log import log as logging

from kingsync.db import clock
from kingsync.db import copies as copy_records
from kingsync.db.quota import audit
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import regional as regional_state
from kingsync.db.quota import settings as project_settings
from kingsync.db.session import transaction
from kingsync.quota import apply, copies, planner, resources
from kingsync.quota.clients import BoundedRegions, LeaseGuard
from kingsync.quota.model import EVEN, Group, Policy, RegionError, RegionView, ResourcePlan, ServiceQuota
from kingsync.quota.usage import nearness

LOG = logging.getLogger(__name__)

KINGSYNC = "kingsync"  # the actor of every change the engine makes
REBALANCE = "rebalance"
DRIFT = "drift"

OK = "ok"
PARTIAL = "partial"
FAILED = "failed"
OVERSPENT = "overspent"

# Seconds between writes of a region's unchanged state (its checked_at moves on).
STATUS_REFRESH = 30.0

Snapshot = dict[tuple[str, str], "ServiceQuota | RegionError"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """[quota] options the reconciler reads, so tests can pass their own."""

    headroom_policy: str = EVEN
    proportional_floor: float = 0.1
    hysteresis: float = 0.02
    demand_smoothing: float = 0.3
    near_interval: float = 60.0
    far_interval: float = 900.0
    near_threshold: float = 0.2
    poll_jitter: float = 0.1

    @classmethod
    def from_conf(cls, group: object) -> Settings:
        return cls(**{field.name: getattr(group, field.name) for field in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class State:
    """What the database knows about one project before the regions are read."""

    limits: dict[str, int]
    settings: dict[str, project_settings.RegionSetting]
    policy: Policy
    regional: dict[tuple[str, str], regional_state.Regional]
    copies: tuple[copies.Link, ...] = ()  # the project's security groups kingsync copied


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None
    next_in: float  # seconds until the project should be looked at again
    changes: int


class Reconciler:
    def __init__(
        self,
        client: apply.QuotaClient,
        region_names: Callable[[], list[str]],
        settings: Settings,
        per_region: int = 8,
        db_url: str | None = None,
        read_pool: futures.ThreadPoolExecutor | None = None,
        lease_check: float = 5.0,
    ) -> None:
        self.client = BoundedRegions(client, per_region)
        self.lease_check = lease_check  # seconds between re-checks of the claim while writing
        self.region_names = region_names
        self.settings = settings
        self.db_url = db_url
        self._status: dict[tuple[str, str], tuple[tuple[bool, str | None], float]] = {}
        self._status_lock = threading.Lock()
        self._pool = read_pool or futures.ThreadPoolExecutor(
            max_workers=per_region * 4, thread_name_prefix="quota-read"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- reading ------------------------------------------------------------------------------

    def load(self, project_id: str, proposed: Mapping[str, int] | None = None) -> State:
        with transaction(self.db_url) as session:
            limits = global_limits.effective_limits(session, project_id)
            settings = project_settings.get_region_settings(session, project_id)
            name, floor = project_settings.get_project_policy(session, project_id)
            regional = regional_state.get_regional(session, project_id)
            records = copy_records.in_scope(session, copies.RECORD_KIND, project_id)
        if proposed:
            limits = {**limits, **proposed}
        policy = Policy(
            name=name or self.settings.headroom_policy,
            floor=self.settings.proportional_floor if floor is None else floor,
            hysteresis=self.settings.hysteresis,
        )
        return State(limits, settings, policy, regional, tuple(copies.links(records)))

    def snapshot(self, project_id: str, regions: Sequence[str]) -> Snapshot:
        """Every (region, service) read once, in parallel; a failure is kept as its RegionError."""
        pending = {
            (region, service): self._pool.submit(self.client.read, region, service, project_id)
            for region in regions
            for service in resources.SERVICES
        }
        found: Snapshot = {}
        for key, future in pending.items():
            try:
                found[key] = future.result()
            except RegionError as error:
                found[key] = error
            except Exception as error:  # a bug or an unexpected library error: treat as unreachable
                LOG.exception("Reading %s %s quotas of %s failed", key[0], key[1], project_id)
                found[key] = RegionError(key[0], key[1], str(error))
        return found

    def count_copies(self, project_id: str, state: State, snap: Snapshot) -> dict[str, int]:
        """dup per resource: what the regions count more than once (kingsync.quota.copies).

        Lists the project's groups only where copies.regions_to_read says so,
        and only in regions whose neutron answered the snapshot: one that did
        not would most likely not answer now, and its members count as
        absent anyway, as do those of a region whose listing fails.
        """
        wanted = [
            region
            for region in copies.regions_to_read(state.limits, state.copies)
            if isinstance(snap.get((region, resources.NEUTRON)), ServiceQuota)
        ]
        if not wanted:
            return {}
        pending = {region: self._pool.submit(self.client.groups, region, project_id) for region in wanted}
        listed: dict[str, Sequence[Group]] = {}
        for region, future in pending.items():
            try:
                listed[region] = future.result()
            except RegionError as error:
                LOG.info("Project %s: the security groups in %s could not be listed: %s", project_id, region, error)
            except Exception:  # as for the snapshot: the region's members count as absent
                LOG.exception("Listing the security groups of %s in %s failed", project_id, region)
        return copies.duplicates(state.copies, listed, project_id)

    # -- the whole round ---------------------------------------------------------------------

    def reconcile(self, project_id: str, renew: Callable[[], bool] | None = None) -> Outcome:
        """Reconcile one project. ``renew`` re-asserts this engine's claim before any write."""
        state = self.load(project_id)
        regions = self.region_names()
        snap = self.snapshot(project_id, regions)
        views, drift = build_views(project_id, state, regions, snap)
        dup = self.count_copies(project_id, state, snap)
        plans = planner.plan_project(copies.planning_limits(state.limits, dup), views, state.policy)
        client: apply.QuotaClient = self.client
        if renew is not None:
            client = LeaseGuard(self.client, project_id, renew, self.lease_check)
        result = apply.apply_plans(project_id, plans, views, client)
        self.record(project_id, state, regions, snap, views, drift, result)
        return self._outcome(state, plans, views, snap, result, dup)

    def record(
        self,
        project_id: str,
        state: State,
        regions: Sequence[str],
        snap: Snapshot,
        views: Mapping[str, Sequence[RegionView]],
        drift: Sequence[audit.AuditEntry],
        result: apply.ApplyResult,
    ) -> None:
        now = clock.utcnow()
        alpha = self.settings.demand_smoothing
        updates: list[regional_state.RegionalUpdate] = []
        for resource, region_views in views.items():
            for view in region_views:
                if not view.reachable:
                    continue  # its last confirmed limit and usage stay as they were
                key = (view.region, resource)
                usage = result.usage.get(key, view.usage)
                # Absent from confirmed: a write whose answer was lost, so the region
                # holds the old limit or the new one. Storing the old one would let a
                # later round, with the region unreachable, budget too little for it
                # after a lost increase; unknown (None) freezes the others instead.
                limit = result.confirmed.get(key)
                previous = state.regional.get(key)
                grown = 0 if previous is None or previous.usage is None else max(0, usage - previous.usage)
                demand = alpha * grown + (1 - alpha) * (previous.demand if previous is not None else 0.0)
                updates.append(
                    regional_state.RegionalUpdate(view.region, resource, limit=limit, usage=usage, demand=demand)
                )
        failed_services = {(f.region, f.service): f.message for f in result.failures if not f.refused}
        entries = [*drift]
        for change in result.changes:
            entries.append(
                audit.AuditEntry.regional(
                    project_id, change.region, change.resource, change.old, change.new, KINGSYNC, REBALANCE, now
                )
            )
        with transaction(self.db_url) as session:
            regional_state.save_regional(session, project_id, updates, now=now)
            for (region, service), read in snap.items():
                # A refusal is an answer: the region is reachable, the error is still shown.
                reachable = not isinstance(read, RegionError) or read.refused
                error = read.message if isinstance(read, RegionError) else None
                if (region, service) in failed_services:
                    reachable, error = False, failed_services[(region, service)]
                if self._status_changed(region, service, reachable, error):
                    regional_state.set_region_status(session, region, service, reachable, error)
            if entries:
                audit.add_audit(session, entries)
        for entry in entries:
            LOG.info(
                "Project %s: %s %s limit %s -> %s (%s)",
                project_id,
                entry.region,
                entry.resource,
                entry.old_limit,
                entry.new_limit,
                entry.reason,
            )

    def _status_changed(self, region: str, service: str, reachable: bool, error: str | None) -> bool:
        """Whether a region's state is worth writing: it changed, or was last written
        STATUS_REFRESH seconds ago. Every project reads every region, so writing it
        each time would have all engines queue on the same few rows."""
        now = time.monotonic()
        key = (region, service)
        with self._status_lock:
            last = self._status.get(key)
            if last is not None and last[0] == (reachable, error) and now - last[1] < STATUS_REFRESH:
                return False
            self._status[key] = ((reachable, error), now)
            return True

    def _outcome(
        self,
        state: State,
        plans: Mapping[str, ResourcePlan],
        views: Mapping[str, Sequence[RegionView]],
        snap: Snapshot,
        result: apply.ApplyResult,
        dup: Mapping[str, int],
    ) -> Outcome:
        errors = [str(read) for read in snap.values() if isinstance(read, RegionError)]
        errors += ["%s %s: %s" % (f.region, f.service, f.message) for f in result.failures]
        overspent = [name for name, plan in plans.items() if plan.frozen == planner.OVERSPENT]
        if errors and len(errors) >= len(snap) and snap:
            status = FAILED
        elif errors:
            status = PARTIAL
        elif overspent:
            status = OVERSPENT
        else:
            status = OK
        closeness = nearness(state.limits, views, dup)
        if errors or overspent:
            closeness = 0.0
        return Outcome(
            status=status,
            error="; ".join(errors)[:4000] or None,
            next_in=self.next_interval(closeness),
            changes=len(result.changes),
        )

    def next_interval(self, closeness: float) -> float:
        """Seconds until the next look: near_interval at or below near_threshold of
        headroom, far_interval with all the headroom, linear in between; jittered."""
        s = self.settings
        if closeness <= s.near_threshold:
            base = s.near_interval
        else:
            share = (closeness - s.near_threshold) / max(1e-9, 1.0 - s.near_threshold)
            base = s.near_interval + share * (s.far_interval - s.near_interval)
        return base * (1.0 + random.uniform(-s.poll_jitter, s.poll_jitter))


def build_views(
    project_id: str, state: State, regions: Sequence[str], snap: Snapshot
) -> tuple[dict[str, list[RegionView]], list[audit.AuditEntry]]:
    """The planner's input per managed resource, and the drift found on the way.

    A region that answered gives its limit and usage now; one that did not
    keeps the limit kingsync last confirmed there (None if it never did,
    which freezes the others: its budget is unknown). A region whose answer
    lacks a resource (neutron without an L3 plugin has no router quota) does
    not take part for that resource.
    """
    now = clock.utcnow()
    views: dict[str, list[RegionView]] = collections.defaultdict(list)
    drift: list[audit.AuditEntry] = []
    for resource, limit in state.limits.items():
        kind = resources.managed_kind(resource)
        service = resources.service_of(resource)
        if kind == resources.IGNORED or service is None:
            continue
        for region in regions:
            read = snap.get((region, service))
            setting = state.settings.get(region)
            pin = setting.pins.get(resource) if setting is not None else None
            excluded = setting.excluded if setting is not None else False
            stored = state.regional.get((region, resource))
            demand = stored.demand if stored is not None else 0.0
            if isinstance(read, ServiceQuota):
                if resource not in read.limits:
                    continue
                found = read.limits[resource]
                if stored is not None and stored.limit is not None and stored.limit != found:
                    drift.append(
                        audit.AuditEntry.regional(
                            project_id, region, resource, stored.limit, found, KINGSYNC, DRIFT, now
                        )
                    )
                usage = read.usage.get(resource, 0)
                views[resource].append(RegionView(region, usage, found, True, pin, excluded, demand))
            else:
                # Unreachable: the last confirmed limit stays in the budget.
                usage = (stored.usage or 0) if stored is not None else 0
                confirmed = stored.limit if stored is not None else None
                views[resource].append(RegionView(region, usage, confirmed, False, pin, excluded, demand))
        if limit is not None and resource not in views:
            views[resource] = []
    return dict(views), drift
