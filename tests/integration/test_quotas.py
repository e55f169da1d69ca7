"""Global quotas end to end, as a cloud admin uses them.

The admin talks to kingsync's API over HTTP with a Keystone token; a running
engine turns the global limits into regional limits in nova, neutron and
cinder; the test reads those back as the cloud admin straight from each
region's services, never through kingsync. Usage is real: server groups,
networks with a port, volumes (they stay 'creating' and are deleted
directly), made in a Keystone project of the test's own by a member of it
(see tests.functional.quota.test_regional.Project).

Every scenario runs against the simulated regions and against the real
devcloud, in ``kingsync all-in-one``; the first also in the split deployment
(``kingsync-api`` and ``kingsync-engine`` over RabbitMQ and PostgreSQL).

Security groups are split like the rest, with kingsync's copies of a group
counted once: the tenant copies one with kingsync's own security group sync.

The engine reconciles only when a step asks for it (an admin's change, or
``PUT .../sync``): [quota] near_interval and far_interval are longer than
the run. Each step waits for the round it started, which GET .../regions
shows as a new last_reconciled_at.

Stopping a region stops the devcloud's nova, glance, neutron and cinder of
RegionThree (keystone stays up) and always starts them again; do not run
this module while something else uses the devcloud.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import openstack.connection
import pytest
import requests

from kingsync.quota import resources
from kingsync.sim.client import SimControl
from tests.conformance.conftest import TargetCloud, own_target
from tests.functional.quota.test_regional import Project
from tests.integration.test_deployments import BIN, Deployment, _config, _free_port
from tests.services.fixtures import new_database

pytestmark = pytest.mark.slow

DEVCLOUD = Path(__file__).resolve().parents[2] / "tools" / "devcloud" / "devcloud"
STOPPED = "RegionThree"
ROUND_TIMEOUT = 60.0
JOB_TIMEOUT = 90.0

# Rounds happen only when a step asks for one; the policy is stated, not assumed.
QUOTA_OPTIONS = (
    "\n[quota]\nheadroom_policy = even\npoll_interval = 0.5\npoll_jitter = 0\n"
    "near_interval = 3600\nfar_interval = 3600\n"
)


# -- the clouds and the deployments --------------------------------------------------------


@pytest.fixture(scope="module", params=["sim", pytest.param("real", marks=pytest.mark.devcloud)])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetCloud]:
    yield from own_target(request.param, tmp_path_factory, seed=17)


def _deploy(
    request: pytest.FixtureRequest, mode: str, target: TargetCloud, work: Path, extra: str = ""
) -> Iterator[Deployment]:
    """As test_deployments deploys kingsync, with the [quota] options above (and ``extra`` ones)."""
    port = _free_port()
    with contextlib.ExitStack() as stack:
        if mode == "embedded":
            log = work / "kingsync.log"
            conf = _config(work / "kingsync.conf", target.auth_url, port, f"sqlite:///{work}/ks.sqlite", None, log)
            with conf.open("a") as options:
                options.write(QUOTA_OPTIONS + extra)
            processes = [subprocess.Popen([str(BIN / "kingsync"), "all-in-one", "--config-file", str(conf)])]
            logs = [log]
        else:
            postgresql = request.getfixturevalue("postgresql_server")
            rabbit = request.getfixturevalue("rabbit_url")
            database = stack.enter_context(new_database(postgresql, f"quota_{target.kind}"))
            logs = [work / "api.log", work / "engine.log"]
            confs = [
                _config(work / f"{name}.conf", target.auth_url, port, database, rabbit, log)
                for name, log in zip(("api", "engine"), logs, strict=True)
            ]
            for conf in confs:
                with conf.open("a") as options:
                    options.write(QUOTA_OPTIONS + extra)
            subprocess.run([str(BIN / "kingsync-manage"), "--config-file", str(confs[0]), "db", "sync"], check=True)
            processes = [
                subprocess.Popen([str(BIN / "kingsync-api"), "--config-file", str(confs[0])]),
                subprocess.Popen([str(BIN / "kingsync-engine"), "--config-file", str(confs[1])]),
            ]
        deployed = Deployment(mode, f"http://127.0.0.1:{port}", processes, logs)
        stack.callback(deployed.stop)
        deployed.wait_ready()
        yield deployed


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """kingsync all-in-one: one process, SQLite, in-process messaging."""
    yield from _deploy(request, "embedded", target, tmp_path_factory.mktemp(f"embedded-{target.kind}"))


@pytest.fixture(scope="module", params=["embedded", "split"])
def each_deployment(
    request: pytest.FixtureRequest, target: TargetCloud, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Both deployments; the embedded one is the module's ``deployment``."""
    if request.param == "embedded":
        yield request.getfixturevalue("deployment")
        return
    yield from _deploy(request, "split", target, tmp_path_factory.mktemp(f"split-{target.kind}"))


