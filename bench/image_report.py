"""The image benchmark's report: every run summed up per case (median and range
of each side), the four targets judged on the tree under test, the table."""

from __future__ import annotations

import statistics
from typing import Any

from devcloud import SOURCE, TARGETS

KINGSYNC_SIDES = ("before", "after")  # the --before tree, the tree under test


def summarise(runs: list[dict[str, Any]], size_mib: int) -> dict[str, Any]:
    """One side of one case over its repeats: medians, ranges, worst cases."""
    good = [run for run in runs if run["error"] is None]
    found: dict[str, Any] = {"runs": len(runs), "errors": [run["error"] for run in runs if run["error"]]}
    if not good:
        return found
    seconds = [run["seconds"] for run in good]
    found["seconds"] = _spread(seconds)
    found["mib_per_s_per_target"] = round(size_mib / statistics.median(seconds), 1)
    if "download_seconds" in good[0]:
        found["download_seconds"] = _spread([run["download_seconds"] for run in good])
        return found
    found["engine_cpu_seconds"] = _spread([run["engine_cpu_seconds"] for run in good])
    for key in ("peak_mib", "peak_above_idle_mib", "peak_above_warm_mib"):
        found[key] = max(run[key] for run in good)  # the worst run: a bound is what is asked
    found["rss_idle_mib"] = statistics.median(run["rss_idle_mib"] for run in good)
    counted = [run for run in good if "bytes" in run]
    if counted:
        for key in ("source_read_x_size", "source_read_x_size_per_target", "sent_x_size"):
            found[key] = _spread([run[key] for run in counted])
        found["received_from_source_max"] = max(run["bytes"]["received_from_source"] for run in counted)
    imports = [max(filter(None, run.get("glance_import_seconds", {}).values()), default=None) for run in good]
    if any(seconds is not None for seconds in imports):
        found["glance_import_seconds"] = _spread([seconds for seconds in imports if seconds is not None])
    return found


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "min": min(values), "max": max(values)}


def cases(runs: list[dict[str, Any]], sides: list[str]) -> list[dict[str, Any]]:
    """Each (size, path, targets) with each side summed up, and each kingsync side's
    ratio = median plain time / its median time (above 1: kingsync is faster)."""
    keys: list[tuple[int, str, int]] = []
    for run in runs:
        key = (run["size_mib"], run["path"], len(run["targets"]))
        if key not in keys:
            keys.append(key)
    found = []
    for size_mib, path, count in keys:
        mine = [run for run in runs if (run["size_mib"], run["path"], len(run["targets"])) == (size_mib, path, count)]
        case: dict[str, Any] = {"size_mib": size_mib, "path": path, "targets": TARGETS[:count], "sides": {}}
        for side in sides:
            case["sides"][side] = summarise([run for run in mine if run["side"] == side], size_mib)
        plain = case["sides"]["plain"].get("seconds")
        case["ratio"] = {
            side: round(plain["median"] / case["sides"][side]["seconds"]["median"], 3)
            for side in sides
            if side != "plain" and plain is not None and "seconds" in case["sides"][side]
        }
        case["errors"] = [f"{side}: {error}" for side in sides for error in case["sides"][side]["errors"]]
        found.append(case)
    return found


