"""The middleware stack around the Flask application."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import webob
import webob.dec
import webob.exc
from oslo_config import cfg
from oslo_middleware import cors, healthcheck, http_proxy_to_wsgi, request_id, sizelimit

from kingsync.api import auth, errors
from kingsync.api.types import StartResponse, WSGIApp

HEALTHCHECK_PATH = "/healthcheck"

Layer = Callable[[WSGIApp], WSGIApp]


def build_stack(conf: cfg.ConfigOpts, app: WSGIApp) -> WSGIApp:
    """Wrap ``app`` in kingsync's middleware.

    The layers are listed from the outside in: a request passes them top to
    bottom, its response comes back bottom to top. The order matters:

    - request id outermost, so every response, also an error made by a layer
      below (401, 413), carries X-OpenStack-Request-Id, and every log line
      below carries the id;
    - proxy headers next, so everything below sees the client's scheme, host
      and address (the version document's links, healthcheck source ranges);
    - CORS before authentication: browsers send preflight OPTIONS requests
      without a token;
    - healthcheck before authentication: load balancers have no token;
    - the body size limit before authentication, so an oversized body is
      refused without a round trip to Keystone;
    - authentication innermost, next to the application, which trusts the
      identity headers it sets (and never sees the token).
    """
    layers: list[Layer] = [
        request_id.RequestId,
        lambda inner: http_proxy_to_wsgi.HTTPProxyToWSGI(inner, conf),
        lambda inner: cors.CORS(inner, conf),
        lambda inner: _route_path(HEALTHCHECK_PATH, healthcheck.Healthcheck(None, conf), inner),
        lambda inner: BodySizeLimit(inner, conf),
        lambda inner: auth.wrap(conf, inner),
    ]
    for layer in reversed(layers):
        app = layer(app)
    return app


def set_cors_defaults() -> None:
    """Headers a browser client needs; origins stay off until [cors] allowed_origin is set."""
    cors.set_defaults(
        allow_headers=["X-Auth-Token", "X-OpenStack-Request-ID", "X-Project-Id", "X-User-Id", "Content-Type"],
        expose_headers=["X-OpenStack-Request-ID"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    )


class BodySizeLimit(sizelimit.RequestBodySizeLimiter):
    """oslo.middleware's limiter, with [api] max_request_body_size and a JSON 413."""

    def _conf_get(self, key: str, group: str = "oslo_middleware") -> Any:
        # Operators set the limit in [api], not in the limiter's own group.
        if key == "max_request_body_size":
            return self.oslo_conf.api.max_request_body_size
        return super()._conf_get(key, group)

    @webob.dec.wsgify  # type: ignore[untyped-decorator]
    def __call__(self, req: webob.Request) -> Any:
        try:
            return super().__call__(req)
        except webob.exc.HTTPRequestEntityTooLarge:
            return too_large(self._conf_get("max_request_body_size"))


def too_large(limit: int) -> webob.Response:
    text = errors.body(413, errors.BODY_TOO_LARGE, errors.too_large_message(limit))
    return webob.Response(text, status=413, content_type="application/json", charset="utf-8")


def _route_path(path: str, target: WSGIApp, default: WSGIApp) -> WSGIApp:
    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = target if environ.get("PATH_INFO") == path else default
        return app(environ, start_response)

    return route
