"""Global quotas under chaos, on the simulator: tenants creating and deleting
in every region, regions going down, failing and slowing, engines stopped and
started, global limits raised and lowered, all at once, for many rounds.

What is checked, continuously, by a thread sampling every region's limits
and usage (see ``Grants``), for every project and split resource:

    the grant      T = sum over regions of max(regional limit, usage) - dup,
                   what the regions together let the tenant hold; total
                   usage U (the sum over regions - dup) is never above T,
                   since a region refuses a create past its limit. dup is 0
                   but for security groups and their rules: kingsync's copies
                   of a group count once (kingsync.quota.copies), from the
                   copies that exist at the sampled instant and the id
                   record read right after
    the invariant  T <= max(G, T at the previous sample), where G is any
                   global limit an engine round still running may have read
                   (see ``Ledger``): once the grant is within G it never
                   exceeds G, and while it is above (G lowered below usage,
                   or the regions' defaults before the first round) it
                   never grows. So once kingsync has brought the regions
                   within G, usage never exceeds G until G is lowered; after
                   G is lowered below usage, usage never grows past what
                   the regions granted at that moment.

Usage is real where the simulator enforces quotas on create (nova server
groups, neutron networks, ports, security groups and rules, cinder volumes
and their gigabytes); servers (instances, cores) are stand-in usage, grown
only within the region's limit read at that moment, as nova would.

Security groups: the tenants make groups (with a rule of their own, a port
or one referring to the group itself), copy them to other regions as
kingsync's sync does (the admin makes the group for the project, then the
source's rules, remote_group_id mapped) and record each copy in the id
record, chains included; they delete groups that are no copy and have none.
Copies are never deleted by hand: that is the documented limit of counting
copies once (doc/quotas.md), which lets the grant exceed G until the next
round. Every project's default group exists in every region before its
global limits are set: neutron makes a default group without checking the
group quota, which no global limit can prevent.

Besides the simulator's faults (a failed request never reaches the service),
kingsync's quota client loses the answer of some writes that the service
did store: the WAN failure that leaves the outcome unknown.

After the chaos stops, the regional limits must converge within a bounded
time: every region reachable, the regions' limits adding up to G exactly
(the even policy leaves nothing unallocated) when usage is within G, or held
at usage when it is not, and one more reconciliation writes nothing.

The random choices come from one seed, printed at the start; set
KINGSYNC_CHAOS_SEED to replay one (thread timing still varies) or to
"random" for a fresh one.

The last test pins, as one deterministic scenario, a defect the chaos found:
an increase whose answer was lost, then its region unreachable.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import math
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import oslo_messaging as messaging
import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions
from openstack import connection as sdk_connection
from openstack import exceptions as sdk_exceptions

from kingsync import regions
from kingsync.conf import CONF
from kingsync.db import copies as copy_records
from kingsync.db.quota import audit
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import regional as regional_state
from kingsync.db.session import transaction
from kingsync.engine.service import EngineService
from kingsync.quota import apply, copies, reconcile, regional
from kingsync.quota.model import Group, RegionError, ServiceQuota
from kingsync.sim.cloud import Region, SimCloud
from kingsync.sim.compute import quotas as nova_quotas
from kingsync.sim.network.groups import Groups
from kingsync.sync import sg_rules
from tests.functional.engine.conftest import Env

ROUNDS = 200
CHAOS_SECONDS = 25.0  # at most, on a slow or busy machine: fewer rounds then
PROJECTS = 4  # from the start, plus one that becomes managed during the chaos
REGIONS = ("RegionOne", "RegionThree", "RegionTwo")
# Split resources tracked, with the global limit each project starts from.
START = {
    "server_groups": 6,
    "network": 4,
    "port": 8,
    "volumes": 5,
    "gigabytes": 16,
    "instances": 5,
    "cores": 12,
    "security_group": 9,  # 3 default groups, one in each region, from the start
    "security_group_rule": 40,  # 4 in each default group, 3 in a group of the tenant's
}
NOVA = ("server_groups", "instances", "cores")
NEUTRON = ("network", "port", "security_group", "security_group_rule")
GROUPS = copies.COUNTED_ONCE
CINDER = ("volumes", "gigabytes")
LOST_ANSWERS = 0.15  # share of kingsync's quota writes whose answer is lost
CONVERGE_WITHIN = 30.0  # seconds after the chaos stops

ADMIN = audit.Actor("chaos-admin", "admin", "req-chaos")
_UNREACHED = (ks_exceptions.ClientException, sdk_exceptions.SDKException, requests.RequestException)


def chaos_seed() -> int:
    wanted = os.environ.get("KINGSYNC_CHAOS_SEED", "20261203")
    return random.SystemRandom().randrange(2**32) if wanted == "random" else int(wanted)


# -- the global limits an engine may be using -------------------------------------------------------


class Ledger:
    """Every global limit an engine round may have read, per project.

    A round reads the limits once, when it starts, then writes for a while;
    a round that read the old G may still be raising limits to it after an
    admin lowered G. So the ceiling of a (project, resource) is the largest
    G from the oldest version a running round may have read to the newest,
    including a change being committed right now.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, list[dict[str, int]]] = {}
        self._committed: dict[str, int] = {}
        self._rounds: dict[int, tuple[str, int]] = {}
        self._tokens = itertools.count()
        self._clean: dict[str, int] = {}  # project -> the last round that ended with no error
        self.overlaps = 0  # rounds started while another round of the same project ran

    @contextlib.contextmanager
    def changing(self, project_id: str, limits: Mapping[str, int]) -> Iterator[None]:
        with self._lock:
            versions = self._versions.setdefault(project_id, [])
            versions.append({**(versions[-1] if versions else {}), **limits})
        yield
        # Only now may a round starting read the new limits.
        with self._lock:
            self._committed[project_id] = len(versions) - 1

    def managed(self) -> list[str]:
        with self._lock:
            return list(self._committed)

    def current(self, project_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._versions[project_id][self._committed[project_id]])

    def round_started(self, project_id: str) -> int:
        with self._lock:
            token = next(self._tokens)
            self.overlaps += any(p == project_id for p, _ in self._rounds.values())
            self._rounds[token] = (project_id, self._committed.get(project_id, 0))
            return token

    def round_ended(self, token: int, outcome: reconcile.Outcome | None) -> None:
        with self._lock:
            project_id, _ = self._rounds.pop(token)
            if outcome is not None and outcome.status in (reconcile.OK, reconcile.OVERSPENT):
                self._clean[project_id] = max(token, self._clean.get(project_id, token))

    def next_token(self) -> int:
        """Rounds from now on start with this token or a later one."""
        with self._lock:
            token = next(self._tokens)
            return token

    def settled_since(self, token: int) -> bool:
        """No round started before ``token`` is still running, and every
        project has had a clean round started after it."""
        with self._lock:
            if any(started < token for started in self._rounds):
                return False
            return all(self._clean.get(project_id, -1) > token for project_id in self._committed)

    def rounds_running(self) -> int:
        with self._lock:
            return len(self._rounds)

    def ceilings(self) -> dict[tuple[str, str], int]:
        with self._lock:
            found = {}
            for project_id, committed in self._committed.items():
                oldest = min([v for p, v in self._rounds.values() if p == project_id], default=committed)
                versions = self._versions[project_id][oldest:]
                for resource in START:
                    found[(project_id, resource)] = max(version[resource] for version in versions)
            return found


