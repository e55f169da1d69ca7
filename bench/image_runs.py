"""One measured run of an image benchmark case: kingsync's sync, or the plain copy.

Both copy a fresh source image of the case's size from RegionOne to the
case's targets and leave nothing behind (every image the run made is
deleted at its end, the source too: a kingsync copy holds the source's id,
and glance never gives a deleted image's id back, so each run needs a source
of its own).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from devcloud import OCTETS, SOURCE, Cloud, Images, MiB
from engine_process import Engine, socket_bytes

WARM_UP_BYTES = MiB
# What a plain copy does not send: glance's own fields, and what its user cannot set.
_NOT_COPIED = frozenset(
    "id status owner protected os_hidden checksum os_hash_algo os_hash_value size virtual_size created_at "
    "updated_at self file schema direct_url locations stores".split()
)


@dataclasses.dataclass
class Options:
    cloud: Cloud
    images: Images
    work: Path
    perf: bool
    source_port: int


def _when(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


class Tenant:
    """The demo member at kingsync's os-sync API."""

    def __init__(self, cloud: Cloud, engine: Engine) -> None:
        self.conn = cloud.member(SOURCE)
        self.url = f"{engine.url}/v1.0/{self.conn.current_project_id}/os-sync"

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": str(self.conn.session.get_token()), "Content-Type": "application/json"}

    def sync(self, image_id: str, targets: list[str], timeout: float) -> dict[str, Any]:
        """Sync one image; returns the job's items and times once every item has ended."""
        entry = {"resource_type": "image", "resources": [image_id], "source": SOURCE, "target": targets}
        t0 = time.monotonic()
        resp = requests.post(self.url, json={"resource_set": entry}, headers=self.headers(), timeout=60)
        if resp.status_code != 200:
            raise RuntimeError(f"POST os-sync: {resp.status_code} {resp.text[:300]}")
        job_id = resp.json()["job_status"]["id"]
        while True:
            items: list[dict[str, Any]] = requests.get(
                f"{self.url}/{job_id}", headers=self.headers(), timeout=60
            ).json()["job_set"]
            if items and all(item["sync_status"] != "IN_PROGRESS" for item in items):
                break
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"job {job_id} not done after {timeout:.0f} s: {items}")
            # Each look is a request the engine's process serves: not too often. The
            # job's time comes from its items' own timestamps, not from these looks.
            time.sleep(0.5)
        seen = time.monotonic() - t0
        began = min(_when(item["created_at"]) for item in items)
        ended = max(_when(item["updated_at"]) for item in items)
        return {"job": job_id, "items": items, "seconds": (ended - began).total_seconds(), "seen_seconds": seen}


def paths_taken(log: Path, image_id: str) -> dict[str, str]:
    """Which path each target's data took, as the engine's log says."""
    taken: dict[str, str] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        if image_id not in line:
            continue
        asked = re.search(r"Asked (\S+) to import image", line)
        if asked:
            taken[asked[1]] = "glance-download"
        streamed = re.search(r"Streamed image \S+ \(\d+ bytes, read once\) to (.*)$", line)
        if streamed:
            for region in streamed[1].split(", "):
                taken[region.strip()] = "stream"
    return taken


def verify(cloud: Cloud, source: dict[str, Any], copies: dict[str, str]) -> list[str]:
    """What is wrong with the copies (target region -> id): status, size, hash."""
    wrong = []
    for region, image_id in copies.items():
        copy = cloud.admin(region).image.get(f"/images/{image_id}", raise_exc=False)
        body = copy.json() if copy.status_code == 200 else {}
        got = (body.get("status"), body.get("size"), body.get("os_hash_value"))
        if got != ("active", source["size"], source["os_hash_value"]):
            wrong.append(f"{region}: {got}")
    return wrong


def import_seconds(cloud: Cloud, item: dict[str, Any]) -> int | None:
    """How long the target glance's own import task took (glance keeps whole seconds).
    Glance makes the image active a moment before it closes the task: wait for that."""
    deadline = time.monotonic() + 15
    while True:
        resp = cloud.admin(item["target_region"]).image.get(
            f"/images/{item['target_id']}/tasks", microversion="2.12", raise_exc=False
        )
        done = [task for task in resp.json().get("tasks", []) if task["status"] == "success"] if resp.ok else []
        if done:
            task = max(done, key=lambda task: str(task["created_at"]))
            return int((_when(task["updated_at"]) - _when(task["created_at"])).total_seconds())
        if not resp.ok or time.monotonic() > deadline:
            return None
        time.sleep(0.5)


