"""What does a quota reconciliation cycle cost? API calls per project per region, and time.

A ``kingsync-sim`` process (pinned to CPU 0) serves ``--regions`` regions,
each answering after ``--latency-ms`` of injected latency, and ``--projects``
projects, each with global limits on a few resources of nova, neutron and
cinder (besides Kingbird's defaults for the rest), a share of them with
usage. One engine's quota loop (kingsync.quota.scheduler.QuotaLoop, pinned
to CPU 1, SQLite database) reconciles every project, three times:

    cycle 1   first setup: the regions still have their own defaults, so
              most limits are written
    cycle 2   steady state: nothing changed, so nothing should be written
    cycle 3   usage changed in ``--changed`` of the projects (one region each)

Each cycle makes every project due at once and ends when the loop has
reconciled each of them once. Calls are counted by the simulator, per region,
reads (GET) and writes (PUT) apart, and compared with Kingbird's 12 + 19R
calls per project per cycle (R regions; DESIGN.md). The cycle time is
compared with the bound latency sets: a region serves at most
per_region_concurrency of the engine's calls at once, each taking the
latency, so a cycle takes at least

    max over regions (calls to the region) x latency / per_region_concurrency

Prints a table and a JSON line (``--json FILE`` writes it to a file too).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from keystoneauth1 import loading as ks_loading

from kingsync import regions
from kingsync.conf import CONF
from kingsync.db import clock, migration
from kingsync.db.quota import audit
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import projects as quota_projects
from kingsync.db.session import transaction
from kingsync.quota import reconcile, regional, resources, scheduler
from kingsync.sim.client import SimControl

BIN = Path(sys.executable).parent
SERVICE_AUTH = {
    "auth_type": "password",
    "username": "kingsync",
    "password": "service-secret",
    "project_name": "service",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
}
ADMIN = audit.Actor("bench-admin", "admin", "req-bench")
# Global limits each project gets (a random value between the two), beside Kingbird's defaults.
LIMITS = {
    "cores": (20, 100),
    "instances": (10, 50),
    "ram": (51200, 204800),
    "server_groups": (5, 20),
    "network": (5, 20),
    "port": (20, 100),
    "volumes": (5, 30),
    "gigabytes": (100, 1000),
}


def kingbird_calls(regions_count: int) -> int:
    """Calls Kingbird's periodic balance made per project per cycle (DESIGN.md)."""
    return 12 + 19 * regions_count


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _pinned(cpu: int) -> list[str]:
    """taskset's prefix on a machine with two CPUs or more, else nothing."""
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) > 1 else []


