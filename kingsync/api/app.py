"""The kingsync-api WSGI application: Flask inside oslo.middleware and auth."""

from __future__ import annotations

import time

import flask
import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_middleware import request_id
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from kingsync import rpc
from kingsync.api import errors, middleware, policy, routes, runtime
from kingsync.api.types import WSGIApp
from kingsync.context import RequestContext

LOG = logging.getLogger(__name__)

# A cast waits for RabbitMQ at most this many reconnection attempts: the job
# is already in the database and engines poll, so a request must not hang
# on a broker that is down.
CAST_RETRIES = 1


def create_app(conf: cfg.ConfigOpts, transport: messaging.Transport | None = None) -> WSGIApp:
    """kingsync-api, configured by ``conf`` (already parsed), as a WSGI application.

    ``transport`` is the oslo.messaging transport to ring the engines on;
    by default the one [DEFAULT] transport_url names. The all-in-one process
    passes the in-process one its engine listens on.
    """
    app = flask.Flask("kingsync.api")
    app.extensions[runtime.KEY] = runtime.Runtime(
        conf=conf,
        enforcer=policy.make_enforcer(conf),
        engine=rpc.EngineClient(transport or rpc.get_transport(conf), retry=CAST_RETRIES),
        database_url=conf.database.connection,
    )
    routes.register(app)
    app.register_error_handler(errors.ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(_begin)
    app.after_request(_log_request)
    middleware.set_cors_defaults()
    return middleware.build_stack(conf, app)


def _api_error(error: errors.ApiError) -> Response:
    return error.response()


def _http_error(error: HTTPException) -> Response:
    """Werkzeug's own errors (404 for an unknown path), in kingsync's JSON shape."""
    status = error.code or 500
    type_ = {404: errors.NOT_FOUND, 405: errors.METHOD_NOT_ALLOWED}.get(status, errors.INTERNAL)
    return errors.json_error(status, type_, error.description or "")


def _unexpected_error(error: Exception) -> Response:
    LOG.exception("Unexpected error in %s %s", flask.request.method, flask.request.path)
    return errors.json_error(500, errors.INTERNAL, "Internal error; the API's log has the details.")


def _begin() -> None:
    flask.g.kingsync_started = time.monotonic()
    # A context with just the request id, until the caller's is built: log
    # lines of this request must not carry an earlier request's context,
    # which the thread (in a WSGI server's pool) may still hold.
    RequestContext(request_id=flask.request.environ.get(request_id.ENV_REQUEST_ID), overwrite=True)


def _log_request(response: Response) -> Response:
    # Method, path and status only: never headers, where the token travels.
    elapsed = time.monotonic() - flask.g.get("kingsync_started", time.monotonic())
    LOG.info("%s %s status: %s time: %.3f", flask.request.method, flask.request.path, response.status_code, elapsed)
    return response
