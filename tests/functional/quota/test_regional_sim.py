"""kingsync's regional quota client when a region misbehaves, on the
simulator (its faults cannot be staged on the real devcloud without
disturbing everyone using it): regions down, failing or slow, services
missing from the catalog, and the calls that actually reach a region.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import openstack.connection
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from kingsync.quota.model import RegionError, ServiceQuota
from kingsync.quota.regional import OpenStackQuotas
from kingsync.sim.client import SimControl
from kingsync.sim.cloud import SimCloud
from tests.functional.quota.service_user import SERVICE_AUTH, kingsync_regions

REGION = "RegionTwo"
SERVICES = ("nova", "neutron", "cinder")
FIRST_KEY = {"nova": "cores", "neutron": "network", "cinder": "volumes"}


@pytest.fixture
def control(fresh_sim: SimCloud) -> SimControl:
    return SimControl(fresh_sim.auth_url)


@pytest.fixture
def quotas(fresh_sim: SimCloud) -> Iterator[OpenStackQuotas]:
    with kingsync_regions(fresh_sim.auth_url):
        yield OpenStackQuotas()


@pytest.fixture
def project_id(control: SimControl) -> str:
    (created,) = control.create_projects(1, prefix="quota")
    return created


def failure(call: Callable[[], Any]) -> RegionError:
    with pytest.raises(RegionError) as caught:
        call()
    return caught.value


def calls(control: SimControl, region: str) -> dict[str, int]:
    return {name: count for name, count in control.stats()[region].items() if count}


def test_usage_of_servers_counts_and_guards_cores(
    quotas: OpenStackQuotas, control: SimControl, project_id: str
) -> None:
    control.set_usage(REGION, project_id, compute={"instances": 2, "cores": 8, "ram": 4096})
    read = quotas.read(REGION, "nova", project_id)
    assert (read.usage["instances"], read.usage["cores"], read.usage["ram"]) == (2, 8, 4096)
    error = failure(lambda: quotas.write(REGION, "nova", project_id, {"cores": 4}))
    assert error.refused
    assert error.message == "Quota limit 4 for cores must be greater than or equal to already used and reserved 8."
    assert quotas.write(REGION, "nova", project_id, {"cores": 8})["cores"] == 8


def test_each_read_and_write_is_one_request(quotas: OpenStackQuotas, control: SimControl, project_id: str) -> None:
    for service in SERVICES:  # the first use of a proxy discovers the service's versions
        quotas.read(REGION, service, project_id)
    control.reset_stats()
    for service in SERVICES:
        quotas.read(REGION, service, project_id)
        quotas.write(REGION, service, project_id, {FIRST_KEY[service]: 3})
    assert calls(control, REGION) == {
        "compute GET": 1,
        "compute PUT": 1,
        "network GET": 1,
        "network PUT": 1,
        "volume GET": 1,
        "volume PUT": 1,
    }


@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_region_is_not_a_refusal_and_is_not_retried(
    quotas: OpenStackQuotas, control: SimControl, project_id: str, status: int
) -> None:
    for service in SERVICES:
        quotas.read(REGION, service, project_id)
    control.set_faults(REGION, error_rate=1.0, error_status=status)
    control.reset_stats()
    for service in SERVICES:
        error = failure(functools.partial(quotas.write, REGION, service, project_id, {FIRST_KEY[service]: 3}))
        assert (error.refused, error.message) == (False, "HTTP %d: injected fault in %s" % (status, REGION))
        assert not failure(functools.partial(quotas.read, REGION, service, project_id)).refused
    answered = ("compute GET", "compute PUT", "network GET", "network PUT", "volume GET", "volume PUT")
    assert calls(control, REGION) == dict.fromkeys(answered, 1)
    control.clear_faults(REGION)
    assert quotas.read(REGION, "nova", project_id).limits["cores"] == 20


def test_a_region_down_from_the_start_fails_fast_and_recovers(
    quotas: OpenStackQuotas, control: SimControl, project_id: str
) -> None:
    """Down before kingsync ever reached it (no version discovery done yet);
    the shared Connection works again once the region is back."""
    control.set_faults(REGION, down=True)
    started = time.monotonic()
    for service in SERVICES:
        error = failure(functools.partial(quotas.read, REGION, service, project_id))
        assert (error.region, error.service, error.refused) == (REGION, service, False)
        assert error.message.startswith("ConnectFailure: Unable to establish connection")
        write = functools.partial(quotas.write, REGION, service, project_id, {FIRST_KEY[service]: 1})
        assert not failure(write).refused
    assert time.monotonic() - started < 2
    assert quotas.read("RegionOne", "nova", project_id).limits["cores"] == 20
    control.clear_faults(REGION)
    for service in SERVICES:
        assert quotas.write(REGION, service, project_id, {FIRST_KEY[service]: 1})[FIRST_KEY[service]] == 1


def test_a_slow_region_fails_after_the_configured_timeout(fresh_sim: SimCloud, control: SimControl) -> None:
    (project_id,) = control.create_projects(1, prefix="slow")
    with kingsync_regions(fresh_sim.auth_url, timeout=0.5):
        quotas = OpenStackQuotas()
        quotas.read(REGION, "nova", project_id)  # token and discovery while the region is quick
        control.set_faults(REGION, latency_ms=5000)
        started = time.monotonic()
        error = failure(lambda: quotas.write(REGION, "nova", project_id, {"cores": 3}))
        took = time.monotonic() - started
    assert not error.refused and error.message.startswith("ConnectTimeout:")
    assert 0.4 < took < 2


# -- catalogs -------------------------------------------------------------------------------


class CatalogWithout(v3.Password):
    """kingsync's login, with some (region, service type) endpoints taken out
    of the catalog, as in a cloud where a region has no such service."""

    def __init__(self, hidden: set[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = hidden

    def get_auth_ref(self, session: ks_session.Session, **kwargs: Any) -> Any:
        access = super().get_auth_ref(session, **kwargs)
        # The catalog is parsed on first use: edit the token body before that.
        for service in access._data["token"]["catalog"]:
            service["endpoints"] = [
                e for e in service["endpoints"] if (e["region_id"], service["type"]) not in self.hidden
            ]
        return access


def without(sim: SimCloud, hidden: set[tuple[str, str]]) -> OpenStackQuotas:
    options = {k: v for k, v in SERVICE_AUTH.items() if k != "auth_type"}
    session = ks_session.Session(auth=CatalogWithout(hidden, auth_url=sim.auth_url, **options), timeout=5)
    connections: dict[str, openstack.connection.Connection] = {}

    def connect(region: str) -> openstack.connection.Connection:
        if region not in connections:
            connections[region] = openstack.connection.Connection(session=session, region_name=region)
        return connections[region]

    return OpenStackQuotas(connect)


def test_a_region_without_cinder_or_neutron_has_no_such_quotas(fresh_sim: SimCloud, project_id: str) -> None:
    hidden = {(REGION, "block-storage"), (REGION, "volumev3"), (REGION, "network")}
    quotas = without(fresh_sim, hidden)
    for service in ("neutron", "cinder"):
        assert quotas.read(REGION, service, project_id) == ServiceQuota({}, {})
        assert quotas.write(REGION, service, project_id, {FIRST_KEY[service]: 3}) == {}
        assert quotas.read("RegionOne", service, project_id).limits[FIRST_KEY[service]] > 3
    assert quotas.read(REGION, "nova", project_id).limits["cores"] == 20


def test_a_region_without_compute_fails_for_nova(fresh_sim: SimCloud, project_id: str) -> None:
    """No compute, no kingsync region (kingsync.regions): not an empty answer."""
    quotas = without(fresh_sim, {(REGION, "compute")})
    error = failure(lambda: quotas.read(REGION, "nova", project_id))
    assert not error.refused and error.message.startswith("ServiceDisabledException:")
    assert quotas.read(REGION, "neutron", project_id).limits["network"] == 100


def test_a_region_the_catalog_does_not_list_is_not_a_refusal(quotas: OpenStackQuotas, project_id: str) -> None:
    error = failure(lambda: quotas.read("RegionNine", "nova", project_id))
    assert not error.refused
    assert error.message == (
        "UnknownRegion: unknown region RegionNine; the regions are: RegionOne, RegionThree, RegionTwo"
    )
