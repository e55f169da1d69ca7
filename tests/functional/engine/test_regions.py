"""kingsync.regions against the simulator: region names, connections, credentials, timeouts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import openstack.connection
import pytest
import yaml
from keystoneauth1 import exceptions as ks_exceptions

from kingsync import regions
from tests.functional.engine.conftest import SERVICE_AUTH, Env


def test_the_regions_are_those_of_the_catalog_with_compute_sorted(env: Env) -> None:
    assert regions.names() == ["RegionOne", "RegionThree", "RegionTwo"]


def test_configured_region_names_win_over_the_catalog(env: Env) -> None:
    env.overrides.set("regions", names=["RegionThree", "RegionOne"])
    assert regions.names() == ["RegionThree", "RegionOne"]
    with pytest.raises(regions.UnknownRegion):
        regions.connection("RegionTwo")


def test_an_unknown_region_is_refused_with_the_known_ones_named(env: Env) -> None:
    with pytest.raises(regions.UnknownRegion) as refused:
        regions.connection("RegionNine")
    assert str(refused.value) == "unknown region RegionNine; the regions are: RegionOne, RegionThree, RegionTwo"


def test_a_connection_talks_to_its_own_region_as_kingsync(env: Env) -> None:
    conn = regions.connection("RegionTwo")
    port = env.cloud.regions["RegionTwo"].port
    assert f":{port}/" in conn.compute.get_endpoint()
    assert conn.current_user_id == env.admin("RegionOne").identity.find_user("kingsync", ignore_missing=False).id


def test_threads_asking_together_share_one_connection_per_region(env: Env) -> None:
    got: list[openstack.connection.Connection] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(regions.connection("RegionThree"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(conn) for conn in got}) == 1


def test_every_call_gives_up_after_the_configured_timeout(fresh_env: Env) -> None:
    fresh_env.overrides.set("regions", timeout=1)
    conn = regions.connection("RegionTwo")
    conn.compute.get_endpoint()  # discovered while the region answers
    fresh_env.control.set_faults("RegionTwo", timeout_rate=1.0, timeout_s=30)

    started = time.monotonic()
    with pytest.raises(ks_exceptions.ConnectTimeout):
        conn.compute.get_keypair("anything", user_id=fresh_env.demo_user_id)
    assert time.monotonic() - started < 5


def test_credentials_can_come_from_a_clouds_yaml_cloud(env: Env, tmp_path: Path) -> None:
    auth = {k: v for k, v in SERVICE_AUTH.items() if k != "auth_type"}
    clouds = {"clouds": {"kingsync-service": {"auth": {**auth, "auth_url": env.cloud.auth_url}}}}
    path = tmp_path / "service-clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    env.overrides.set("regions", auth_type=None, cloud="kingsync-service", clouds_yaml=str(path))
    regions.reset()

    assert regions.names() == ["RegionOne", "RegionThree", "RegionTwo"]
    assert regions.connection("RegionTwo").compute.get_endpoint() == env.admin("RegionTwo").compute.get_endpoint()


def test_no_credentials_at_all_is_a_clear_error(env: Env) -> None:
    env.overrides.set("regions", auth_type=None)
    regions.reset()
    with pytest.raises(regions.CredentialsMissing, match=r"\[regions\] auth_type"):
        regions.names()
