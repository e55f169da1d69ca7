"""The one route table: path -> method -> handler.

Every path also answers with a trailing slash (python-kingbirdclient uses
``/os-sync/``). A method a path does not list gets 405 with an Allow header,
HEAD included: Kingbird answered 405 to everything but GET on ``/``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flask

from kingsync.api import errors
from kingsync.api.handlers import quota, quota_audit, quota_class, quota_headroom, quota_regions, root, sync

Handler = Callable[..., flask.Response]

ROUTES: dict[str, dict[str, Handler]] = {
    "/": {"GET": root.versions},
    "/v1.0/<project_id>/os-sync": {"GET": sync.list_jobs, "POST": sync.create_job},
    "/v1.0/<project_id>/os-sync/active": {"GET": sync.list_active_jobs},
    "/v1.0/<project_id>/os-sync/<job_id>": {"GET": sync.show_job, "DELETE": sync.delete_job},
    # Kingbird's global limits and quota classes ...
    "/v1.0/<project_id>/os-quota-sets/defaults": {"GET": quota.defaults},
    "/v1.0/<project_id>/os-quota-sets/<target_id>": {"GET": quota.show, "PUT": quota.update, "DELETE": quota.delete},
    "/v1.0/<project_id>/os-quota-sets/<target_id>/detail": {"GET": quota.detail},
    "/v1.0/<project_id>/os-quota-sets/<target_id>/sync": {"PUT": quota.sync},
    # Kingbird answered any other action with 404 "Invalid action"; the paths above take precedence.
    "/v1.0/<project_id>/os-quota-sets/<target_id>/<action>": {"PUT": quota.other_action},
    "/v1.0/<project_id>/os-quota-class-sets/<class_name>": {
        "GET": quota_class.show,
        "PUT": quota_class.update,
        "DELETE": quota_class.delete,
    },
    # ... and what kingsync adds.
    "/v1.0/<project_id>/os-quota-sets/<target_id>/dry-run": {"POST": quota.dry_run},
    "/v1.0/<project_id>/os-quota-sets/<target_id>/regions": {"GET": quota_regions.overview},
    "/v1.0/<project_id>/os-quota-sets/<target_id>/regions/<region>": {
        "GET": quota_regions.show_setting,
        "PUT": quota_regions.update_setting,
        "DELETE": quota_regions.delete_setting,
    },
    "/v1.0/<project_id>/os-quota-sets/<target_id>/audit": {"GET": quota_audit.list_entries},
    "/v1.0/<project_id>/os-quota-sets/<target_id>/policy": {
        "GET": quota_headroom.show,
        "PUT": quota_headroom.update,
        "DELETE": quota_headroom.delete,
    },
}

# Methods routed to the dispatcher, so that the ones a path lacks get kingsync's JSON 405.
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def register(app: flask.Flask) -> None:
    for path, handlers in ROUTES.items():
        # A rule ending in "/" with strict_slashes off matches with and without the slash.
        rule = path if path.endswith("/") else path + "/"
        app.add_url_rule(
            rule,
            endpoint=path,
            view_func=_dispatcher(handlers),
            methods=_METHODS,
            strict_slashes=False,
            provide_automatic_options=False,
        )


def _dispatcher(handlers: Mapping[str, Handler]) -> Handler:
    def dispatch(**params: Any) -> flask.Response:
        method = flask.request.method
        handler = handlers.get(method)
        if handler is None:
            allowed = ", ".join(handlers)
            raise errors.ApiError(
                405,
                errors.METHOD_NOT_ALLOWED,
                "%s is not allowed on %s; allowed: %s." % (method, flask.request.path, allowed),
                headers={"Allow": allowed},
            )
        return handler(**params)

    return dispatch