def start_sim(region_count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    clouds = workdir / "clouds.yaml"
    command = [str(BIN / "kingsync-sim"), "--port", "0", "--regions", str(region_count), "--clouds-yaml", str(clouds)]
    proc = subprocess.Popen([*_pinned(0), *command], stdout=subprocess.DEVNULL)
    while not clouds.exists():
        if proc.poll() is not None:
            raise SystemExit("kingsync-sim exited with %s" % proc.returncode)
        time.sleep(0.01)
    return proc, str(yaml.safe_load(clouds.read_text())["clouds"]["kingsync-sim-admin"]["auth"]["auth_url"])


def configure(auth_url: str, db_url: str, args: argparse.Namespace) -> None:
    CONF([], project="kingsync", default_config_files=[])
    # keystoneauth registers a plugin's options when it loads it; registered
    # first, they can be set without a config file.
    CONF.register_opts(ks_loading.get_auth_plugin_conf_options("password"), group="regions")
    for name, value in {**SERVICE_AUTH, "auth_url": auth_url}.items():
        CONF.set_override(name, value, group="regions")
    CONF.set_override("connection", db_url, group="database")
    # Nothing falls due by itself during the run: each cycle makes every project due.
    for name, value in {
        "near_interval": 86400.0,
        "far_interval": 86400.0,
        "poll_interval": 0.1,
        "per_region_concurrency": args.per_region,
        "workers": args.workers,
    }.items():
        CONF.set_override(name, value, group="quota")
    regions.reset()


def populate(control: SimControl, db_url: str, args: argparse.Namespace, rng: random.Random) -> list[str]:
    """The projects, their global limits, and usage for a share of them."""
    projects = control.create_projects(args.projects, prefix="bench")
    names = regions.names()
    with transaction(db_url) as session:
        for project_id in projects:
            limits = {name: rng.randint(low, high) for name, (low, high) in LIMITS.items()}
            global_limits.set_project_limits(session, project_id, limits, ADMIN)
    for project_id in rng.sample(projects, int(len(projects) * args.with_usage)):
        for region in rng.sample(names, rng.randint(1, len(names))):
            set_usage(control, region, project_id, rng)
    return projects


def set_usage(control: SimControl, region: str, project_id: str, rng: random.Random) -> None:
    """A few servers, ports and a volume in one region: within every limit even in all regions at once."""
    instances = rng.randint(1, 3)
    control.set_usage(
        region,
        project_id,
        compute={"instances": instances, "cores": 2 * instances, "ram": 2048 * instances},
        network={"port": rng.randint(1, 5)},
        volume={"volumes": 1, "gigabytes": 10 * instances},
    )


def warm_up(names: list[str], project_id: str) -> None:
    """The first call to each service of a region discovers its versions: done before counting."""
    client = regional.OpenStackQuotas(regions.connection)
    for region in names:
        for service in resources.SERVICES:
            client.read(region, service, project_id)


def run_cycle(
    loop: scheduler.QuotaLoop,
    begin: Callable[[], None],
    control: SimControl,
    db_url: str,
    projects: list[str],
    timeout: float,
) -> dict[str, Any]:
    """Every project due now, then ``begin`` (start or wake the loop); returns
    once the loop has reconciled each project once."""
    with transaction(db_url) as session:
        for project_id in projects:
            quota_projects.request_reconcile(session, project_id)
    control.reset_stats()
    done = loop.rounds
    started = clock.utcnow()
    cpu0, t0 = time.process_time(), time.perf_counter()
    begin()
    while loop.rounds < done + len(projects):
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(
                "cycle not done after %.0f s: %d of %d projects" % (timeout, loop.rounds - done, len(projects))
            )
        time.sleep(0.02)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    stats = control.stats()
    # A round is counted just before its project is released: wait for the releases.
    statuses: dict[str, int] = {}
    while sum(statuses.values()) < len(projects):
        time.sleep(0.02)
        statuses = {}
        with transaction(db_url) as session:
            for project_id in projects:
                state = quota_projects.get_project_state(session, project_id)
                if state is not None and state.last_reconciled_at is not None and state.last_reconciled_at >= started:
                    status = state.last_status or "none"
                    statuses[status] = statuses.get(status, 0) + 1
    per_region = {
        region: {
            "reads": sum(n for key, n in counts.items() if key.endswith(" GET")),
            "writes": sum(n for key, n in counts.items() if key.endswith(" PUT")),
            "other": sum(n for key, n in counts.items() if not key.endswith((" GET", " PUT"))),
        }
        for region, counts in stats.items()
    }
    return {"seconds": seconds, "cpu_seconds": cpu, "per_region": per_region, "statuses": statuses}


def figures(
    cycle: dict[str, Any], projects: int, latency_s: float, per_region: int, region_count: int
) -> dict[str, Any]:
    calls = {region: c["reads"] + c["writes"] + c["other"] for region, c in cycle["per_region"].items()}
    busiest = max(calls.values())
    bound = busiest * latency_s / per_region
    reads = sum(c["reads"] for c in cycle["per_region"].values()) / region_count / projects
    writes = sum(c["writes"] for c in cycle["per_region"].values()) / region_count / projects
    kingbird = kingbird_calls(region_count) / region_count
    return {
        "reads_per_project_region": round(reads, 3),
        "writes_per_project_region": round(writes, 3),
        "calls_per_project_region": round(reads + writes, 3),
        "kingbird_calls_per_project_region": round(kingbird, 3),
        "ratio_calls_vs_kingbird": round((reads + writes) / kingbird, 3),
        "busiest_region_calls": busiest,
        "seconds": round(cycle["seconds"], 2),
        "bound_seconds": round(bound, 2),
        "ratio_time_vs_bound": round(cycle["seconds"] / bound, 3) if bound else None,
        "engine_cpu_seconds": round(cycle["cpu_seconds"], 2),
        "engine_cpu_ms_per_project": round(cycle["cpu_seconds"] * 1000 / projects, 1),
        "per_region": cycle["per_region"],
        "statuses": cycle["statuses"],
    }


def change_usage(control: SimControl, projects: list[str], share: float, rng: random.Random) -> int:
    names = regions.names()
    changed = rng.sample(projects, max(1, int(len(projects) * share)))
    for project_id in changed:
        set_usage(control, rng.choice(names), project_id, rng)
    return len(changed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="injected latency of every region's services")
    parser.add_argument(
        "--per-region", type=int, default=8, help="[quota] per_region_concurrency: calls to one region at once"
    )
    parser.add_argument("--workers", type=int, default=16, help="[quota] workers: projects reconciled at once")
    parser.add_argument("--with-usage", type=float, default=0.3, help="share of projects given usage at the start")
    parser.add_argument("--changed", type=float, default=0.1, help="share of projects whose usage changes for cycle 3")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="30 projects, 2 ms latency: checks the script runs")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if args.quick:
        args.projects, args.latency_ms = 30, 2.0
    rng = random.Random(args.seed)
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    latency_s = args.latency_ms / 1000.0

    with tempfile.TemporaryDirectory() as tmp:
        sim, auth_url = start_sim(args.regions, Path(tmp))
        try:
            db_url = f"sqlite:///{tmp}/kingsync.sqlite"
            migration.upgrade(db_url)
            configure(auth_url, db_url, args)
            control = SimControl(auth_url, timeout=60)
            t0 = time.perf_counter()
            projects = populate(control, db_url, args, rng)
            setup_s = time.perf_counter() - t0
            names = regions.names()
            warm_up(names, projects[0])
            for region in names:
                control.set_faults(region, latency_ms=args.latency_ms)
            reconciler = reconcile.Reconciler(
                regional.OpenStackQuotas(regions.connection),
                regions.names,
                reconcile.Settings.from_conf(CONF.quota),
                per_region=args.per_region,
                db_url=db_url,
            )
            loop = scheduler.QuotaLoop(
                "bench", reconciler, args.workers, CONF.quota.batch_size, 600, CONF.quota.poll_interval, db_url
            )
            # Generous: ten times the bound of a cycle writing everything, plus a minute.
            timeout = 60 + 10 * args.projects * 12 * latency_s / args.per_region
            cycles = {}
            try:
                # Started only now: setting the global limits made every project due.
                cycles["1 setup"] = run_cycle(loop, loop.start, control, db_url, projects, timeout)
                cycles["2 steady"] = run_cycle(loop, loop.wake, control, db_url, projects, timeout)
                changed = change_usage(control, projects, args.changed, rng)
                cycles["3 usage changed"] = run_cycle(loop, loop.wake, control, db_url, projects, timeout)
            finally:
                loop.stop(0.0)
            sim_rss_mib = _rss_kib(sim.pid) / 1024
        finally:
            sim.terminate()
            sim.wait(10)

    report: dict[str, Any] = {
        "benchmark": "quota_reconcile",
        "projects": args.projects,
        "regions": args.regions,
        "latency_ms": args.latency_ms,
        "per_region_concurrency": args.per_region,
        "workers": args.workers,
        "projects_with_usage": int(args.projects * args.with_usage),
        "projects_changed_for_cycle_3": changed,
        "setup_seconds": round(setup_s, 1),
        "bound_formula": "max over regions (calls to the region) x latency / per_region_concurrency",
        "kingbird_formula": "(12 + 19 x regions) / regions",
        "cycles": {
            name: figures(cycle, args.projects, latency_s, args.per_region, args.regions)
            for name, cycle in cycles.items()
        },
        "engine_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sim_rss_mib": round(sim_rss_mib, 1),
    }
    print(
        "%d projects, %d regions, %.0f ms latency, per_region_concurrency %d, %d workers"
        % (args.projects, args.regions, args.latency_ms, args.per_region, args.workers)
    )
    print(
        "calls per project per region (kingbird: %s); bound = %s"
        % (report["kingbird_formula"], report["bound_formula"])
    )
    print(
        "%-16s %6s %6s %6s %9s %8s %9s %9s %8s %8s %10s"
        % ("cycle", "reads", "writes", "calls", "kingbird", "ratio", "time s", "bound s", "ratio", "cpu s", "cpu ms/p")
    )
    for name, f in report["cycles"].items():
        print(
            "%-16s %6.2f %6.2f %6.2f %9.2f %8.3f %9.2f %9.2f %8.2f %8.2f %10.1f"
            % (
                name,
                f["reads_per_project_region"],
                f["writes_per_project_region"],
                f["calls_per_project_region"],
                f["kingbird_calls_per_project_region"],
                f["ratio_calls_vs_kingbird"],
                f["seconds"],
                f["bound_seconds"],
                f["ratio_time_vs_bound"] or 0.0,
                f["engine_cpu_seconds"],
                f["engine_cpu_ms_per_project"],
            )
        )
    print("statuses: %s" % "; ".join("%s %s" % (name, f["statuses"]) for name, f in report["cycles"].items()))
    print("peak RSS: engine %.1f MiB, simulator %.1f MiB" % (report["engine_peak_rss_mib"], report["sim_rss_mib"]))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