# -- kingsync as the admin sees it -----------------------------------------------------------


class QuotaAdmin:
    """The cloud admin at kingsync's os-quota-sets API, for one project."""

    def __init__(self, cloud: TargetCloud, deployed: Deployment, project_id: str) -> None:
        self.conn = cloud.admin()
        self.deployed = deployed
        self.user_id = str(self.conn.current_user_id)
        self.url = f"{deployed.url}/v1.0/{self.conn.current_project_id}/os-quota-sets/{project_id}"

    def call(self, method: str, path: str = "", body: Any = None, expect: int = 200) -> Any:
        headers = {"X-Auth-Token": self.conn.session.get_token(), "Content-Type": "application/json"}
        resp = requests.request(method, self.url + path, json=body, headers=headers, timeout=30)
        assert resp.status_code == expect, f"{method} {path or '/'}: {resp.status_code} {resp.text}"
        return resp.json()

    def set_limits(self, **limits: int) -> None:
        """PUT the global limits and wait for the round that change starts."""
        with self.next_round():
            assert self.call("PUT", body={"quota_set": limits}) == {self.url.rsplit("/", 1)[1]: limits}

    def sync(self) -> None:
        with self.next_round():
            self.call("PUT", "/sync")

    def limits(self) -> dict[str, int]:
        return dict(self.call("GET")["quota_set"])

    def regions(self) -> dict[str, Any]:
        return dict(self.call("GET", "/regions"))

    def audit(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/audit?limit=1000")["audit"])

    def dry_run(self, **limits: int) -> dict[str, Any]:
        return dict(self.call("POST", "/dry-run", {"quota_set": limits})["dry_run"])

    @contextlib.contextmanager
    def next_round(self) -> Iterator[None]:
        """Wait, after the body, for the engine to end its next round on the project.

        Only the body starts rounds here, and each step waits for its own,
        so the next one to end is the one the body asked for.
        """
        before = self.regions()["project"]["last_reconciled_at"]
        yield
        deadline = time.monotonic() + ROUND_TIMEOUT
        while self.regions()["project"]["last_reconciled_at"] == before:
            if time.monotonic() > deadline:
                pytest.fail(f"no reconciliation within {ROUND_TIMEOUT} s; logs:\n{self.deployed.tail()}")
            time.sleep(0.2)

    def forget(self) -> None:
        """Delete the project's global limits: kingsync no longer manages it.

        Its answer does not matter: a test that failed early set none (404).
        """
        headers = {"X-Auth-Token": self.conn.session.get_token()}
        requests.delete(self.url, headers=headers, timeout=30)


@pytest.fixture
def project(target: TargetCloud) -> Iterator[Project]:
    made = Project(target)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def admin(target: TargetCloud, deployment: Deployment, project: Project) -> Iterator[QuotaAdmin]:
    quota_admin = QuotaAdmin(target, deployment, project.id)
    yield quota_admin
    quota_admin.forget()  # before the project's objects and regional limits go


# -- the regions as their own admin sees them ------------------------------------------------


class Regional(NamedTuple):
    limit: int
    usage: int  # in use plus reserved: what the service counts against the limit


Found = dict[str, dict[str, Regional]]  # region -> resource -> limit and usage


def read_regions(cloud: TargetCloud, project_id: str, regions: list[str] | None = None) -> Found:
    """Every quota of the project in nova, neutron and cinder of each region, as their admin reads it."""
    found: Found = {}
    for region in regions or cloud.regions:
        conn = cloud.admin(region)
        found[region] = {
            **_quota(conn.compute, f"/os-quota-sets/{project_id}/detail", "quota_set", "in_use", "2.56"),
            **_quota(conn.network, f"/quotas/{project_id}/details", "quota", "used"),
            **_quota(conn.block_storage, f"/os-quota-sets/{project_id}?usage=True", "quota_set", "in_use"),
        }
    return found


def _quota(proxy: Any, path: str, wrapper: str, used: str, microversion: str | None = None) -> dict[str, Regional]:
    resp = proxy.get(path, microversion=microversion, raise_exc=False)
    assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
    return {
        name: Regional(entry["limit"], entry.get(used, 0) + entry.get("reserved", 0))
        for name, entry in resp.json()[wrapper].items()
        if isinstance(entry, dict)
    }


def limits_of(found: Found, resource: str) -> dict[str, int]:
    return {region: quotas[resource].limit for region, quotas in found.items()}


def usage_of(found: Found, resource: str) -> dict[str, int]:
    return {region: quotas[resource].usage for region, quotas in found.items()}


def split_limits(global_limits: dict[str, int], found: Found) -> dict[str, int]:
    """The finite global limits of the split resources (copyable ones too) the regions have."""
    return {
        name: limit
        for name, limit in global_limits.items()
        if resources.is_divided(name)
        and limit != resources.UNLIMITED
        and all(name in quotas for quotas in found.values())
    }


def assert_whole_limit_split_evenly(global_limits: dict[str, int], found: Found) -> None:
    """Every split resource (security groups too, none of them copied here): each
    region at least its usage, the regions together exactly G (even policy,
    every region reachable, usage within G), the headroom of any two regions
    one apart at most; copied resources: G in every region."""
    for name, limit in split_limits(global_limits, found).items():
        held = [quotas[name] for quotas in found.values()]
        assert all(q.limit >= q.usage for q in held), (name, held)
        assert sum(q.limit for q in held) == limit, (name, limit, held)
        headroom = [q.limit - q.usage for q in held]
        assert max(headroom) - min(headroom) <= 1, (name, held)
    for name, limit in global_limits.items():
        if resources.managed_kind(name) == resources.COPIED:
            assert set(limits_of(found, name).values()) == {limit}, name


# -- a region down ------------------------------------------------------------------------------


@contextlib.contextmanager
def region_down(cloud: TargetCloud, region: str, service: str | None = None) -> Iterator[None]:
    """The region's services (on the devcloud: only ``service``, e.g. "glance",
    if given; the simulator stops a whole region) stop answering, and answer
    again afterwards, whatever happens."""
    control = SimControl(cloud.auth_url) if cloud.sim is not None else None
    entry = f"{service}-{region}" if service else region
    try:
        if control is not None:
            control.set_faults(region, down=True)
        else:
            subprocess.run([str(DEVCLOUD), "stop", entry], check=True, capture_output=True)
        yield
    finally:
        if control is not None:
            control.clear_faults(region)
        else:
            subprocess.run([str(DEVCLOUD), "start", entry], check=True, capture_output=True)
        _wait_answering(cloud, region)


def _wait_answering(cloud: TargetCloud, region: str) -> None:
    conn: openstack.connection.Connection = cloud.admin(region)
    paths = [
        (conn.compute, "/limits"),
        (conn.network, "/extensions"),
        (conn.block_storage, "/limits"),
        (conn.image, "/images?limit=1"),
    ]
    deadline = time.monotonic() + 60
    for proxy, path in paths:
        while True:
            with contextlib.suppress(Exception):
                if proxy.get(path, raise_exc=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{region} does not answer again after 60 s")
            time.sleep(0.5)


# -- scenarios -----------------------------------------------------------------------------------


def test_global_limits_are_split_and_follow_usage(
    target: TargetCloud, each_deployment: Deployment, project: Project
) -> None:
    admin = QuotaAdmin(target, each_deployment, project.id)
    try:
        admin.set_limits(server_groups=12, network=9, port=9, volumes=6, gigabytes=30, security_group=7)
        global_limits = admin.limits()
        found = read_regions(target, project.id)
        assert limits_of(found, "server_groups") == dict.fromkeys(target.regions, 4)
        assert_whole_limit_split_evenly(global_limits, found)

        project.server_groups("RegionOne", 2)
        project.server_groups("RegionTwo", 1)
        project.network_with_port("RegionTwo")
        project.volume("RegionOne", size=1)
        project.volume("RegionThree", size=2)
        admin.sync()

        found = read_regions(target, project.id)
        assert usage_of(found, "server_groups") == {"RegionOne": 2, "RegionTwo": 1, "RegionThree": 0}
        assert usage_of(found, "port") == {"RegionOne": 0, "RegionTwo": 1, "RegionThree": 0}
        assert usage_of(found, "gigabytes") == {"RegionOne": 1, "RegionTwo": 0, "RegionThree": 2}
        assert_whole_limit_split_evenly(global_limits, found)
        # 9 server groups of headroom, 3 each: RegionOne at 2 + 3, RegionTwo at 1 + 3.
        assert limits_of(found, "server_groups") == {"RegionOne": 5, "RegionTwo": 4, "RegionThree": 3}
        assert admin.regions()["project"]["last_status"] == "ok"
    finally:
        admin.forget()


def test_a_stopped_region_keeps_its_limit_and_the_others_are_rebalanced(
    target: TargetCloud, admin: QuotaAdmin, project: Project
) -> None:
    admin.set_limits(server_groups=12, network=9, port=9, volumes=6)
    global_limits = admin.limits()
    before = read_regions(target, project.id)
    reachable = [region for region in target.regions if region != STOPPED]

    with region_down(target, STOPPED):
        project.server_groups("RegionOne", 3)
        admin.sync()
        during = read_regions(target, project.id, reachable)
        shown = admin.regions()
        # What reads the regions now still answers, with RegionThree as last found.
        detail = admin.call("GET", "/detail")["quota_set"]
        plan = admin.dry_run(server_groups=12)

    assert shown["project"]["last_status"] == "partial", shown["project"]
    assert STOPPED in shown["project"]["last_error"]
    by_region = {entry["region"]: entry for entry in shown["regions"]}
    assert by_region[STOPPED]["state"] == "unreachable"
    assert {name: s["reachable"] for name, s in by_region[STOPPED]["services"].items()} == dict.fromkeys(
        resources.SERVICES, False
    )
    assert by_region[STOPPED]["resources"]["server_groups"]["limit"] == before[STOPPED]["server_groups"].limit
    assert all(by_region[region]["state"] == "reachable" for region in reachable)
    assert detail["usage"]["server_groups"] == 3
    assert sorted(line.split(":")[0] for line in plan["unreachable"]) == [
        f"{STOPPED} {service}" for service in sorted(resources.SERVICES)
    ]
    assert plan["regions"][STOPPED]["server_groups"] == {"usage": 0, "limit": 4, "planned": None}

    # RegionThree's limit stays spent; the others share G minus it.
    for name, limit in split_limits(global_limits, during).items():
        spent = max(before[STOPPED][name])
        assert sum(limits_of(during, name).values()) == limit - spent, name
    # 12 - 4 = 8 for two regions, RegionOne using 3: 5 of headroom, RegionOne the odd one.
    assert limits_of(during, "server_groups") == {"RegionOne": 6, "RegionTwo": 2}

    after = read_regions(target, project.id)
    assert after[STOPPED] == before[STOPPED]  # nobody wrote to it while it was down

    # Back again: the next round spreads the headroom over all three.
    admin.sync()
    found = read_regions(target, project.id)
    assert_whole_limit_split_evenly(global_limits, found)
    assert limits_of(found, "server_groups") == {"RegionOne": 6, "RegionTwo": 3, "RegionThree": 3}
    shown = admin.regions()
    assert shown["project"]["last_status"] == "ok"
    assert all(entry["state"] == "reachable" for entry in shown["regions"])


def test_dry_run_shows_the_plan_and_refusals_and_writes_nothing(
    target: TargetCloud, admin: QuotaAdmin, project: Project
) -> None:
    project.server_groups("RegionOne", 3)
    project.server_groups("RegionTwo", 1)
    project.volume("RegionTwo")
    admin.set_limits(server_groups=12, volumes=6)
    before = (admin.limits(), read_regions(target, project.id), admin.audit(), admin.regions()["project"])

    plan = admin.dry_run(server_groups=3, volumes=0)  # below usage: 4 server groups, 1 volume

    assert (plan["limits"]["server_groups"], plan["limits"]["volumes"]) == (3, 0)
    planned = {region: plan["regions"][region]["server_groups"] for region in target.regions}
    assert planned == {
        "RegionOne": {"usage": 3, "limit": 6, "planned": 3},
        "RegionTwo": {"usage": 1, "limit": 3, "planned": 1},
        "RegionThree": {"usage": 0, "limit": 3, "planned": 0},
    }
    assert {region: plan["regions"][region]["volumes"]["planned"] for region in target.regions} == {
        "RegionOne": 0,
        "RegionTwo": 1,
        "RegionThree": 0,
    }
    # Shares of 1, 1, 1 server groups and 0 volumes: RegionOne and RegionTwo hold more.
    refused = {(r["region"], r["resource"]): r["minimum"] for r in plan["refusals"]}
    assert refused == {("RegionOne", "server_groups"): 3, ("RegionTwo", "volumes"): 1}
    assert plan["unreachable"] == []

    after = (admin.limits(), read_regions(target, project.id), admin.audit(), admin.regions()["project"])
    assert after == before


def test_audit_shows_admin_and_engine_changes_and_corrected_drift(
    target: TargetCloud, admin: QuotaAdmin, project: Project
) -> None:
    admin.set_limits(server_groups=9, volumes=6)

    history = admin.audit()
    by_admin = [e for e in history if e["reason"] == "admin"]
    assert {e["resource"]: (e["old"], e["new"]) for e in by_admin} == {"server_groups": (None, 9), "volumes": (None, 6)}
    assert {(e["actor"], e["region"]) for e in by_admin} == {(admin.user_id, None)}
    assert all(e["request_id"] for e in by_admin)
    by_engine = {(e["region"], e["resource"]): (e["old"], e["new"]) for e in history if e["reason"] == "rebalance"}
    assert {e["actor"] for e in history if e["reason"] == "rebalance"} == {"kingsync"}
    for region in target.regions:  # from the services' defaults of 10 to a third of G
        assert by_engine[(region, "server_groups")] == (10, 3)
        assert by_engine[(region, "volumes")] == (10, 2)
    assert {e["reason"] for e in history} == {"admin", "rebalance"}

    # A hand in nova: RegionTwo may now hold 7 server groups.
    resp = target.admin("RegionTwo").compute.put(
        f"/os-quota-sets/{project.id}", json={"quota_set": {"server_groups": 7}}, raise_exc=False
    )
    assert resp.status_code == 200, resp.text
    admin.sync()

    assert read_regions(target, project.id)["RegionTwo"]["server_groups"].limit == 3
    newer = [e for e in admin.audit() if e["id"] > history[0]["id"]]
    assert [(e["region"], e["resource"], e["old"], e["new"], e["actor"], e["reason"]) for e in newer] == [
        ("RegionTwo", "server_groups", 7, 3, "kingsync", "rebalance"),
        ("RegionTwo", "server_groups", 3, 7, "kingsync", "drift"),
    ]


def test_global_limit_below_usage_holds_every_region_at_its_usage(
    target: TargetCloud, admin: QuotaAdmin, project: Project
) -> None:
    project.server_groups("RegionOne", 3)
    project.network_with_port("RegionTwo")
    project.volume("RegionThree")
    admin.set_limits(server_groups=9, port=9, volumes=6)

    admin.set_limits(server_groups=2, port=0, volumes=0)

    found = read_regions(target, project.id)
    for name in ("server_groups", "port", "volumes"):
        # Not below usage (no force), and no headroom anywhere.
        assert limits_of(found, name) == usage_of(found, name), name
    assert usage_of(found, "server_groups") == {"RegionOne": 3, "RegionTwo": 0, "RegionThree": 0}
    project_state = admin.regions()["project"]
    assert (project_state["last_status"], project_state["last_error"]) == ("overspent", None)
    detail = admin.call("GET", "/detail")["quota_set"]
    assert (detail["limits"]["server_groups"], detail["usage"]["server_groups"]) == (2, 3)


def test_security_groups_are_split_with_kingsyncs_copies_counted_once(
    target: TargetCloud, deployment: Deployment, admin: QuotaAdmin, project: Project
) -> None:
    """The issue's scenario: with 5 security groups in all, the tenant cannot make a
    sixth distinct one in any region, and Kingbird's detail shows the distinct count."""
    tenant = {region: project.member(region).network for region in target.regions}
    for region in target.regions:  # the tenant looks: neutron makes the default group
        assert tenant[region].get("/security-groups").status_code == 200
    # The tenant's "web" in RegionOne, ssh from itself, and kingsync's copy of it in RegionTwo.
    web = tenant["RegionOne"].post("/security-groups", json={"security_group": {"name": "web"}}).json()
    web_id = web["security_group"]["id"]
    ssh = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    rule = {"security_group_rule": {**ssh, "security_group_id": web_id, "remote_group_id": web_id}}
    assert tenant["RegionOne"].post("/security-group-rules", json=rule).status_code == 201
    assert sync_as(project.member("RegionOne"), deployment, "security_group", ["web"], ["RegionTwo"]) == "SUCCESS"
    shown_web = tenant["RegionOne"].get(f"/security-groups/{web_id}").json()["security_group"]
    web_rules = len(shown_web["security_group_rules"])

    # 5 groups in the regions (2, 2, 1), the copy counted once: 4, so 1 to make.
    admin.set_limits(security_group=5)
    found = read_regions(target, project.id)
    assert usage_of(found, "security_group") == {"RegionOne": 2, "RegionTwo": 2, "RegionThree": 1}
    limits = limits_of(found, "security_group")
    assert limits == {"RegionOne": 3, "RegionTwo": 2, "RegionThree": 1}
    detail = admin.call("GET", "/detail")["quota_set"]
    assert (detail["limits"]["security_group"], detail["usage"]["security_group"]) == (5, 4)
    rules = usage_of(found, "security_group_rule")
    assert detail["usage"]["security_group_rule"] == sum(rules.values()) - web_rules
    # The dry run plans as the engine did; GET .../regions shows each region's own count.
    plan = admin.dry_run(security_group=5)
    assert {region: plan["regions"][region]["security_group"]["planned"] for region in target.regions} == limits
    shown = {entry["region"]: entry["resources"]["security_group"] for entry in admin.regions()["regions"]}
    assert {region: shown[region]["usage"] for region in target.regions} == usage_of(found, "security_group")

    def create(region: str, name: str) -> int:
        resp = tenant[region].post("/security-groups", json={"security_group": {"name": name}}, raise_exc=False)
        assert resp.status_code in (201, 409), resp.text  # made, or over quota
        return int(resp.status_code)

    assert create("RegionOne", "app") == 201
    assert [create(region, "sixth") for region in target.regions] == [409, 409, 409]
    admin.sync()
    detail = admin.call("GET", "/detail")["quota_set"]
    found = read_regions(target, project.id)
    assert detail["usage"]["security_group"] == sum(usage_of(found, "security_group").values()) - 1 == 5


def sync_as(
    member: openstack.connection.Connection, deployed: Deployment, kind: str, names: list[str], targets: list[str]
) -> str:
    """A tenant's sync job from RegionOne (Kingbird's os-sync), to its end: its status."""
    url = f"{deployed.url}/v1.0/{member.current_project_id}/os-sync"
    headers = {"X-Auth-Token": member.session.get_token(), "Content-Type": "application/json"}
    entry = {"resource_type": kind, "resources": names, "source": "RegionOne", "target": targets}
    resp = requests.post(url, json={"resource_set": entry}, headers=headers, timeout=60)
    assert resp.status_code == 200, resp.text
    job_id = resp.json()["job_status"]["id"]
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        jobs = requests.get(url, headers=headers, timeout=30).json()["job_set"]
        status = str(next(job["sync_status"] for job in jobs if job["id"] == job_id))
        if status != "IN_PROGRESS":
            return status
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still IN_PROGRESS after {JOB_TIMEOUT} s")
