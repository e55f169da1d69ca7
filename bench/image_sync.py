"""What does an image sync cost? Time against a plain copy, bytes read from the source, engine memory.

Runs against the real devcloud (tools/devcloud/devcloud up): RegionOne is
the source, RegionTwo and RegionThree the targets (both offer the
glance-download import method, RegionOne does not). A case is an image size
(``--sizes``, MiB), a target count (``--targets``: RegionTwo, or both) and a
data path:

    glance-download  kingsync as it comes ([images] glance_download = true):
                     the target's glance pulls the data from the source's
    stream           [images] glance_download = false: the engine reads the
                     source's /file once and sends each chunk to every target

Each case is run ``--repeat`` times (``--repeat-at SIZE=N`` for one size),
and each time by every side, one after the other, in an order that rotates
from one repeat to the next:

    after   a fresh ``kingsync all-in-one`` (SQLite, generated config) of the
            tree under test (``--after SRC_DIR``, else the installed package)
            syncs a fresh source image through the API, after a 1 MiB warm-up
            sync by the same path
    before  the same, running the ``--before SRC_DIR`` tree (if given)
    plain   the same copy without kingsync, as the demo member (bench/image_runs.py)

A source tree runs by being first on the engine's PYTHONPATH; which file the
engine imports is checked before each start (bench/engine_process.py).
Source images are the demo member's, of pseudo-random data (shake_256 of a
counter, streamed), with a tag, a user property and minimums to copy.

What is measured (bench/engine_process.py says how):

- time: kingsync's, from the job's creation to the end of its last item
  (the items' created_at and updated_at), so that this script's looks at the
  job do not count; the plain copy's, from its first GET to the end of its
  last upload. MiB/s per target = size / median time; ratio = median plain
  time / median kingsync time (> 1: kingsync is faster).
- bytes: what the engine received (from the source glance's port, and in
  all) and sent over TCP during the job, counted by the kernel (perf).
- memory: the engine's RSS after startup ("idle") and after the warm-up
  ("warm"), and VmHWM over the job, reset after the warm-up.

Prints a markdown table of medians and ranges, PASS/FAIL lines for the
targets judged on each kingsync side (never an exit status), and a JSON line
with every run (``--json FILE`` writes it to a file too). Exit status: 0, 1
if a run could not be measured (its ``error``), 77 if the devcloud is not up.
Every image the run made is deleted in every region, also on failure or
Ctrl-C. KS_BENCH_DEBUG=true makes the engine log at debug level (it slows
the engine: not for figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import image_report
from devcloud import DEVCLOUD_HOME, SOURCE, TARGETS, Cloud, Images, devcloud_problem
from engine_process import code_run, perf_problem
from image_runs import Options, kingsync_run, plain_run

PATHS = ["glance-download", "stream"]
SKIPPED = 77  # automake's "skipped": the devcloud is not up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,64,256,1024", help="image sizes in MiB, comma-separated")
    parser.add_argument("--targets", default="1,2", help="target counts: 1 (RegionTwo), 2 (and RegionThree)")
    parser.add_argument("--paths", default=",".join(PATHS), help="data paths: glance-download, stream")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case by each side")
    parser.add_argument("--repeat-at", action="append", default=[], metavar="SIZE=N", help="N runs at SIZE MiB")
    parser.add_argument("--before", type=Path, metavar="SRC_DIR", help="a kingsync source tree to compare with")
    parser.add_argument("--after", type=Path, metavar="SRC_DIR", help="the tree under test (default: installed)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    counts = [int(count) for count in args.targets.split(",")]
    paths = [path.strip() for path in args.paths.split(",")]
    repeats = {size: args.repeat for size in sizes}
    for given in args.repeat_at:
        size, _, count = given.partition("=")
        repeats[int(size)] = int(count)
    if not set(counts) <= {1, 2} or not set(paths) <= set(PATHS) or min(sizes) < 1 or min(repeats.values()) < 1:
        parser.error("--targets takes 1 and 2, --paths glance-download and stream, --sizes whole MiB >= 1")
    trees = {"before": args.before, "after": args.after}
    sides = [side for side in ("before", "after") if side == "after" or args.before is not None] + ["plain"]

    problem = devcloud_problem()
    if problem is not None:
        print(f"image_sync: skipped: {problem}", file=sys.stderr)
        return SKIPPED
    try:
        code = {side: _code(trees[side]) for side in sides if side != "plain"}
    except RuntimeError as exc:  # a --before or --after that is no kingsync tree
        parser.error(str(exc))
    no_perf = perf_problem()
    cloud = Cloud(DEVCLOUD_HOME / "clouds.yaml")
    images = Images(cloud, "ks-bench-" + uuid.uuid4().hex[:8])
    report: dict[str, Any] = {
        "benchmark": "image_sync",
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "cpu": _cpu_model(),
            "network": "loopback (every service on 127.0.0.1)",
        },
        "sizes_mib": sizes,
        "target_counts": counts,
        "paths": paths,
        "repeats": repeats,
        "sides": sides,
        "code": code,
        "source": SOURCE,
        "targets": {str(count): TARGETS[:count] for count in counts},
        "perf": no_perf is None,
        "bytes_measured_by": no_perf
        or "perf: sock_recv_length / sock_send_length of the engine process during the job",
        "time": "kingsync: first item created to last item ended; plain: first GET to last upload's end",
        "runs": [],
    }
    started = time.monotonic()
    # Ctrl-C or a kill ends in the cleanup below, not in the middle of nowhere.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        if "glance-download" in paths:
            missing = [
                region for region in TARGETS[: max(counts)] if "glance-download" not in cloud.import_methods(region)
            ]
            if missing:
                raise SystemExit("%s does not offer glance-download (GET /v2/info/import)" % ", ".join(missing))
        with tempfile.TemporaryDirectory(prefix="ks-bench-image-") as tmp:
            options = Options(cloud, images, Path(tmp), perf=no_perf is None, source_port=cloud.glance_port(SOURCE))
            for size_mib in sizes:
                for count in counts:
                    for path in paths:
                        for repeat in range(repeats[size_mib]):
                            # The order rotates, so that no side always runs in the same place.
                            turn = repeat % len(sides)
                            for side in sides[turn:] + sides[:turn]:
                                report["runs"].append(
                                    _run(options, size_mib, path, TARGETS[:count], side, repeat, trees)
                                )
    finally:
        left = images.cleanup()
        cloud.close()
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    report["cleanup_failures"] = left
    report["cases"] = image_report.cases(report["runs"], sides)
    report["checks"] = {side: image_report.checks(report, side) for side in sides if side != "plain"}
    image_report.print_table(report)
    print("wall time %.0f s" % report["wall_seconds"])
    if left:
        print("could not delete: %s" % "; ".join(left))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 1 if any(run["error"] for run in report["runs"]) or left else 0


def _run(
    options: Options, size_mib: int, path: str, targets: list[str], side: str, repeat: int, trees: dict[str, Any]
) -> dict[str, Any]:
    label = f"{size_mib}m-{path}-{len(targets)}t-{side}-{repeat}"
    run: dict[str, Any] = {"size_mib": size_mib, "path": path, "targets": targets, "side": side, "repeat": repeat}
    run["started"] = time.strftime("%H:%M:%S")
    if side == "plain":
        run.update(plain_run(options, size_mib, targets, label))
    else:
        run.update(kingsync_run(options, size_mib, path, targets, trees[side], label))
    print("  %s: %s" % (label, run["error"] or "%.2f s" % run["seconds"]), file=sys.stderr, flush=True)
    return run


def _code(src_dir: Path | None) -> dict[str, Any]:
    """Which kingsync a side runs: the file, the tree's commit, whether kingsync/ differs from it."""
    file = code_run(src_dir)
    tree = Path(file).resolve().parents[2]
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    # --no-optional-locks: only look, never refresh the index of a tree someone works in.
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(tree), "diff", "--quiet", "HEAD", "--", "kingsync"], check=False
    )
    return {"file": file, "commit": commit.stdout.strip() or None, "kingsync_changed": dirty.returncode == 1}


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


if __name__ == "__main__":
    sys.exit(main())
