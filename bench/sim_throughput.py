"""How fast is kingsync-sim? Start time, and requests per second on one core.

The simulator runs as a ``kingsync-sim`` process pinned to CPU 0; this script
is the client, pinned to CPU 1, keeping ``--concurrency`` requests in flight
over keep-alive connections for ``--seconds``. The request mix is the one
kingsync's quota reconciliation makes most: nova quota detail, neutron quota
details and cinder quota usage for a random project.

Runs twice: with the bootstrap projects only, and with ``--projects`` extra
projects (10,000 by default), so degradation with scale shows as a ratio.
Prints a table and, with ``--json FILE``, the figures as JSON.

Targets (issue "Test clouds"): start < 2 s; >= 2,000 simple requests/s on one
core; no degradation at 10,000 projects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_sim(extra_projects: int, workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any], float]:
    clouds = workdir / f"clouds-{extra_projects}.yaml"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            str(BIN / "kingsync-sim"),
            "--port",
            "0",
            "--projects",
            str(extra_projects),
            "--clouds-yaml",
            str(clouds),
        ],
        stdout=subprocess.DEVNULL,
    )
    while not clouds.exists():
        if proc.poll() is not None:
            raise SystemExit("kingsync-sim exited with %s" % proc.returncode)
        time.sleep(0.01)
    started = time.perf_counter() - t0
    return proc, yaml.safe_load(clouds.read_text())["clouds"]["kingsync-sim-admin"], started


async def _token_and_catalog(session: aiohttp.ClientSession, cloud: dict[str, Any]) -> tuple[str, dict[str, str]]:
    auth = cloud["auth"]
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": auth["username"], "domain": {"name": "Default"}, "password": auth["password"]}
                },
            },
            "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}},
        }
    }
    async with session.post(auth["auth_url"] + "/auth/tokens", json=body) as resp:
        token = resp.headers["X-Subject-Token"]
        catalog = (await resp.json())["token"]["catalog"]
    urls = {}
    for service in catalog:
        for ep in service["endpoints"]:
            if ep["region"] == cloud["region_name"] and ep["interface"] == "public":
                urls[service["type"]] = ep["url"]
    return token, urls


async def _projects(session: aiohttp.ClientSession, cloud: dict[str, Any], token: str) -> list[str]:
    async with session.get(cloud["auth"]["auth_url"] + "/projects", headers={"X-Auth-Token": token}) as resp:
        return [p["id"] for p in (await resp.json())["projects"]]


async def _set_quotas(
    session: aiohttp.ClientSession, urls: dict[str, str], token: str, projects: list[str], concurrency: int
) -> float:
    """Give every project its own nova, neutron and cinder limits (as kingsync would)."""
    headers = {"X-Auth-Token": token}
    queue = list(projects)

    async def worker() -> None:
        while queue:
            pid = queue.pop()
            for url, body in (
                (urls["compute"] + f"/os-quota-sets/{pid}", {"quota_set": {"cores": 40, "instances": 20}}),
                (urls["network"] + f"/v2.0/quotas/{pid}", {"quota": {"port": 100}}),
                (urls["block-storage"] + f"/os-quota-sets/{pid}", {"quota_set": {"volumes": 20}}),
            ):
                async with session.put(url, json=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"PUT {url}: {resp.status}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0


async def populate(cloud: dict[str, Any], concurrency: int) -> float:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        token, urls = await _token_and_catalog(session, cloud)
        projects = await _projects(session, cloud, token)
        return await _set_quotas(session, urls, token, projects, concurrency)


async def load(cloud: dict[str, Any], seconds: float, concurrency: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        token, urls = await _token_and_catalog(session, cloud)
        projects = await _projects(session, cloud, token)
        templates = [
            urls["compute"] + "/os-quota-sets/{}/detail",
            urls["network"] + "/v2.0/quotas/{}/details",
            urls["block-storage"] + "/os-quota-sets/{}?usage=True",
        ]
        headers = {"X-Auth-Token": token}
        latencies: list[float] = []
        errors = 0
        rng = random.Random(7)
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                url = rng.choice(templates).format(rng.choice(projects))
                t = time.perf_counter()
                async with session.get(url, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "projects": len(projects),
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def run_case(extra_projects: int, seconds: float, concurrency: int, workdir: Path) -> dict[str, Any]:
    proc, cloud, started = start_sim(extra_projects, workdir)
    try:
        populate_s = asyncio.run(populate(cloud, concurrency))
        cpu0 = _cpu_seconds(proc.pid)
        result = asyncio.run(load(cloud, seconds, concurrency))
        result["populate_quotas_s"] = round(populate_s, 2)
        sim_cpu = _cpu_seconds(proc.pid) - cpu0
        result["start_s"] = round(started, 3)
        result["sim_rss_mib"] = round(_rss_kib(proc.pid) / 1024, 1)
        result["sim_cpu_s"] = round(sim_cpu, 2)
        # Requests the simulator served per second of its own CPU time: its capacity
        # on one core, whether or not this client could saturate it.
        result["rps_per_sim_core"] = round(result["requests"] / sim_cpu, 1) if sim_cpu else None
        return result
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1} if os.cpu_count() and os.cpu_count() > 1 else {0})  # type: ignore[operator]
    with tempfile.TemporaryDirectory() as tmp:
        small = run_case(0, args.seconds, args.concurrency, Path(tmp))
        large = run_case(args.projects, args.seconds, args.concurrency, Path(tmp))
    report = {
        "benchmark": "sim_throughput",
        "small": small,
        "large": large,
        "ratio_rps_large_vs_small": round(large["rps"] / small["rps"], 3),
        "ratio_p99_large_vs_small": round(large["p99_ms"] / small["p99_ms"], 3),
        "target_rps": 2000,
        "target_start_s": 2.0,
    }
    print(
        "%-10s %9s %9s %8s %8s %8s %10s %8s"
        % ("case", "projects", "rps", "p50 ms", "p99 ms", "errors", "rps/core", "start s")
    )
    for name in ("small", "large"):
        r = report[name]
        print(
            "%-10s %9d %9.0f %8.2f %8.2f %8d %10.0f %8.3f"
            % (
                name,
                r["projects"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                r["rps_per_sim_core"] or 0,
                r["start_s"],
            )
        )
    print(
        "ratio rps large/small %.3f, p99 large/small %.3f"
        % (report["ratio_rps_large_vs_small"], report["ratio_p99_large_vs_small"])
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
