"""Token checks for the simulated services, as keystonemiddleware and the
services' default policies do them: a valid project-scoped token is needed,
"admin" is a role in that token, and a member acts only in its own project.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware

from kingsync.sim.wire import SimHTTPError

if TYPE_CHECKING:
    from kingsync.sim.cloud import SimCloud

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Context:
    user_id: str
    project_id: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def can_act_on(self, project_id: str) -> bool:
        return self.is_admin or project_id == self.project_id


CONTEXT_KEY = web.RequestKey("kingsync.sim.context", Context)


def public(handler: F) -> F:
    """Mark a handler (version discovery) as served without a token."""
    handler.sim_public = True  # type: ignore[attr-defined]
    return handler


def middleware(cloud: SimCloud) -> Middleware:
    """The auth_token middleware of a service: 401 without a valid project token."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        route_handler = request.match_info.route.handler
        if getattr(route_handler, "sim_public", False) or request.match_info.http_exception is not None:
            return await handler(request)
        token = cloud.identity.validate(request.headers.get("X-Auth-Token"))
        if token is None or token.project_id is None:
            body = {
                "error": {
                    "code": 401,
                    "title": "Unauthorized",
                    "message": "The request you have made requires authentication.",
                }
            }
            err = SimHTTPError(401, json.dumps(body).encode())
            err.headers["WWW-Authenticate"] = 'Keystone uri="%s"' % cloud.identity_url
            raise err
        request[CONTEXT_KEY] = Context(token.user_id, token.project_id, tuple(token.roles))
        return await handler(request)

    return check


def context(request: web.Request) -> Context:
    ctx: Context = request[CONTEXT_KEY]
    return ctx
