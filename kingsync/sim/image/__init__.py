"""Simulated Glance v2 (as glance 33 serves it with one file store):
images, their data, tags and members, the glance-download import and its
tasks, schemas and discovery.

Errors are webob pages, rendered for the request's Accept header, as
glance's are (the 401 for a missing or bad token included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from kingsync.sim import auth, wire
from kingsync.sim.image.data import ImageData
from kingsync.sim.image.discovery import Discovery
from kingsync.sim.image.images import Images
from kingsync.sim.image.imports import Imports, default_methods
from kingsync.sim.image.members import Members
from kingsync.sim.image.policy import NOT_FOUND, GlanceError
from kingsync.sim.image.service import Service, request_id
from kingsync.sim.image.state import State
from kingsync.sim.image.tasks import Tasks

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

PREFIX = "/image"
CATALOG = [("image", "glance", "/image")]

__all__ = ["CATALOG", "PREFIX", "State", "default_methods", "make_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED = (
    "This server could not verify that you are authorized to access the document you requested. "
    "Either you supplied the wrong credentials (e.g., bad password), or your browser does not "
    "understand how to supply the credentials required."
)
METHOD_NOT_ALLOWED = "The method ${REQUEST_METHOD} is not allowed for this resource. <br /><br />\n${detail}"


def _render_errors(cloud: SimCloud) -> Middleware:
    @web.middleware
    async def render(request: web.Request, handler: Handler) -> web.StreamResponse:
        """GlanceError -> the webob page glance would send. The token check's
        401 becomes glance's webob 401 too (its auth_token defers the
        decision to glance, which answers in webob's words)."""
        accept = request.headers.get("Accept", "")
        try:
            return await handler(request)
        except GlanceError as err:
            wire.webob_fault(
                err.status_code,
                err.explanation,
                err.detail,
                accept,
                err.template or wire.WEBOB_BODY,
                err.extra_headers,
                **err.env,
            )
        except wire.SimHTTPError as err:
            if err.status_code != 401:
                raise
            wire.webob_fault(
                401, UNAUTHORIZED, accept=accept, headers={"WWW-Authenticate": 'Keystone uri="%s"' % cloud.auth_url}
            )

    return render


def _reject(allowed: str) -> Handler:
    """glance's RejectMethodController: 405 naming the allowed methods."""

    async def reject(request: web.Request) -> web.Response:
        raise GlanceError(
            405, "", headers={"Allow": allowed}, template=METHOD_NOT_ALLOWED, env={"REQUEST_METHOD": request.method}
        )

    return reject


async def _no_route(request: web.Request) -> web.Response:
    raise GlanceError(404, NOT_FOUND)


async def _request_id(request: web.Request, response: web.StreamResponse) -> None:
    """glance's request-id middleware runs after the token check, so every
    answer past it (errors too) names the request."""
    if auth.CONTEXT_KEY in request:
        response.headers.setdefault("x-openstack-request-id", request_id(request))


def make_app(cloud: SimCloud, region: Region) -> web.Application:
    # Errors are rendered outermost, so the token check's 401 is a webob page too.
    app = web.Application(middlewares=[_render_errors(cloud), auth.middleware(cloud)])
    app.on_response_prepare.append(_request_id)
    svc = Service(cloud, region)
    discovery, images, data, members = Discovery(svc), Images(svc), ImageData(svc), Members(svc)
    imports, tasks = Imports(svc), Tasks(svc)
    one = "/v2/images/{image_id}"
    # path -> {method: handler}; every other method is glance's 405.
    table: dict[str, dict[str, Handler]] = {
        "/v2/schemas/image": {"GET": discovery.image_schema},
        "/v2/schemas/images": {"GET": discovery.images_schema},
        "/v2/schemas/member": {"GET": discovery.member_schema},
        "/v2/schemas/members": {"GET": discovery.members_schema},
        "/v2/info/import": {"GET": discovery.info_import},
        "/v2/info/stores": {"GET": discovery.info_stores},
        "/v2/info/stores/detail": {"GET": discovery.info_stores_detail},
        "/v2/info/usage": {"GET": discovery.info_usage},
        "/v2/images": {"GET": images.index, "POST": images.create},
        one: {"GET": images.show, "PATCH": images.update, "DELETE": images.delete},
        one + "/actions/deactivate": {"POST": images.deactivate},
        one + "/actions/reactivate": {"POST": images.reactivate},
        one + "/file": {"GET": data.download, "PUT": data.upload},
        one + "/import": {"POST": imports.create},
        one + "/tags/{tag}": {"PUT": images.add_tag, "DELETE": images.remove_tag},
        one + "/members": {"GET": members.index, "POST": members.create},
        one + "/members/{member_id}": {"GET": members.show, "PUT": members.update, "DELETE": members.delete},
    }
    for path, methods in table.items():
        resource = app.router.add_resource(path)
        for method, handler in methods.items():
            resource.add_route(method, handler)
        resource.add_route("*", _reject(", ".join(methods)))
    # glance routes no other method for an image's tasks: they fall through to 404.
    tasks_resource = app.router.add_resource(one + "/tasks")
    tasks_resource.add_route("GET", tasks.index)
    tasks_resource.add_route("*", _no_route)
    app.router.add_route("*", "/v2", _no_route)
    app.router.add_route("*", "/v2/{tail:.*}", _no_route)
    app.router.add_route("*", "/versions", discovery.versions)
    # glance's version negotiation: any other path lists the versions (300).
    app.router.add_route("*", "/{tail:.*}", discovery.root)
    app.router.add_route("*", "", discovery.root)
    return app
