"""Latency and faults, set per region at run time through the control API."""

from __future__ import annotations

import time

import pytest
import requests

from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud


def _control(cloud: SimCloud) -> SimControl:
    return SimControl(cloud.auth_url)


def _probe(cloud: SimCloud, region: str, session: requests.Session | None = None, timeout: float = 5) -> int:
    """Status of an unauthenticated request to a region (any answer counts)."""
    http = session or requests
    return http.get(cloud.regions[region].url + "/compute/", timeout=timeout).status_code


def test_latency_applies_to_one_region_only(fresh_sim: SimCloud) -> None:
    _control(fresh_sim).set_faults("RegionTwo", latency_ms=300)
    start = time.monotonic()
    _probe(fresh_sim, "RegionTwo")
    slow = time.monotonic() - start
    start = time.monotonic()
    _probe(fresh_sim, "RegionOne")
    fast = time.monotonic() - start
    assert slow >= 0.3
    assert fast < 0.2


def test_jitter_varies_latency_within_bounds(fresh_sim: SimCloud) -> None:
    _control(fresh_sim).set_faults("RegionOne", latency_ms=20, jitter_ms=200)
    times = []
    for _ in range(8):
        start = time.monotonic()
        _probe(fresh_sim, "RegionOne")
        times.append(time.monotonic() - start)
    assert min(times) >= 0.02
    assert max(times) < 0.5
    assert max(times) - min(times) > 0.02


def test_down_region_refuses_connections_and_comes_back(fresh_sim: SimCloud) -> None:
    control = _control(fresh_sim)
    session = requests.Session()
    assert _probe(fresh_sim, "RegionThree", session) < 500
    control.set_faults("RegionThree", down=True)
    with pytest.raises(requests.ConnectionError):
        _probe(fresh_sim, "RegionThree", session)  # the kept-alive connection is dropped
    with pytest.raises(requests.ConnectionError):
        _probe(fresh_sim, "RegionThree")  # and new connections are refused
    assert _probe(fresh_sim, "RegionOne") < 500
    control.clear_faults("RegionThree")
    assert _probe(fresh_sim, "RegionThree") < 500


def test_error_rate_one_answers_every_request_with_the_chosen_5xx(fresh_sim: SimCloud) -> None:
    _control(fresh_sim).set_faults("RegionOne", error_rate=1.0, error_status=500)
    assert {_probe(fresh_sim, "RegionOne") for _ in range(5)} == {500}
    assert _probe(fresh_sim, "RegionTwo") < 500


def test_partial_error_rate_fails_some_requests(fresh_sim: SimCloud) -> None:
    _control(fresh_sim).set_faults("RegionOne", error_rate=0.5)
    statuses = [_probe(fresh_sim, "RegionOne") for _ in range(60)]
    failed = statuses.count(503)
    assert 10 < failed < 50


def test_timeout_fault_holds_the_request_until_the_client_gives_up(fresh_sim: SimCloud) -> None:
    _control(fresh_sim).set_faults("RegionTwo", timeout_rate=1.0, timeout_s=5)
    with pytest.raises(requests.Timeout):
        _probe(fresh_sim, "RegionTwo", timeout=0.5)
    assert _probe(fresh_sim, "RegionOne") < 500


def test_clearing_faults_restores_a_healthy_region(fresh_sim: SimCloud) -> None:
    control = _control(fresh_sim)
    control.set_faults("RegionOne", latency_ms=500, error_rate=1.0)
    control.clear_faults("RegionOne")
    start = time.monotonic()
    assert _probe(fresh_sim, "RegionOne") < 500
    assert time.monotonic() - start < 0.3


@pytest.mark.parametrize(
    "body",
    [{"latency_ms": -1}, {"error_rate": 2}, {"error_status": 404}, {"down": "yes"}, {"bogus": 1}],
)
def test_bad_fault_settings_are_refused_with_a_message(fresh_sim: SimCloud, body: dict[str, object]) -> None:
    resp = requests.put(SimControl(fresh_sim.auth_url).root + "/regions/RegionOne/faults", json=body, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"]
    region = SimControl(fresh_sim.auth_url).regions()[0]
    assert region["faults"]["latency_ms"] == 0 and region["faults"]["down"] is False


def test_unknown_region_is_404(fresh_sim: SimCloud) -> None:
    resp = requests.put(SimControl(fresh_sim.auth_url).root + "/regions/Nowhere/faults", json={}, timeout=5)
    assert resp.status_code == 404
    assert "RegionOne" in resp.json()["error"]["message"]


def test_requests_are_counted_per_region_and_service(fresh_sim: SimCloud) -> None:
    control = _control(fresh_sim)
    control.reset_stats()
    for _ in range(3):
        _probe(fresh_sim, "RegionTwo")
    stats = control.stats()
    assert stats["RegionTwo"] == {"compute GET": 3}
    assert stats["RegionOne"] == {}
