"""The caller of the current request, from the headers the auth layer set."""

from __future__ import annotations

import dataclasses

import flask

from kingsync.api import errors
from kingsync.context import RequestContext


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated caller: a user acting in the project of their token."""

    context: RequestContext
    user_id: str
    project_id: str


def caller() -> Caller:
    """The caller (context with user, project, roles, request id), built once per request.

    X-Identity-Status is set by keystonemiddleware (or by the noauth layer)
    and never passed through from the client, so "Confirmed" means the ids
    and roles next to it are the token's.
    """
    found = flask.g.get("kingsync_caller")
    if isinstance(found, Caller):
        return found
    environ = flask.request.environ
    ctxt = RequestContext.from_environ(environ)
    if environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed" or not ctxt.user_id or not ctxt.project_id:
        raise errors.ApiError(
            401,
            errors.NOT_AUTHENTICATED,
            "The request you have made requires authentication (a project-scoped token; with "
            "[api] auth_strategy = noauth, X-User-Id and X-Project-Id headers).",
        )
    found = Caller(ctxt, ctxt.user_id, ctxt.project_id)
    flask.g.kingsync_caller = found
    return found