def kingsync_run(
    options: Options, size_mib: int, path: str, targets: list[str], src_dir: Path | None, label: str
) -> dict[str, Any]:
    """One kingsync sync of a fresh image, in a fresh engine process (running ``src_dir``'s code)."""
    cloud, images = options.cloud, options.images
    run: dict[str, Any] = {"error": None}
    size = size_mib * MiB
    work = options.work / label
    work.mkdir()
    made: list[dict[str, Any]] = []
    engine: Engine | None = None
    try:
        warm = images.make(label + "-warm", WARM_UP_BYTES)
        made.append(warm)
        source = images.make(label, size)
        made.append(source)
        engine = Engine(
            cloud.auth_url, work, glance_download=path == "glance-download", perf=options.perf, src_dir=src_dir
        )
        run["code"] = engine.code
        engine.wait_ready()
        time.sleep(1.0)
        idle = engine.rss_kib()
        tenant = Tenant(cloud, engine)
        warmed = tenant.sync(warm["id"], targets, timeout=120)
        _adopt_copies(images, warmed["items"])
        if any(item["result"] != "created" for item in warmed["items"]):
            raise RuntimeError("the warm-up sync failed: %s" % _outcomes(warmed["items"]))
        time.sleep(0.5)
        warm_rss = engine.rss_kib()
        engine.reset_peak()
        cpu0, t0 = engine.cpu_seconds(), time.monotonic()
        job = tenant.sync(source["id"], targets, timeout=300 + size / MiB)
        t1 = time.monotonic()
        peak, cpu = engine.peak_kib(), engine.cpu_seconds() - cpu0
        _adopt_copies(images, job["items"])
        run.update(
            seconds=round(job["seconds"], 3),
            seen_seconds=round(job["seen_seconds"], 3),
            mib_per_s_per_target=round(size_mib / job["seconds"], 1) if job["seconds"] > 0 else None,
            results=_outcomes(job["items"]),
            attempts={item["target_region"]: item["attempts"] for item in job["items"]},
            rss_idle_mib=round(idle / 1024, 1),
            rss_warm_mib=round(warm_rss / 1024, 1),
            peak_mib=round(peak / 1024, 1),
            peak_above_idle_mib=round((peak - idle) / 1024, 1),
            peak_above_warm_mib=round((peak - warm_rss) / 1024, 1),
            engine_cpu_seconds=round(cpu, 2),
        )
        failed = {item["target_region"]: item["error"] for item in job["items"] if item["result"] != "created"}
        if failed:
            raise RuntimeError(f"the sync did not create every copy: {failed}")
        wrong = verify(cloud, source, {item["target_region"]: item["target_id"] for item in job["items"]})
        if wrong:
            raise RuntimeError("copies differ from the source: %s" % "; ".join(wrong))
        if path == "glance-download":
            run["glance_import_seconds"] = {item["target_region"]: import_seconds(cloud, item) for item in job["items"]}
        engine.stop()
        taken = paths_taken(engine.log, source["id"])
        run["paths_taken"] = taken
        if taken != {region: path for region in targets}:
            raise RuntimeError(f"the data took {taken}, not {path} to every target")
        if engine.perf_data is not None:
            counted = socket_bytes(engine.perf_data, engine.pid, t0, t1, options.source_port)
            run["bytes"] = counted
            run["source_read_x_size"] = round(counted["received_from_source"] / size, 4)
            run["source_read_x_size_per_target"] = round(counted["received_from_source"] / size / len(targets), 4)
            run["sent_x_size"] = round(counted["sent"] / size, 4)
    except Exception as exc:
        run["error"] = f"{type(exc).__name__}: {exc}"
        if engine is not None:
            run["log_tail"] = engine.tail()[-800:]
    finally:
        if engine is not None:
            engine.stop()
        for image in made:
            images.forget_all(image["id"])
    return run


def _adopt_copies(images: Images, items: list[dict[str, Any]]) -> None:
    for item in items:
        images.adopt(item["target_region"], item["target_id"])


def _outcomes(items: list[dict[str, Any]]) -> dict[str, str]:
    return {item["target_region"]: item["result"] for item in items}


def copy_body(source: dict[str, Any]) -> dict[str, Any]:
    """The plain copy's record: the source's name, formats, visibility, min_disk,
    min_ram, tags and user properties, under an id it names, as kingsync names
    the source's (a new uuid: glance does the same work for any free id)."""
    body = {key: value for key, value in source.items() if key not in _NOT_COPIED and not key.startswith("os_glance_")}
    body["id"] = str(uuid.uuid4())
    return body


def plain_run(options: Options, size_mib: int, targets: list[str], label: str) -> dict[str, Any]:
    """The same copy without kingsync, as the demo member: read the source's record,
    download its data to a temporary file, then create the record and upload the
    file in each target, one after the other. Timed from the first GET to the end
    of the last upload; the copies are checked afterwards, outside the time."""
    cloud, images = options.cloud, options.images
    run: dict[str, Any] = {"error": None}
    path = options.work / f"{label}.raw"
    source: dict[str, Any] | None = None
    try:
        source = images.make(label, size_mib * MiB)
        # Tokens, catalogs and version discovery first: the engine it is compared with is warm too.
        for region in [SOURCE, *targets]:
            cloud.member(region).image.get("/images?limit=1")
        copies: dict[str, str] = {}
        t0 = time.monotonic()
        record: dict[str, Any] = cloud.member(SOURCE).image.get(f"/images/{source['id']}").json()
        resp = cloud.member(SOURCE).image.get(f"/images/{source['id']}/file", stream=True)
        with path.open("wb") as out:
            for chunk in resp.iter_content(MiB):
                out.write(chunk)
        resp.close()
        t1 = time.monotonic()
        for region in targets:
            conn = cloud.member(region)
            made: dict[str, Any] = conn.image.post("/images", json=copy_body(record)).json()
            images.adopt(region, made["id"])
            copies[region] = made["id"]
            with path.open("rb") as data:
                up = conn.image.put(f"/images/{made['id']}/file", data=data, headers=OCTETS, raise_exc=False)
            if up.status_code != 204:
                raise RuntimeError(f"uploading to {region}: {up.status_code} {up.text[:300]}")
        t2 = time.monotonic()
        run.update(
            seconds=round(t2 - t0, 3),
            download_seconds=round(t1 - t0, 3),
            mib_per_s_per_target=round(size_mib / (t2 - t0), 1),
        )
        wrong = verify(cloud, source, copies)
        if wrong:
            raise RuntimeError("copies differ from the source: %s" % "; ".join(wrong))
    except Exception as exc:
        run["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        path.unlink(missing_ok=True)
        if source is not None:
            images.forget_all(source["id"])
    return run