def checks(report: dict[str, Any], side: str) -> list[tuple[str, bool | None, str]]:
    """The targets, judged on ``side``'s runs: (what, passed (None: not measured), the figures)."""
    runs = [run for run in report["runs"] if run["side"] == side and run["error"] is None]
    largest = max(report["sizes_mib"])
    found: list[tuple[str, bool | None, str]] = []

    at = [run for run in runs if run["size_mib"] == largest]
    worst = max((run["peak_above_idle_mib"] for run in at), default=None)
    by_case = _by_case([run for run in at], lambda run: run["peak_above_idle_mib"])
    found.append(
        (
            f"engine peak memory under 64 MiB above idle at {largest} MiB",
            None if worst is None else worst < 64,
            ", ".join(f"{name} {_range(values)} MiB" for name, values in by_case.items()) or "no run measured",
        )
    )

    def unmeasured(what: str) -> str:
        return "bytes not counted: " + report["bytes_measured_by"] if report["perf"] is False else f"no {what} ran"

    counted = [run for run in runs if "bytes" in run]
    twice = [run for run in counted if run["path"] == "stream" and len(run["targets"]) == 2]
    found.append(
        (
            "stream: the source read once for two targets (bytes read 0.9-1.1 x the image)",
            all(0.9 <= run["source_read_x_size"] <= 1.1 for run in twice) if twice else None,
            ", ".join(
                f"{name} {_range(values)}x"
                for name, values in _by_case(twice, lambda r: r["source_read_x_size"]).items()
            )
            or unmeasured("stream run to two targets"),
        )
    )
    stream = [case for case in report["cases"] if case["path"] == "stream" and side in case["ratio"]]
    found.append(
        (
            "stream at least as fast as the plain copy (median ratio >= 1.0)",
            all(case["ratio"][side] >= 1.0 for case in stream) if stream else None,
            ", ".join(f"{_name(case)} {case['ratio'][side]}" for case in stream) or "no case measured",
        )
    )
    pulled = [run for run in counted if run["path"] == "glance-download"]
    found.append(
        (
            "glance-download: no image bytes through the engine (read from the source < 1 % of the image)",
            all(run["source_read_x_size"] < 0.01 for run in pulled) if pulled else None,
            ", ".join(
                f"{name} {_range(values)} B"
                for name, values in _by_case(pulled, lambda r: r["bytes"]["received_from_source"]).items()
            )
            or unmeasured("glance-download run"),
        )
    )
    return found


def _by_case(runs: list[dict[str, Any]], figure: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for run in runs:
        found.setdefault(_name(run), []).append(figure(run))
    return found


def _range(values: list[Any]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def _name(case: dict[str, Any]) -> str:
    return f"{case['size_mib']} MiB {case['path']} x{len(case['targets'])}"


def print_table(report: dict[str, Any]) -> None:
    """A markdown table, one row per case: each side's median time [min-max], ratios, bytes, memory, CPU."""
    sides = report["sides"]
    kingsync = [side for side in KINGSYNC_SIDES if side in sides]
    print(
        "%d CPUs, %s; source %s, targets %s; repeats %s; bytes: %s"
        % (
            report["machine"]["cpus"],
            report["machine"]["kernel"],
            SOURCE,
            ", ".join(TARGETS),
            ", ".join(f"{size} MiB x{count}" for size, count in report["repeats"].items()),
            report["bytes_measured_by"],
        )
    )
    for side in kingsync:
        code = report["code"][side]
        changed = ", kingsync/ changed since" if code["kingsync_changed"] else ""
        print(f"{side}: {code['file']} (commit {(code['commit'] or '?')[:7]}{changed})")
    head = ["MiB", "path", "tgts"]
    head += [f"{side} s" for side in sides]
    head += [f"ratio {side}" for side in kingsync]
    head += [f"MiB/s/tgt {side}" for side in sides]
    head += ["src read x", "sent x"]
    head += [f"peak-idle MiB {side}" for side in kingsync]
    head += [f"cpu s {side}" for side in kingsync]
    head += ["import s"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for case in report["cases"]:
        got = case["sides"]
        last = got[kingsync[-1]]
        row = [str(case["size_mib"]), case["path"], str(len(case["targets"]))]
        row += [_spread_text(got[side].get("seconds"), "%.2f") for side in sides]
        row += [_fmt(case["ratio"].get(side), "%.2f") for side in kingsync]
        row += [_fmt(got[side].get("mib_per_s_per_target"), "%.1f") for side in sides]
        row += [_spread_text(last.get("source_read_x_size"), "%.3f"), _spread_text(last.get("sent_x_size"), "%.3f")]
        row += [_fmt(got[side].get("peak_above_idle_mib"), "%.1f") for side in kingsync]
        row += [_fmt((got[side].get("engine_cpu_seconds") or {}).get("median"), "%.2f") for side in kingsync]
        row += [_spread_text(last.get("glance_import_seconds"), "%d")]
        print("| " + " | ".join(row) + " |")
    for case in report["cases"]:
        for error in case["errors"]:
            print(f"error: {_name(case)}: {error}")
    for side, found in report["checks"].items():
        for what, passed, figures in found:
            verdict = "NOT MEASURED" if passed is None else "PASS" if passed else "FAIL"
            print(f"{verdict} ({side})  {what}: {figures}")


def _spread_text(spread: dict[str, float] | None, pattern: str) -> str:
    if spread is None:
        return "-"
    low, high = pattern % spread["min"], pattern % spread["max"]
    middle = pattern % spread["median"]
    return middle if low == high else f"{middle} [{low}-{high}]"


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern % value
