"""The benchmarks still run and report what they claim (tiny sizes, no figures judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sim_throughput_reports_both_cases_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(TOP / "bench" / "sim_throughput.py"),
            "--seconds",
            "0.5",
            "--projects",
            "50",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    report = json.loads(out.read_text())
    assert report["large"]["projects"] == report["small"]["projects"] + 50
    for case in ("small", "large"):
        assert report[case]["requests"] > 0
        assert report[case]["errors"] == 0


@pytest.mark.slow
def test_quota_reconcile_reports_its_three_cycles(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(TOP / "bench" / "quota_reconcile.py"), "--quick", "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    cycles = report["cycles"]
    assert list(cycles) == ["1 setup", "2 steady", "3 usage changed"]
    for cycle in cycles.values():
        assert cycle["statuses"] == {"ok": report["projects"]}
        assert cycle["bound_seconds"] > 0 and cycle["seconds"] > 0
    # One read per service per region per project, and in steady state nothing else.
    assert cycles["2 steady"]["reads_per_project_region"] == 3
    assert cycles["2 steady"]["writes_per_project_region"] == 0
    assert cycles["1 setup"]["writes_per_project_region"] > 0
