"""Simulated Cinder: the block storage API v3 as cinder 29 serves it (alone,
without scheduler or volume service), for what kingsync uses: quota sets
with usage and per volume type keys, quota classes, limits, volume types,
and volumes to put usage on a project, with microversions up to 3.71.

The catalog's block-storage and volumev3 entries point at ``PREFIX + "/v3"``
without a project id, as on the devcloud; every call is also served with the
legacy ``/v3/{project_id}/...`` form, which must name the caller's project.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.volume import api
from kingsync.sim.volume.quotas import QuotaSets
from kingsync.sim.volume.state import State
from kingsync.sim.volume.volumes import Volumes
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

__all__ = ["CATALOG", "PREFIX", "State", "make_app"]

PREFIX = "/volume"
CATALOG = [("block-storage", "cinder", "/volume/v3"), ("volumev3", "cinderv3", "/volume/v3")]
# cinder's project_id_regex: what a project id in a URL may look like.
_PROJECT_IN_URL = "/v3/{project_id:[0-9a-f-]+}"

# cinder/api/versions.py
_VERSION: Json = {
    "id": "v3.0",
    "status": "CURRENT",
    "version": api.MAX_VERSION,
    "min_version": api.MIN_VERSION,
    "updated": "2023-08-31T00:00:00Z",
    "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}],
    "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
}


def make_app(cloud: SimCloud, region: Region) -> web.Application:
    # Token check first (keystonemiddleware), then microversion negotiation
    # and the project-in-URL check, as in cinder's paste pipeline.
    app = web.Application(middlewares=[auth.middleware(cloud), _negotiate])
    region.volume.ensure_default_type(region.name)
    versions = _Versions(region)
    app.router.add_get("", versions.all)
    app.router.add_get("/", versions.all)
    app.router.add_get("/v3", versions.index)
    app.router.add_get("/v3/", versions.index)
    for group in (QuotaSets(region), Volumes(region)):
        for method, path, handler in group.paths():
            # The project-less form first: "/v3/volumes/detail" must not be
            # taken for a project id.
            app.router.add_route(method, "/v3" + path, handler)
            app.router.add_route(method, _PROJECT_IN_URL + path, handler)
    return app


@web.middleware
async def _negotiate(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """Read the microversion, refuse a foreign project in the URL, and echo
    the version on every answer, errors included."""
    if request.match_info.http_exception is not None:
        # cinder's router answers 404 for unknown paths and methods alike
        wire.webob_fault(404, "The resource could not be found.", accept=request.headers.get("Accept", ""))
    try:
        version = api.MICROVERSION.requested(request, lambda status, message: api.fault(status, message))
    except web.HTTPException as err:
        if err.status == 406:
            # an unsupported version is echoed back
            wanted = request.headers.get("OpenStack-API-Version", "").split()[-1]
            err.headers.update({"OpenStack-API-Version": "volume " + wanted, "Vary": "OpenStack-API-Version"})
        raise
    request[api.VERSION_KEY] = version
    headers = api.MICROVERSION.headers(version)
    try:
        project_id = request.match_info.get("project_id")
        if project_id is not None and project_id != api.caller(request).project_id:
            api.fault(400, "Malformed request url")
        response = await handler(request)
    except web.HTTPException as err:
        err.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


class _Versions:
    def __init__(self, region: Region) -> None:
        self.region = region

    def _doc(self) -> Json:
        doc = copy.deepcopy(_VERSION)
        doc["links"].append({"rel": "self", "href": self.region.url + PREFIX + "/v3/"})
        return doc

    @auth.public
    async def all(self, request: web.Request) -> web.Response:
        return wire.json_response({"versions": [self._doc()]}, status=300)

    async def index(self, request: web.Request) -> web.Response:
        return wire.json_response({"versions": [self._doc()]})
