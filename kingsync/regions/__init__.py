"""The regions kingsync acts on, and one openstacksdk Connection per region.

    names()            the region names: [regions] names, else every region
                       the Keystone catalog lists with a compute endpoint
    connection(name)   the cached Connection for one region, acting with
                       kingsync's own service credentials (never a user token)

Connections are made once per process and shared by every thread; they share
one keystoneauth Session (credentials.py), hence one token.
"""

from __future__ import annotations

import threading

import openstack.connection
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import base as identity_base

from kingsync.conf import CONF
from kingsync.regions.credentials import CredentialsMissing, load_session

__all__ = ["CredentialsMissing", "UnknownRegion", "connection", "names", "reset"]

# Regions are the places kingsync syncs keypairs, images, flavors and
# security groups to; a region without compute is not one of them.
CATALOG_SERVICE = "compute"


class UnknownRegion(ValueError):
    """A region name that is neither configured nor in the Keystone catalog."""

    def __init__(self, region: str, known: list[str]) -> None:
        super().__init__("unknown region %s; the regions are: %s" % (region, ", ".join(known) or "none"))
        self.region = region
        self.known = known


_lock = threading.Lock()
_session: ks_session.Session | None = None
_connections: dict[str, openstack.connection.Connection] = {}


def _shared_session() -> ks_session.Session:
    global _session
    with _lock:
        if _session is None:
            _session = load_session(CONF)
        return _session


def names() -> list[str]:
    """Region names: as configured, else the catalog's, sorted.

    The catalog comes with kingsync's token (cached by keystoneauth until it
    expires), so asking often costs no call to Keystone.
    """
    if CONF.regions.names:
        return list(CONF.regions.names)
    session = _shared_session()
    if not isinstance(session.auth, identity_base.BaseIdentityPlugin):
        raise CredentialsMissing("[regions] names must be set: kingsync's auth plugin gives no service catalog")
    access = session.auth.get_access(session)
    found: set[str] = set()
    endpoints = access.service_catalog.get_endpoints(service_type=CATALOG_SERVICE, interface=CONF.regions.interface)
    for endpoint in endpoints.get(CATALOG_SERVICE, []):
        region = endpoint and (endpoint.get("region_id") or endpoint.get("region"))
        if region:
            found.add(region)
    # Keystone lists them in no particular order; sorted, they read the same every time.
    return sorted(found)


def connection(region: str) -> openstack.connection.Connection:
    """The Connection for ``region``; UnknownRegion if there is no such region."""
    with _lock:
        conn = _connections.get(region)
    if conn is not None:
        return conn
    known = names()
    if region not in known:
        raise UnknownRegion(region, known)
    session = _shared_session()
    with _lock:
        # Another thread may have made it meanwhile: keep the first one.
        conn = _connections.get(region)
        if conn is None:
            conn = openstack.connection.Connection(
                session=session,
                region_name=region,
                interface=CONF.regions.interface,
                app_name="kingsync",
            )
            _connections[region] = conn
        return conn


def reset() -> None:
    """Forget every Connection and the Session (tests; a changed configuration)."""
    global _session
    with _lock:
        for conn in _connections.values():
            conn.close()
        _connections.clear()
        _session = None
