"""The quota client as one engine's rounds use it (kingsync.quota.apply.QuotaClient).

BoundedRegions   shared by every round of an engine: at most per_region calls
                 to one region at once, whatever the number of projects in flight
LeaseGuard       one round's writes: the engine's claim on the project is
                 re-asserted before a write, so an engine that lost it writes
                 nothing more
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence

from kingsync.quota import apply
from kingsync.quota.model import Group, ServiceQuota


class LeaseLost(Exception):
    """Another engine took the project over while this one was reading."""


class BoundedRegions:
    """A QuotaClient that lets at most ``per_region`` calls reach one region at once.

    Shared by every project an engine reconciles, so the bound is per engine
    and region, whatever the number of projects in flight.
    """

    def __init__(self, client: apply.QuotaClient, per_region: int) -> None:
        self._client = client
        self._per_region = per_region
        self._lock = threading.Lock()
        self._gates: dict[str, threading.BoundedSemaphore] = {}

    def _gate(self, region: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(region)
            if gate is None:
                gate = self._gates[region] = threading.BoundedSemaphore(self._per_region)
            return gate

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        with self._gate(region):
            return self._client.read(region, service, project_id)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        with self._gate(region):
            return self._client.write(region, service, project_id, limits)

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        with self._gate(region):
            return self._client.groups(region, project_id)


class LeaseGuard:
    """Re-asserts the engine's claim on the project before a write, when the
    last check is more than ``every`` seconds old (always before the first).

    A round against slow regions can outlast a lease; the engine that took
    the project over must then be the only one writing. Stopping between two
    writes is safe: decreases come first, and an increase not made only
    leaves headroom unused until the next round.
    """

    def __init__(self, client: apply.QuotaClient, project_id: str, renew: Callable[[], bool], every: float) -> None:
        self._client = client
        self._project_id = project_id
        self._renew = renew
        self._every = every
        self._checked: float | None = None

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        return self._client.read(region, service, project_id)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        now = time.monotonic()
        if self._checked is None or now - self._checked >= self._every:
            if not self._renew():
                raise LeaseLost(self._project_id)
            self._checked = now
        return self._client.write(region, service, project_id, limits)

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        return self._client.groups(region, project_id)
