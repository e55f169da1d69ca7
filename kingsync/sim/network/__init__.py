"""Simulated Neutron: the networking API v2.0 as neutron 29 serves it with ML2
(flat and vlan type drivers, no project network types) and no service
plugins, for what kingsync uses: security groups and rules, quotas with
details, and enough networks and ports to put usage on a project.

The service root is ``PREFIX`` on each region's port, and the catalog points
at it, like a real ``http://host:9696`` endpoint. Neutron creates a project's
``default`` security group (four rules) when the project first lists groups
or rules, or creates a group, network or port; reading quotas does not.
Quota usage is what the simulator holds plus what the control API adds
(``region.usage_of("network", project, resource)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.network import api, extensions
from kingsync.sim.network.networks import Networks
from kingsync.sim.network.quotas import Quotas
from kingsync.sim.network.security_groups import SecurityGroups
from kingsync.sim.network.state import State

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

__all__ = ["CATALOG", "PREFIX", "State", "make_app"]

PREFIX = "/network"
CATALOG = [("network", "neutron", "/network")]


def make_app(cloud: SimCloud, region: Region) -> web.Application:
    # Token check first, as keystonemiddleware runs before neutron routes;
    # then unknown paths get neutron's own 404.
    app = web.Application(middlewares=[auth.middleware(cloud), _unrouted])
    versions = _Versions(region)
    app.router.add_get("", versions.index)
    app.router.add_get("/", versions.index)
    app.router.add_get("/v2.0/", versions.resources)
    app.router.add_get("/v2.0/extensions", extensions.list_extensions)
    app.router.add_get("/v2.0/extensions/{alias}", extensions.show_extension)
    SecurityGroups(region).routes(app)
    networks = Networks(cloud, region)
    networks.ensure_provider_network()
    networks.routes(app)
    Quotas(region).routes(app)
    # pecan serves every path with a trailing slash too
    for route in list(app.router.routes()):
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and path and not path.endswith("/"):
            app.router.add_route(route.method, path + "/", route.handler)
    return app


@web.middleware
async def _unrouted(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    failure = request.match_info.http_exception
    if failure is not None and failure.status == 404:
        api.not_found()
    if failure is not None and failure.status == 405:
        api.fault(
            405,
            "HTTPMethodNotAllowed",
            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        )
    return await handler(request)


class _Versions:
    def __init__(self, region: Region) -> None:
        self.region = region

    @auth.public
    async def index(self, request: web.Request) -> web.Response:
        href = self.region.url + PREFIX + "/v2.0/"
        return wire.json_response(
            {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}
        )

    async def resources(self, request: web.Request) -> web.Response:
        """The core collections, as GET /v2.0/ lists them."""
        base = self.region.url + PREFIX + "/v2.0/"
        layout = [
            {"name": name, "collection": name + "s", "links": [{"rel": "self", "href": base + name + "s"}]}
            for name in ("network", "subnet", "subnetpool", "port")
        ]
        return wire.json_response({"resources": layout})
