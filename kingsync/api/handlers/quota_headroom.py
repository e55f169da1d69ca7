"""A project's headroom policy: ``.../os-quota-sets/{target_id}/policy`` (kingsync's).

The deployment chooses how the headroom of a split resource (global limit
minus total usage) is divided between regions ([quota] headroom_policy,
proportional_floor); a project may have its own. What is shown is the policy
the engine applies to the project, and where it comes from.
"""

from __future__ import annotations

from typing import Any

import flask
from oslo_log import log as logging

from kingsync.api import errors, runtime, validation
from kingsync.api.handlers import quota
from kingsync.api.schemas import quota as schema
from kingsync.db import session
from kingsync.db.quota import settings
from kingsync.db.quota.errors import NotFound
from kingsync.policies import quota as rules

LOG = logging.getLogger(__name__)

PROPORTIONAL = "proportional"


def show(project_id: str, target_id: str) -> flask.Response:
    quota.caller(project_id, rules.HEADROOM_POLICY_SHOW, target_id)
    with session.transaction(runtime.get().database_url) as db:
        name, floor = settings.get_project_policy(db, target_id)
    return flask.jsonify({"headroom_policy": view(name, floor)})


def update(project_id: str, target_id: str) -> flask.Response:
    who = quota.caller(project_id, rules.HEADROOM_POLICY_UPDATE, target_id)
    body = validation.json_body()
    validation.validate(body, schema.HEADROOM_POLICY, schema.HEADROOM_POLICY_HINTS)
    name: str = body["headroom_policy"]["name"]
    floor: float | None = body["headroom_policy"].get("floor")
    if floor is not None and name != PROPORTIONAL:
        raise errors.bad_request(errors.INVALID_BODY, "floor applies to the proportional policy only.")
    with session.transaction(runtime.get().database_url) as db:
        settings.set_project_policy(db, target_id, name, floor, quota.actor(who))
    quota.ring(who, target_id)
    LOG.info("Set the headroom policy of project %s: %s (floor %s)", target_id, name, floor)
    return flask.jsonify({"headroom_policy": view(name, floor)})


def delete(project_id: str, target_id: str) -> flask.Response:
    who = quota.caller(project_id, rules.HEADROOM_POLICY_DELETE, target_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            settings.delete_project_policy(db, target_id, quota.actor(who))
        except NotFound:
            raise errors.ApiError(
                404,
                errors.HEADROOM_POLICY_NOT_FOUND,
                "Project %s has no headroom policy of its own; it follows the deployment's." % target_id,
            ) from None
    quota.ring(who, target_id)
    LOG.info("Project %s follows the deployment's headroom policy again", target_id)
    return flask.jsonify({"headroom_policy": view(None, None)})


def view(name: str | None, floor: float | None) -> dict[str, Any]:
    """The policy in force: the project's own (``name`` set), else the deployment's.

    ``floor`` only means something to the proportional policy; a project's
    proportional policy without a floor of its own takes the deployment's.
    """
    conf = runtime.get().conf.quota
    source = "project" if name is not None else "deployment"
    name = name or conf.headroom_policy
    if name != PROPORTIONAL:
        floor = None
    elif floor is None:
        floor = conf.proportional_floor
    return {"name": name, "floor": floor, "source": source}
