"""Quota classes: ``/v1.0/{project_id}/os-quota-class-sets/{class_name}``, as in Kingbird.

The ``default`` class is the defaults: what ``os-quota-sets/defaults`` shows
and what the engine holds a managed project to where it has no limit of its
own. No API assigns another class to a project (none did in Kingbird), so
other classes are only stored and shown.

A class is shown over the defaults: any name answers, an unknown one with the
defaults alone, as in Kingbird.
"""

from __future__ import annotations

import flask
from oslo_log import log as logging
from sqlalchemy.orm import Session

from kingsync.api import errors, runtime, validation
from kingsync.api.handlers import quota
from kingsync.api.schemas import quota as schema
from kingsync.db import session
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota.errors import NotFound
from kingsync.policies import quota_class as rules

LOG = logging.getLogger(__name__)

MAX_CLASS_NAME = 255


def show(project_id: str, class_name: str) -> flask.Response:
    quota.caller(project_id, rules.SHOW)
    _check_name(class_name)
    with session.transaction(runtime.get().database_url) as db:
        return flask.jsonify({"quota_class_set": _view(db, class_name)})


def update(project_id: str, class_name: str) -> flask.Response:
    who = quota.caller(project_id, rules.UPDATE)
    _check_name(class_name)
    body = validation.json_body()
    validation.validate(body, schema.CLASS_UPDATE, schema.CLASS_UPDATE_HINTS)
    limits = quota.checked_limits(body["quota_class_set"])
    with session.transaction(runtime.get().database_url) as db:
        global_limits.set_class(db, class_name, limits, quota.actor(who))
        found = _view(db, class_name)
    LOG.info("Set limits of quota class %s: %s", class_name, limits)
    return flask.jsonify({"quota_class_set": found})


def delete(project_id: str, class_name: str) -> flask.Response:
    who = quota.caller(project_id, rules.DELETE)
    _check_name(class_name)
    with session.transaction(runtime.get().database_url) as db:
        try:
            global_limits.delete_class(db, class_name, quota.actor(who))
        except NotFound:
            raise errors.ApiError(
                404, errors.QUOTA_CLASS_NOT_FOUND, "Quota class not found: %s." % class_name
            ) from None
    LOG.info("Deleted quota class %s", class_name)
    # Kingbird answered 200 with an empty body; null is the JSON for it.
    return flask.jsonify(None)


def _view(db: Session, class_name: str) -> dict[str, object]:
    """Kingbird's shape: the defaults, the class's name, then the class's own values."""
    return {**global_limits.effective_defaults(db), "class_name": class_name, **global_limits.get_class(db, class_name)}


def _check_name(class_name: str) -> None:
    if len(class_name) > MAX_CLASS_NAME:
        raise errors.bad_request(
            errors.INVALID_URL, "Invalid request URL: a quota class name is at most %d characters." % MAX_CLASS_NAME
        )
