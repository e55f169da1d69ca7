"""One region's quota APIs: a project's limits and usage in nova, neutron and
cinder, read and written over HTTP.

Every read and every write is ONE call to one service, raw REST through the
region's openstacksdk proxies (keystoneauth adapters holding the region's
endpoint and kingsync's token), with the services' own wire names, which are
the names of kingsync.quota.resources. The SDK's quota resources are not
used: they rename keys (neutron's ``network`` is ``networks``), keep usage
apart from limits and hide cinder's per volume type keys among unknown
attributes. Usage comes from the quota APIs themselves; the one collection
ever listed is a project's security groups, and only to count kingsync's
copies of them once (kingsync.quota.copies), for a project that has copies
on record, in the regions its copies are in.

    nova     GET /os-quota-sets/{p}/detail       {"limit", "in_use", "reserved"}
             PUT /os-quota-sets/{p}              {"quota_set": {...}}
    neutron  GET /v2.0/quotas/{p}/details        {"limit", "used", "reserved"}
             PUT /v2.0/quotas/{p}                {"quota": {...}}
             GET /v2.0/security-groups?project_id={p}   groups, rules embedded
    cinder   GET /os-quota-sets/{p}?usage=True   {"limit", "in_use", "reserved"}
             PUT /os-quota-sets/{p}              {"quota_set": {...}}

Usage is in_use (used) plus reserved: what the service counts against the
limit. ``force`` is never sent: a limit below usage must be refused, not
stored (see the invariant in kingsync.quota.model).

Nova is called at microversion 2.56, the last one that shows every quota nova
still enforces: 2.36 dropped the nova-network keys (floating_ips, fixed_ips,
security_groups, security_group_rules; not enforced since, and kingsync
ignores them), and 2.57 dropped the injected_file* keys, which nova still
enforces for servers created at older microversions. Nova's schema refuses
any other key at 2.56, so write() refuses it before calling.

Errors are RegionError. ``refused`` when the service answered 4xx: it said no
(below usage, bad key, unknown project) and wrote nothing; the message is the
service's own text. Otherwise (no connection, timeout, 5xx, a token that
could not be had, no endpoint) it is not refused, and a write may or may not
have happened. Neither openstacksdk nor keystoneauth retries: the engine
decides when to try again, and [regions] timeout (the shared Session's
timeout) bounds every call.

A region whose catalog has no endpoint of neutron or cinder (a region
without networking or block storage) has no quotas of that service: read()
answers ServiceQuota({}, {}) and write() writes nothing and answers {}. A
region without compute is not a kingsync region at all
(kingsync.regions.CATALOG_SERVICE), so there, as for any region missing from
the catalog, the call fails and is not refused.

OpenStackQuotas holds no state of its own; the engine calls it from many
threads, sharing the per-region Connections and their one Session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any
from urllib import parse

import openstack.connection
import requests
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.identity import base as identity_base
from openstack import exceptions as sdk_exceptions
from oslo_log import log as logging

from kingsync import regions
from kingsync.quota.model import RegionError, ServiceQuota
from kingsync.quota.resources import CINDER, NEUTRON, NOVA
from kingsync.regions import rest

LOG = logging.getLogger(__name__)

NOVA_MICROVERSION = "2.56"

# What nova's quota-set schema accepts at NOVA_MICROVERSION.
NOVA_KEYS = frozenset(
    {
        "instances",
        "cores",
        "ram",
        "metadata_items",
        "key_pairs",
        "injected_files",
        "injected_file_content_bytes",
        "injected_file_path_bytes",
        "server_groups",
        "server_group_members",
    }
)


@dataclasses.dataclass(frozen=True)
class _Api:
    proxy: str  # the Connection attribute
    service_type: str  # as in the catalog (aliases match too)
    detail: str  # the read path, %s for the project
    quota: str  # the write path
    wrapper: str  # the JSON body's top-level key
    counted: tuple[str, ...]  # the fields of a read entry that add up to usage
    microversion: str | None = None


_APIS = {
    NOVA: _Api(
        "compute",
        "compute",
        "/os-quota-sets/%s/detail",
        "/os-quota-sets/%s",
        "quota_set",
        ("in_use", "reserved"),
        NOVA_MICROVERSION,
    ),
    # The catalog lists neutron's unversioned root; the network proxy's
    # endpoint is the /v2.0 one that version discovery finds there.
    NEUTRON: _Api("network", "network", "/quotas/%s/details", "/quotas/%s", "quota", ("used", "reserved")),
    # Releases with the nested quota driver also answered "allocated": not usage.
    CINDER: _Api(
        "block_storage",
        "block-storage",
        "/os-quota-sets/%s?usage=True",
        "/os-quota-sets/%s",
        "quota_set",
        ("in_use", "reserved"),
    ),
}

Json = dict[str, Any]

# Raised on the way to an answer (kingsync's token, the catalog, the
# connection): the service never said no.
_UNREACHED = (
    ks_exceptions.ClientException,
    sdk_exceptions.SDKException,
    requests.RequestException,
    regions.UnknownRegion,
    regions.CredentialsMissing,
    OSError,
)
_NO_ENDPOINT = (
    ks_exceptions.EndpointNotFound,
    sdk_exceptions.EndpointNotFound,
    # openstacksdk's stand-in proxy for a service missing from the catalog
    sdk_exceptions.ServiceDisabledException,
)


class OpenStackQuotas:
    """The QuotaClient of the engine (kingsync.quota.apply) for real regions."""

    def __init__(self, connect: Callable[[str], openstack.connection.Connection] = regions.connection) -> None:
        self._connect = connect

    def read(self, region: str, service: str, project_id: str) -> ServiceQuota:
        api = _api(service)
        body = self._call(region, service, api, "GET", api.detail % _quoted(project_id))
        if body is None:
            return ServiceQuota({}, {})
        limits: dict[str, int] = {}
        usage: dict[str, int] = {}
        for key, entry in _entries(body, api, region, service).items():
            # Skips "id" and anything else that is not a quota.
            if not isinstance(entry, dict) or "limit" not in entry:
                continue
            try:
                limits[key] = int(entry["limit"])
                usage[key] = sum(int(entry.get(field) or 0) for field in api.counted)
            except (TypeError, ValueError) as exc:
                raise RegionError(region, service, "%s is not a number in %r" % (key, entry)) from exc
        return ServiceQuota(limits, usage)

    def write(self, region: str, service: str, project_id: str, limits: Mapping[str, int]) -> Mapping[str, int]:
        """Set ``limits`` in one call; the answer is every limit of the
        project as the service stored and re-read it."""
        api = _api(service)
        if service == NOVA and not NOVA_KEYS.issuperset(limits):
            raise ValueError(
                "nova does not take %s at microversion %s"
                % (", ".join(sorted(set(limits) - NOVA_KEYS)), NOVA_MICROVERSION)
            )
        if not limits:
            return {}
        body = self._call(region, service, api, "PUT", api.quota % _quoted(project_id), {api.wrapper: dict(limits)})
        if body is None:
            return {}
        return {
            key: value
            for key, value in _entries(body, api, region, service).items()
            if isinstance(value, int) and not isinstance(value, bool)
        }

    def groups(self, region: str, project_id: str) -> list[Json]:
        """The project's security groups in ``region``, rules embedded, as
        neutron lists them to an admin; [] where the region has no neutron.

        Neutron makes the project's default group on this call if it has
        none; the engine lists only regions its copies are in, which hold
        it already. A page limit on the server (neutron's
        pagination_max_limit, unset by default) would show only the first
        page: fewer groups, so fewer copies counted once, the safe side.
        """
        api = _api(NEUTRON)
        body = self._call(region, NEUTRON, api, "GET", "/security-groups?project_id=%s" % _quoted(project_id))
        if body is None:
            return []
        found = body.get("security_groups") if isinstance(body, dict) else None
        if not isinstance(found, list) or not all(isinstance(g, dict) and isinstance(g.get("id"), str) for g in found):
            raise RegionError(region, NEUTRON, "the answer has no list of security groups with ids")
        return found

    def _call(self, region: str, service: str, api: _Api, method: str, path: str, body: Json | None = None) -> Any:
        """The JSON answer, or None when the region has no such service."""
        conn = None
        try:
            conn = self._connect(region)
            resp = rest.request(conn, api.proxy, method, path, body=body, microversion=api.microversion)
        except (*_NO_ENDPOINT, ValueError) as exc:
            # keystoneauth raises ValueError ("Programming error choosing an
            # endpoint") instead of EndpointNotFound when a service is in the
            # catalog under two aliases (block-storage and volumev3) and
            # neither has an endpoint in this region.
            if conn is not None and _absent(conn, region, api):
                LOG.debug("%s has no %s endpoint: no %s quotas there", region, api.service_type, service)
                return None
            raise RegionError(region, service, _describe(exc)) from exc
        except _UNREACHED as exc:
            raise RegionError(region, service, _describe(exc)) from exc
        if 400 <= resp.status_code < 500:
            raise RegionError(region, service, rest.service_message(resp), refused=True)
        if not 200 <= resp.status_code < 300:
            raise RegionError(region, service, "HTTP %d: %s" % (resp.status_code, rest.service_message(resp)))
        try:
            return resp.json()
        except ValueError as exc:
            raise RegionError(region, service, "HTTP %d with a body that is not JSON" % resp.status_code) from exc


def _api(service: str) -> _Api:
    try:
        return _APIS[service]
    except KeyError:
        raise ValueError("no quota API for service %r; services are %s" % (service, ", ".join(_APIS))) from None


def _quoted(project_id: str) -> str:
    return parse.quote(project_id, safe="")


def _entries(body: Any, api: _Api, region: str, service: str) -> Json:
    entries = body.get(api.wrapper) if isinstance(body, dict) else None
    if not isinstance(entries, dict):
        raise RegionError(region, service, "the answer has no %r object" % api.wrapper)
    return entries


def _absent(conn: openstack.connection.Connection, region: str, api: _Api) -> bool:
    """True when the catalog lists ``region`` (its compute endpoint) but no
    endpoint of this service there: the region has no such service."""
    auth = conn.session.auth
    if not isinstance(auth, identity_base.BaseIdentityPlugin):
        return False
    try:
        catalog = auth.get_access(conn.session).service_catalog
    except ks_exceptions.ClientException:
        return False
    interface = conn.config.get_interface(api.service_type)

    def listed(service_type: str) -> bool:
        try:
            found = catalog.get_endpoints_data(service_type=service_type, interface=interface, region_name=region)
        except ValueError:  # several aliases, none with an endpoint here (see _call)
            return False
        return any(found.values())

    return listed(regions.CATALOG_SERVICE) and not listed(api.service_type)


def _describe(error: BaseException) -> str:
    return "%s: %s" % (type(error).__name__, str(error) or repr(error))
