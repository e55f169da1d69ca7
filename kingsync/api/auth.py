"""Who is calling: keystonemiddleware auth_token, or the local-only noauth mode.

Either way the layers below see the caller as the headers auth_token sets
(X-Identity-Status, X-User-Id, X-Project-Id, X-Roles) and never the token
itself: it is removed from the request before the application runs, so no
handler can store it, log it or put it in an RPC message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_log import log as logging

from kingsync.api.types import StartResponse, WSGIApp

LOG = logging.getLogger(__name__)

# Paths anyone may GET without a token: Kingbird's version document.
PUBLIC_PATHS = frozenset({"", "/"})

# Everything in a WSGI environ that carries a token or can produce one.
_TOKEN_KEYS = (
    "HTTP_X_AUTH_TOKEN",
    "HTTP_X_STORAGE_TOKEN",
    "HTTP_X_SERVICE_TOKEN",
    "keystone.token_auth",
    "keystone.token_info",
)


def wrap(conf: cfg.ConfigOpts, app: WSGIApp) -> WSGIApp:
    """``app`` behind the configured [api] auth_strategy."""
    tokenless = _forget_token(app)
    if conf.api.auth_strategy == "noauth":
        LOG.warning(
            "*** [api] auth_strategy = noauth: kingsync-api AUTHENTICATES NOBODY and believes the "
            "X-User-Id, X-Project-Id and X-Roles headers of every request. Use it on your own machine "
            "only, never where anyone else can reach the API. ***"
        )
        checked: WSGIApp = NoAuth(tokenless)
    else:
        checked = auth_token.AuthProtocol(tokenless, {"oslo_config_config": conf})
    return _public_paths(checked, tokenless)


class NoAuth:
    """Trust the identity headers as sent. Local use only ([api] auth_strategy = noauth)."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # Set, never pass through, the status: a client must not vouch for itself.
        known = environ.get("HTTP_X_USER_ID") and environ.get("HTTP_X_PROJECT_ID")
        environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed" if known else "Invalid"
        return self._app(environ, start_response)


def _forget_token(app: WSGIApp) -> WSGIApp:
    def forget(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        for key in _TOKEN_KEYS:
            environ.pop(key, None)
        return app(environ, start_response)

    return forget


def _public_paths(checked: WSGIApp, public: WSGIApp) -> WSGIApp:
    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in PUBLIC_PATHS:
            # Any method reaches the app, which answers 405 to all but GET, as Kingbird did.
            return public(environ, start_response)
        return checked(environ, start_response)

    return route
