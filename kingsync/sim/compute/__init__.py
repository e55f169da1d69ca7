"""Simulated Nova: the compute API v2.1 as nova 34 serves it, for what
kingsync uses: keypairs, flavors (extra specs, access), quota sets, quota
classes, limits and server groups, with microversions up to 2.104.

The service root is ``PREFIX`` on each region's port; the catalog points at
``PREFIX + "/v2.1"`` like a real ``http://host:8774/v2.1`` endpoint.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.compute import api
from kingsync.sim.compute.flavors import Flavors
from kingsync.sim.compute.keypairs import Keypairs
from kingsync.sim.compute.quotas import QuotaSets
from kingsync.sim.compute.server_groups import ServerGroups
from kingsync.sim.compute.state import State
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

__all__ = ["CATALOG", "PREFIX", "State", "make_app"]

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/compute"
CATALOG = [("compute", "nova", "/compute/v2.1")]

# nova/api/openstack/compute/versions.py
_VERSIONS: dict[str, Json] = {
    "v2.0": {
        "id": "v2.0",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "links": [{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}],
    },
    "v2.1": {
        "id": "v2.1",
        "status": "CURRENT",
        "version": api.MAX_VERSION,
        "min_version": api.MIN_VERSION,
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    },
}


def make_app(cloud: SimCloud, region: Region) -> web.Application:
    # Token check first, then microversion negotiation, as in nova's paste
    # pipeline (authtoken runs before the API router reads the header).
    app = web.Application(middlewares=[auth.middleware(cloud), _negotiate])
    versions = _Versions(region)
    app.router.add_get("", versions.index)
    app.router.add_get("/", versions.index)
    app.router.add_get("/v2.1", versions.show)
    app.router.add_get("/v2.1/", versions.show)
    for group in (Keypairs, Flavors, QuotaSets, ServerGroups):
        group(cloud, region).routes(app)
    return app


@web.middleware
async def _negotiate(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """Read the requested microversion and echo it on every answer, errors included."""
    if request.match_info.http_exception is not None:
        # nova's router answers any path or method it does not know with
        # webob's plain 404 page (never 405), without microversion headers.
        wire.webob_fault(404, "The resource could not be found.", accept=request.headers.get("Accept", ""))
    if getattr(request.match_info.handler, _UNVERSIONED, False):
        return await handler(request)
    try:
        version = api.MICROVERSION.requested(request, _version_fault)
    except wire.SimHTTPError as exc:
        if exc.status == 406:
            # nova has already taken the version in, so it echoes it back.
            exc.headers.update(api.MICROVERSION.headers(_asked_for(request)))
        raise
    request[api.VERSION_KEY] = version
    headers = api.MICROVERSION.headers(version)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


_UNVERSIONED = "sim_unversioned"


def _unversioned(handler: F) -> F:
    """nova's root version list ignores (and does not echo) microversions."""
    setattr(handler, _UNVERSIONED, True)
    return handler


def _version_fault(status: int, message: str) -> NoReturn:
    # 406 is not among nova's named faults, so it comes out as "computeFault".
    name = "computeFault" if status == 406 else "badRequest"
    raise wire.SimHTTPError(status, json.dumps({name: {"code": status, "message": message}}).encode())


def _asked_for(request: web.Request) -> tuple[int, int]:
    header = request.headers.get("OpenStack-API-Version", "")
    words = [part.split() for part in header.split(",")]
    asked = [w[1] for w in words if len(w) == 2 and w[0].lower() == "compute"]
    text = asked[0] if asked else request.headers.get("X-OpenStack-Nova-API-Version", "")
    return api.mv(text)


class _Versions:
    """Version discovery, served without a token (nova's ``oscomputeversions``
    and ``oscomputeversion_v2`` pipelines have no authtoken)."""

    def __init__(self, region: Region) -> None:
        self.region = region

    @property
    def prefix(self) -> str:
        return self.region.url + PREFIX

    @auth.public
    @_unversioned
    async def index(self, request: web.Request) -> web.Response:
        entries = [
            {key: doc[key] for key in ("id", "status", "version", "min_version", "updated")}
            | {"links": [{"rel": "self", "href": "%s/%s/" % (self.prefix, "v2" if vid == "v2.0" else vid)}]}
            for vid, doc in sorted(_VERSIONS.items())
        ]
        return wire.json_response({"versions": entries})

    @auth.public
    async def show(self, request: web.Request) -> web.Response:
        doc = copy.deepcopy(_VERSIONS["v2.1"])
        doc["links"].insert(0, {"rel": "self", "href": self.prefix + "/v2.1/"})
        return wire.json_response({"version": doc})