class TrackedReconciler(reconcile.Reconciler):
    """The engine's reconciler, telling the ledger when each round starts and ends."""

    def __init__(self, ledger: Ledger, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = ledger

    def reconcile(self, project_id: str, renew: Any = None) -> reconcile.Outcome:
        token = self.ledger.round_started(project_id)
        outcome = None
        try:
            outcome = super().reconcile(project_id, renew)
            return outcome
        finally:
            self.ledger.round_ended(token, outcome)


class LostAnswers:
    """kingsync's quota client, except that some writes lose their answer
    after the service stored them (a WAN timeout after the commit), which
    the simulator's own faults never do: they fail before the service acts."""

    def __init__(self, client: apply.QuotaClient, rate: float, seed: int) -> None:
        self._client = client
        self._rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.enabled = threading.Event()
        self.lost = 0

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        return self._client.read(region, service, project_id)

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        return self._client.groups(region, project_id)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        answer = self._client.write(region, service, project_id, limits)
        with self._lock:
            lose = self.enabled.is_set() and self._rng.random() < self._rate
            self.lost += lose
        if lose:
            raise RegionError(region, service, "answer lost after the write (injected)")
        return answer


# -- the simulator's state, read and changed atomically on its event loop --------------------------


def _limit_and_usage(cloud: SimCloud, region: Region, project_id: str) -> dict[str, tuple[int, int]]:
    nova = nova_quotas.Limits(cloud, region)
    nova_limits, nova_usage = nova.project_limits(project_id), nova.usage(project_id)
    network = region.network
    cinder_limits, cinder_usage = region.volume.limits(project_id), region.volume.in_use(region, project_id)
    found = {r: (nova_limits[r], nova_usage[r]) for r in NOVA}
    found.update({r: (network.limits(project_id)[r], network.used(region, project_id, r)) for r in NEUTRON})
    found.update({r: (cinder_limits[r], cinder_usage[r]) for r in CINDER})
    return found


State = dict[str, dict[str, dict[str, tuple[int, int]]]]  # project -> region -> resource -> (limit, usage)
Listed = dict[str, dict[str, list[dict[str, Any]]]]  # project -> region -> groups as neutron lists them


def sim_state(cloud: SimCloud, projects: Sequence[str]) -> tuple[State, Listed]:
    """project -> region -> resource -> (limit, usage), and every project's
    security groups with their rules, all at one instant.

    Read on the simulator's event loop without awaiting, so no request is
    served in between: a read over HTTP, region after region, could see one
    region before a rebalance and another after it. Regions that are down
    are read too: what they hold still counts.
    """

    async def read() -> tuple[State, Listed]:
        state = {
            project_id: {name: _limit_and_usage(cloud, region, project_id) for name, region in cloud.regions.items()}
            for project_id in projects
        }
        listed = {
            project_id: {
                name: [
                    Groups(region.network, region).group_view(group, listed=True)
                    for group in region.network.of_project("security_groups", project_id)
                ]
                for name, region in cloud.regions.items()
            }
            for project_id in projects
        }
        return state, listed

    found: tuple[State, Listed] = cloud.call(read())
    return found


def recorded_copies(db_url: str, projects: Sequence[str]) -> dict[str, list[copies.Link]]:
    """The id record of every project's security groups, as the engines read it."""
    with transaction(db_url) as session:
        return {p: copies.links(copy_records.in_scope(session, copies.RECORD_KIND, p)) for p in projects}


def counted_twice(state: Listed, records: Mapping[str, list[copies.Link]], project_id: str) -> dict[str, int]:
    """dup of the project's security groups and rules: every copy that exists counts."""
    return copies.duplicates(records.get(project_id, []), state[project_id], project_id)


def grant(per_region: Mapping[str, Mapping[str, tuple[int, int]]], resource: str) -> tuple[float, int]:
    """(T, U): sum over regions of max(limit, usage) (infinite if one is unlimited), and total usage."""
    total, used = 0.0, 0
    for values in per_region.values():
        limit, usage = values[resource]
        total += math.inf if limit < 0 else max(limit, usage)
        used += usage
    return total, used


class Grants:
    """The invariant checker: samples every region continuously in a thread of its own."""

    def __init__(self, cloud: SimCloud, ledger: Ledger, seed: int, db_url: str) -> None:
        self.cloud = cloud
        self.db_url = db_url
        self.ledger = ledger
        self.seed = seed
        self.samples = 0
        self.violations: list[str] = []
        self._previous: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-sampler", daemon=True)

    def __enter__(self) -> Grants:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # a checker that stopped checking must fail the test
                self.violations.append("seed %d: the sampler failed: %r" % (self.seed, exc))
                return
            time.sleep(0.005)

    def check(self) -> None:
        # The ceilings before and after the read: a round that ended during
        # the read, or a change committed during it, are both allowed for.
        before = self.ledger.ceilings()
        projects = sorted({project_id for project_id, _ in before})
        state, listed = sim_state(self.cloud, projects)
        # After the regions: a record is written once its copy exists, so every
        # record an engine counted on is seen, and a newer one's copy is absent.
        records = recorded_copies(self.db_url, projects)
        after = self.ledger.ceilings()
        self.samples += 1
        dups = {project_id: counted_twice(listed, records, project_id) for project_id in projects}
        for (project_id, resource), ceiling in before.items():
            ceiling = max(ceiling, after.get((project_id, resource), ceiling))
            total, used = grant(state[project_id], resource)
            dup = dups[project_id].get(resource, 0)
            total, used = total - dup, used - dup
            previous = self._previous.get((project_id, resource), math.inf)
            if total > max(ceiling, previous):
                self.violations.append(
                    "seed %d: project %s %s: regions grant %s (usage %d, dup %d) > max(G %d, %s before): %s"
                    % (
                        self.seed,
                        project_id,
                        resource,
                        total,
                        used,
                        dup,
                        ceiling,
                        previous,
                        _by_region(state, project_id, resource),
                    )
                )
            self._previous[(project_id, resource)] = total


def _by_region(state: Mapping[str, Mapping[str, Mapping[str, tuple[int, int]]]], project_id: str, resource: str) -> str:
    return ", ".join("%s %d/%d" % (r, *state[project_id][r][resource]) for r in sorted(state[project_id]))


# -- the tenants ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    created: int = 0
    refused: int = 0  # by the region's quota: normal
    failed: int = 0  # the region down or failing
    deleted: int = 0


class Tenants:
    """The projects' users, creating and deleting real objects in random regions."""

    def __init__(self, env: Env, rng: random.Random) -> None:
        self.env = env
        self.rng = rng
        self.tally = Tally()
        self.names: dict[str, str] = {}
        self._members: dict[tuple[str, str], sdk_connection.Connection] = {}
        self._servers: dict[tuple[str, str], list[int]] = collections.defaultdict(list)  # cores of each
        self._physnets = itertools.count()
        self._ports = itertools.count(1000)
        # (region, group id) -> the regions its copy class is in (one set, shared by the class)
        self._class_of: dict[tuple[str, str], set[str]] = {}
        self.copies_made = 0
        # Keystone v3 (the simulator speaks nothing else); the SDK types the proxy as v2 or v3.
        self._identity: Any = env.admin("RegionOne").identity
        self._member_role = self._identity.find_role("member", ignore_missing=False)

    def add(self, count: int, prefix: str) -> list[str]:
        created = self.env.control.create_projects(count, prefix=prefix)
        for index, project_id in enumerate(created):
            self.names[project_id] = "%s-%05d" % (prefix, index)
            self._identity.assign_project_role_to_user(project_id, self.env.demo_user_id, self._member_role)
            for region in REGIONS:  # discover the services while every region answers
                self.member(project_id, region).compute.get("/os-server-groups", microversion="2.1")
                self.member(project_id, region).block_storage.get("/volumes")
                self.env.admin(region).network.get("/networks")
                # The tenant looks: neutron makes the default group now, not later past the limit.
                self.member(project_id, region).network.get("/security-groups")
        return created

    def member(self, project_id: str, region: str) -> sdk_connection.Connection:
        key = (project_id, region)
        if key not in self._members:
            self._members[key] = self.env.member(region).connect_as_project(self.names[project_id])
        return self._members[key]

    def close(self) -> None:
        for conn in self._members.values():
            conn.close()

    def act(self, project_id: str) -> None:
        region = self.rng.choice(REGIONS)
        kind = self.rng.choice(("server_group", "network", "port", "volume", "server", *["security_group"] * 3))
        create = self.rng.random() < 0.6
        try:
            if kind == "security_group" and create and self.rng.random() < 0.6:
                self._copy_security_group(project_id, region)
            elif create:
                getattr(self, "_create_" + kind)(project_id, region)
            else:
                getattr(self, "_delete_" + kind)(project_id, region)
        except _UNREACHED:
            self.tally.failed += 1

    def _count(self, status: int, ok: int, refused: int) -> None:
        if status == ok:
            self.tally.created += 1
        elif status == refused:
            self.tally.refused += 1
        elif status >= 500:
            self.tally.failed += 1
        else:
            raise AssertionError("unexpected answer %d to a create" % status)

    def _deleted(self, status: int) -> None:
        if status >= 500:
            self.tally.failed += 1
        else:
            assert status in (202, 204), "unexpected answer %d to a delete" % status
            self.tally.deleted += 1

    def _objects(self, project_id: str, region: str, kind: str) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            state = self.env.cloud.regions[region]
            if kind == "server_groups":
                return list(state.compute.server_groups.get(project_id, {}).values())
            if kind == "volumes":
                return list(state.volume.volumes.get(project_id, {}).values())
            networks = state.network
            if kind == "security_groups":  # as neutron lists them, rules embedded
                views = Groups(networks, state)
                return [views.group_view(g, listed=True) for g in networks.of_project(kind, project_id)]
            if kind == "free_networks":  # networks without ports: deletable
                return [
                    n for n in networks.of_project("networks", project_id) if not networks.network_ports.get(n["id"])
                ]
            return list(networks.of_project(kind, project_id))

        found: list[dict[str, Any]] = self.env.cloud.call(read())
        return found

    def _create_server_group(self, project_id: str, region: str) -> None:
        body = {"server_group": {"name": "chaos", "policies": ["affinity"]}}
        resp = self.member(project_id, region).compute.post(
            "/os-server-groups", json=body, microversion="2.1", raise_exc=False
        )
        self._count(resp.status_code, 200, 403)

    def _delete_server_group(self, project_id: str, region: str) -> None:
        groups = self._objects(project_id, region, "server_groups")
        if groups:
            path = "/os-server-groups/" + self.rng.choice(groups)["id"]
            self._deleted(self.member(project_id, region).compute.delete(path, raise_exc=False).status_code)

    def _create_network(self, project_id: str, region: str) -> None:
        # Flat provider networks, as on the devcloud: the admin makes them for the project.
        body = {
            "network": {
                "name": "chaos",
                "project_id": project_id,
                "provider:network_type": "flat",
                "provider:physical_network": "chaos-%d" % next(self._physnets),
            }
        }
        resp = self.env.admin(region).network.post("/networks", json=body, raise_exc=False)
        self._count(resp.status_code, 201, 409)

    def _delete_network(self, project_id: str, region: str) -> None:
        free = self._objects(project_id, region, "free_networks")
        if free:
            path = "/networks/" + self.rng.choice(free)["id"]
            self._deleted(self.env.admin(region).network.delete(path, raise_exc=False).status_code)

    def _create_port(self, project_id: str, region: str) -> None:
        networks = self._objects(project_id, region, "networks")
        if not networks:
            self._create_network(project_id, region)
            return
        body = {"port": {"network_id": self.rng.choice(networks)["id"], "project_id": project_id}}
        resp = self.env.admin(region).network.post("/ports", json=body, raise_exc=False)
        self._count(resp.status_code, 201, 409)

    def _delete_port(self, project_id: str, region: str) -> None:
        ports = self._objects(project_id, region, "ports")
        if ports:
            path = "/ports/" + self.rng.choice(ports)["id"]
            self._deleted(self.env.admin(region).network.delete(path, raise_exc=False).status_code)

    def _create_security_group(self, project_id: str, region: str) -> None:
        """A group of the tenant's, and a rule of its own: a port, or from the group itself."""
        member = self.member(project_id, region).network
        resp = member.post("/security-groups", json={"security_group": {"name": "chaos"}}, raise_exc=False)
        self._count(resp.status_code, 201, 409)
        if resp.status_code != 201:
            return
        group_id = resp.json()["security_group"]["id"]
        rule: dict[str, Any] = {"security_group_id": group_id, "direction": "ingress", "protocol": "tcp"}
        if self.rng.random() < 0.5:
            rule["remote_group_id"] = group_id
        else:
            rule["port_range_min"] = rule["port_range_max"] = next(self._ports)
        resp = member.post("/security-group-rules", json={"security_group_rule": rule}, raise_exc=False)
        self._count(resp.status_code, 201, 409)

    def _copy_security_group(self, project_id: str, region: str) -> None:
        """As kingsync's sync copies a group to ``region``, from a region where it or a copy
        of it is (chains happen), and records the copy once the group is made there."""
        candidates = [
            (other, group)
            for other in REGIONS
            if other != region
            for group in self._objects(project_id, other, "security_groups")
            if group["name"] != "default" and region not in self._class_of.get((other, group["id"]), {other})
        ]
        if not candidates:
            return
        source_region, source = self.rng.choice(candidates)
        admin = self.env.admin(region).network
        body = {"security_group": {"name": source["name"], "project_id": project_id}}
        resp = admin.post("/security-groups", json=body, raise_exc=False)
        self._count(resp.status_code, 201, 409)
        if resp.status_code != 201:
            return
        made = resp.json()["security_group"]
        mapping = {source["id"]: made["id"]}
        have = {sg_rules.key(rule, remote=mapping.get) for rule in made["security_group_rules"]}
        complete = True
        for rule in source["security_group_rules"]:
            if sg_rules.key(rule, remote=mapping.get) in have:
                continue
            remote = mapping[rule["remote_group_id"]] if rule["remote_group_id"] else None
            body = {"security_group_rule": sg_rules.copy_body(rule, made["id"], remote, project_id)}
            try:
                status = admin.post("/security-group-rules", json=body, raise_exc=False).status_code
            except _UNREACHED:
                status = 503
            complete = complete and status == 201
            self._count(status, 201, 409)
        klass = self._class_of.setdefault((source_region, source["id"]), {source_region})
        klass.add(region)
        self._class_of[(region, made["id"])] = klass
        key = copy_records.Key(copies.RECORD_KIND, project_id, source_region, source["id"], region)
        with transaction(self.env.db_url) as session:
            copy_records.keep(session, key, made["id"], complete, None)
        self.copies_made += 1

    def _delete_security_group(self, project_id: str, region: str) -> None:
        """A group that is no copy and has none (deleting a copy is the documented limit)."""
        alone = [
            group
            for group in self._objects(project_id, region, "security_groups")
            if group["name"] != "default" and (region, group["id"]) not in self._class_of
        ]
        if alone:
            path = "/security-groups/" + self.rng.choice(alone)["id"]
            self._deleted(self.member(project_id, region).network.delete(path, raise_exc=False).status_code)

    def _create_volume(self, project_id: str, region: str) -> None:
        body = {"volume": {"size": self.rng.randint(1, 4), "name": "chaos"}}
        resp = self.member(project_id, region).block_storage.post("/volumes", json=body, raise_exc=False)
        self._count(resp.status_code, 202, 413)

    def _delete_volume(self, project_id: str, region: str) -> None:
        volumes = self._objects(project_id, region, "volumes")
        if volumes:
            path = "/volumes/" + self.rng.choice(volumes)["id"]
            self._deleted(self.member(project_id, region).block_storage.delete(path, raise_exc=False).status_code)

    def _create_server(self, project_id: str, region: str) -> None:
        """Stand-in usage: one instance and some cores, only if the region's limits allow both now."""
        cores = self.rng.choice((1, 2, 4))
        cloud = self.env.cloud

        async def boot() -> bool | None:
            where = cloud.regions[region]
            if where.faults.down:
                return None
            limits = nova_quotas.Limits(cloud, where).project_limits(project_id)
            used = nova_quotas.Limits(cloud, where).usage(project_id)
            asked = {"instances": 1, "cores": cores}
            if any(0 <= limits[r] < used[r] + n for r, n in asked.items()):
                return False
            counts = where.extra_usage.setdefault("compute", {}).setdefault(project_id, {})
            for resource, n in asked.items():
                counts[resource] = counts.get(resource, 0) + n
            return True

        booted = cloud.call(boot())
        if booted is None:
            self.tally.failed += 1
        elif booted:
            self.tally.created += 1
            self._servers[(project_id, region)].append(cores)
        else:
            self.tally.refused += 1

    def _delete_server(self, project_id: str, region: str) -> None:
        servers = self._servers[(project_id, region)]
        if not servers:
            return
        cores = servers.pop(self.rng.randrange(len(servers)))
        cloud = self.env.cloud

        async def delete() -> None:
            counts = cloud.regions[region].extra_usage["compute"][project_id]
            counts["instances"] -= 1
            counts["cores"] -= cores

        cloud.call(delete())
        self.tally.deleted += 1


# -- engines, faults and global limits ---------------------------------------------------------------


class Engines:
    """Running engines, stopped and started at random. A stopped engine's
    round still running finishes in the background, as it would in a process
    that is slow to die; its lease then lets another engine take over."""

    def __init__(
        self, transport: messaging.RPCTransport, ledger: Ledger, client: apply.QuotaClient, db_url: str
    ) -> None:
        self.transport = transport
        self.ledger = ledger
        self.client = client
        # Given, not read from [database] when used: a round finishing after
        # the test must not find the default database instead.
        self.db_url = db_url
        self.running: list[EngineService] = []
        self.started = 0
        self.rounds = 0

    def start(self) -> None:
        self.started += 1
        service = EngineService(
            CONF,
            engine_id="chaos-%d" % self.started,
            transport=self.transport,
            db_url=self.db_url,
            stop_timeout=0.5,
        )
        service.quota.reconciler.close()
        service.quota.reconciler = TrackedReconciler(
            self.ledger,
            self.client,
            regions.names,
            reconcile.Settings.from_conf(CONF.quota),
            per_region=CONF.quota.per_region_concurrency,
            db_url=self.db_url,
        )
        service.start()
        self.running.append(service)

    def stop(self, service: EngineService) -> None:
        self.running.remove(service)
        service.stop()
        self.rounds += service.quota.rounds

    def restart(self, rng: random.Random) -> None:
        """Stop one, start one; now and then two at once, or one more."""
        if self.running and rng.random() < 0.8:
            self.stop(rng.choice(self.running))
        self.start()
        if len(self.running) < 3 and rng.random() < 0.3:
            self.start()
        while len(self.running) > 3:
            self.stop(self.running[0])

    def stop_all(self, timeout: float = 30.0) -> None:
        """Stop every engine and wait for their rounds still running to end."""
        for service in list(self.running):
            self.stop(service)
        deadline = time.monotonic() + timeout
        while self.ledger.rounds_running() and time.monotonic() < deadline:
            time.sleep(0.05)


def disturb(env: Env, rng: random.Random, region: str) -> str:
    """One fault for one region, or back to healthy."""
    choice = rng.choice(("down", "flaky", "slow", "hanging", "healthy", "healthy"))
    if choice == "down":
        env.control.set_faults(region, down=True)
    elif choice == "flaky":
        env.control.clear_faults(region)
        env.control.set_faults(region, error_rate=rng.choice((0.2, 0.5, 0.9)))
    elif choice == "slow":
        env.control.clear_faults(region)
        env.control.set_faults(region, latency_ms=rng.choice((20, 60, 150)), jitter_ms=20)
    elif choice == "hanging":
        env.control.clear_faults(region)
        env.control.set_faults(region, timeout_rate=0.2, timeout_s=rng.choice((0.3, 1.2)))
    else:
        env.control.clear_faults(region)
    return choice


def set_limits(env: Env, project_id: str, limits: Mapping[str, int]) -> None:
    with transaction(env.db_url) as session:
        global_limits.set_project_limits(session, project_id, limits, ADMIN)


def set_global(env: Env, ledger: Ledger, project_id: str, limits: Mapping[str, int]) -> None:
    with ledger.changing(project_id, limits):
        set_limits(env, project_id, limits)


def new_limits(rng: random.Random) -> dict[str, int]:
    """Some tracked resources, each at 0 to twice its starting global limit (often below usage)."""
    chosen = rng.sample(sorted(START), rng.randint(1, 3))
    return {resource: rng.randint(0, 2 * START[resource]) for resource in chosen}


# -- convergence ----------------------------------------------------------------------------------------


def read_over_api(env: Env, project_id: str) -> dict[str, dict[str, tuple[int, int]]]:
    """region -> resource -> (limit, usage), from the services' quota-detail APIs as admin."""
    found: dict[str, dict[str, tuple[int, int]]] = {}
    for region in REGIONS:
        admin = env.admin(region)
        nova = admin.compute.get(f"/os-quota-sets/{project_id}/detail", microversion="2.56").json()["quota_set"]
        neutron = admin.network.get(f"/quotas/{project_id}/details").json()["quota"]
        cinder = admin.block_storage.get(f"/os-quota-sets/{project_id}?usage=True").json()["quota_set"]
        values = {r: (nova[r]["limit"], nova[r]["in_use"] + nova[r]["reserved"]) for r in NOVA}
        values.update({r: (neutron[r]["limit"], neutron[r]["used"] + neutron[r]["reserved"]) for r in NEUTRON})
        values.update({r: (cinder[r]["limit"], cinder[r]["in_use"] + cinder[r]["reserved"]) for r in CINDER})
        found[region] = values
    return found


def listed_over_api(env: Env, project_id: str) -> dict[str, list[dict[str, Any]]]:
    """region -> the project's security groups, as the engine lists them."""
    return {
        region: env.admin(region).network.get(f"/security-groups?project_id={project_id}").json()["security_groups"]
        for region in REGIONS
    }


def unconverged(env: Env, ledger: Ledger) -> list[str]:
    """What still differs from the converged state (empty when converged)."""
    with transaction(env.db_url) as session:
        status = regional_state.list_region_status(session)
    problems = ["%s %s unreachable" % key for key, s in status.items() if not s.reachable]
    records = recorded_copies(env.db_url, ledger.managed())
    for project_id in ledger.managed():
        limits = ledger.current(project_id)
        state = read_over_api(env, project_id)
        dup = copies.duplicates(records[project_id], listed_over_api(env, project_id), project_id)
        for resource in START:
            g = limits[resource]
            per_region = {region: state[region][resource] for region in REGIONS}
            # Copies count once: the limits add up to G + dup, usage is the distinct count.
            g += dup.get(resource, 0)
            used = sum(usage for _, usage in per_region.values())
            if any(limit < usage for limit, usage in per_region.values()):
                problems.append("%s %s: a limit below usage %s" % (project_id, resource, per_region))
            elif used <= g and sum(limit for limit, _ in per_region.values()) != g:
                problems.append("%s %s: limits do not add up to G %d: %s" % (project_id, resource, g, per_region))
            elif used > g and any(limit != usage for limit, usage in per_region.values()):
                problems.append("%s %s: over G %d, not held at usage: %s" % (project_id, resource, g, per_region))
    return problems


def recent_changes(env: Env, project_id: str, count: int) -> list[str]:
    with transaction(env.db_url) as session:
        entries = audit.list_audit(session, project_id, limit=count)
    return ["%s %s %s -> %s (%s)" % (e.region, e.resource, e.old_limit, e.new_limit, e.reason) for e in entries]


# -- the test ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_global_limits_hold_through_outages_restarts_and_limit_changes(
    fresh_env: Env, transport: messaging.RPCTransport
) -> None:
    env = fresh_env
    seed = chaos_seed()
    print("chaos seed %d (KINGSYNC_CHAOS_SEED=%d replays it)" % (seed, seed))
    rng = random.Random(seed)
    env.overrides.set(
        "quota",
        poll_interval=0.1,
        near_interval=1.0,
        far_interval=2.0,
        poll_jitter=0.2,
        hysteresis=0.0,
        workers=4,
        per_region_concurrency=4,
    )
    env.overrides.set("engine", lease_seconds=5)
    env.overrides.set("regions", timeout=1.0)
    regions.reset()

    ledger = Ledger()
    tenants = Tenants(env, rng)
    client = LostAnswers(regional.OpenStackQuotas(regions.connection), LOST_ANSWERS, seed)
    engines = Engines(transport, ledger, client, env.db_url)
    projects = tenants.add(PROJECTS, "chaos")
    (late,) = tenants.add(1, "late")  # managed from a random round on, perhaps while a region is down
    late_round = rng.randrange(ROUNDS // 2)
    for project_id in projects:
        set_global(env, ledger, project_id, {r: rng.randint(g // 2, g + g // 2) for r, g in START.items()})
    events: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    try:
        with Grants(env.cloud, ledger, seed, env.db_url) as grants:
            engines.start()
            client.enabled.set()
            rounds = 0
            for number in range(ROUNDS):
                if time.monotonic() - started > CHAOS_SECONDS and number > late_round:
                    break
                rounds += 1
                for _ in range(rng.randint(1, 4)):
                    tenants.act(rng.choice([*projects, late]))
                if number == late_round:
                    set_global(env, ledger, late, dict(START))
                if rng.random() < 0.2:
                    region = rng.choice(REGIONS)
                    events[disturb(env, rng, region)] += 1
                if rng.random() < 0.08:
                    engines.restart(rng)
                    events["restart"] += 1
                if rng.random() < 0.08:
                    set_global(env, ledger, rng.choice(ledger.managed()), new_limits(rng))
                    events["global change"] += 1
                time.sleep(rng.uniform(0.0, 0.1))
                assert not grants.violations, grants.violations[:5]
            chaos_s = time.monotonic() - started

            # The faults stop; one engine at least keeps running.
            client.enabled.clear()
            for region in REGIONS:
                env.control.clear_faults(region)
            if not engines.running:
                engines.start()
            calm, since = time.monotonic(), ledger.next_token()
            problems = ["not reconciled since the faults stopped"]
            while problems and time.monotonic() - calm < CONVERGE_WITHIN:
                time.sleep(0.2)
                if ledger.settled_since(since):
                    problems = unconverged(env, ledger)
            converge_s = time.monotonic() - calm
            assert not problems, "seed %d: not converged %.0f s after the faults stopped: %s" % (
                seed,
                CONVERGE_WITHIN,
                problems[:10],
            )
            engines.stop_all()
            assert not grants.violations, grants.violations[:5]

        # One more reconciliation of every project writes nothing.
        env.control.reset_stats()
        worker = reconcile.Reconciler(
            regional.OpenStackQuotas(regions.connection),
            regions.names,
            reconcile.Settings(hysteresis=0.0),
            db_url=env.db_url,
        )
        try:
            outcomes = {project_id: worker.reconcile(project_id) for project_id in ledger.managed()}
        finally:
            worker.close()
        changed = {p: recent_changes(env, p, o.changes) for p, o in outcomes.items() if o.changes}
        assert changed == {}, "seed %d: the reconciliation after convergence wrote" % seed
        assert {p: o.status for p, o in outcomes.items() if o.status not in (reconcile.OK, reconcile.OVERSPENT)} == {}
        writes = {r: {k: n for k, n in s.items() if k.endswith("PUT") and n} for r, s in env.control.stats().items()}
        assert writes == dict.fromkeys(writes, {})

        print(
            "chaos seed %d: %d rounds in %.1f s, %d samples, %d engine rounds by %d engines (%d overlapping), "
            "converged in %.1f s; "
            "tenants %s (%d copies of security groups); events %s; %d answers lost"
            % (
                seed,
                rounds,
                chaos_s,
                grants.samples,
                engines.rounds,
                engines.started,
                ledger.overlaps,
                converge_s,
                dataclasses.asdict(tenants.tally),
                tenants.copies_made,
                dict(events),
                client.lost,
            )
        )
        assert tenants.tally.created > 0 and tenants.tally.refused > 0
        assert tenants.copies_made > 0
        assert grants.samples > 100
    finally:
        engines.stop_all()
        tenants.close()


# -- what the chaos found, pinned ------------------------------------------------------------------------


class LoseNext:
    """kingsync's quota client; the next write to ``armed`` is stored but its answer lost."""

    def __init__(self, client: apply.QuotaClient) -> None:
        self._client = client
        self.armed: tuple[str, str] | None = None

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        return self._client.read(region, service, project_id)

    def groups(self, region: str, project_id: str) -> Sequence[Group]:
        return self._client.groups(region, project_id)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        answer = self._client.write(region, service, project_id, limits)
        if self.armed == (region, service):
            self.armed = None
            raise RegionError(region, service, "answer lost after the write")
        return answer


def test_an_increase_whose_answer_was_lost_stays_in_the_budget(fresh_env: Env) -> None:
    env = fresh_env
    project_id = env.demo_project_id
    client = LoseNext(regional.OpenStackQuotas(regions.connection))
    worker = reconcile.Reconciler(
        client, regions.names, reconcile.Settings(hysteresis=0.0), per_region=4, db_url=env.db_url
    )

    def cores() -> dict[str, int]:
        return {
            r: env.admin(r).compute.get(f"/os-quota-sets/{project_id}").json()["quota_set"]["cores"] for r in REGIONS
        }

    try:
        set_limits(env, project_id, {"cores": 30})
        worker.reconcile(project_id)
        assert cores() == dict.fromkeys(REGIONS, 10)
        set_limits(env, project_id, {"cores": 60})
        client.armed = ("RegionOne", "nova")  # its raise to 20 happens; kingsync never hears so
        worker.reconcile(project_id)
        assert cores() == dict.fromkeys(REGIONS, 20)
        env.control.set_faults("RegionOne", down=True)
        worker.reconcile(project_id)
        env.control.clear_faults("RegionOne")
        # RegionOne may hold 20: the others must not be given the 50 that a
        # RegionOne at 10 would leave.
        assert sum(cores().values()) <= 60
    finally:
        worker.close()
