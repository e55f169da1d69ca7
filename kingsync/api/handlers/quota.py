"""Global limits: ``/v1.0/{project_id}/os-quota-sets``, wire-compatible with Kingbird.

``{project_id}`` is the caller's own project, as in Kingbird's v1.0 (an
admin may name any); ``{target_id}`` is the project the limits are for.
What GET shows is what the engine enforces: Kingbird's defaults, overlaid by
the ``default`` quota class, overlaid by the project's own limits.

Every change is written to the database with its audit entries in one
transaction, and only then are the engines rung, as for sync jobs: the
project is due in the database, so a lost ring only delays the work.

The helpers at the end (``caller``, ``actor``, ``ring``, ``checked_limits``)
are shared by the other quota handlers.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import flask
from oslo_log import log as logging
from oslo_utils import uuidutils

from kingsync import regions
from kingsync.api import errors, identity, policy, runtime, validation
from kingsync.api.schemas import quota as schema
from kingsync.db import session
from kingsync.db.quota import audit, projects
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota.errors import NotFound
from kingsync.policies import quota as rules
from kingsync.policies import quota_class as class_rules
from kingsync.quota import resources, views

LOG = logging.getLogger(__name__)

ADMIN_REASON = "admin"


def show(project_id: str, target_id: str) -> flask.Response:
    caller(project_id, rules.SHOW, target_id)
    with session.transaction(runtime.get().database_url) as db:
        limits = global_limits.effective_limits(db, target_id)
    return flask.jsonify({"quota_set": limits})


def defaults(project_id: str) -> flask.Response:
    caller(project_id, rules.DEFAULTS)
    with session.transaction(runtime.get().database_url) as db:
        found = global_limits.effective_defaults(db)
    return flask.jsonify({"quota_set": found})


def detail(project_id: str, target_id: str) -> flask.Response:
    caller(project_id, rules.SHOW, target_id)
    rt = runtime.get()
    with session.transaction(rt.database_url) as db:
        limits = global_limits.effective_limits(db, target_id)
    # Read now from every region; one that cannot be read counts with its
    # last stored usage, so only the list of regions itself can fail this.
    try:
        usage = views.total_usage(rt.database_url, target_id)
    except Exception:
        LOG.exception("Could not read the usage of project %s", target_id)
        raise _regions_unavailable("The usage could not be read") from None
    # python-kingbirdclient makes one row per usage key and looks it up in limits.
    return flask.jsonify({"quota_set": {"limits": limits, "usage": {name: usage.get(name, 0) for name in limits}}})


def update(project_id: str, target_id: str) -> flask.Response:
    who = caller(project_id, rules.UPDATE, target_id)
    body = validation.json_body()
    validation.validate(body, schema.UPDATE, schema.UPDATE_HINTS)
    limits = checked_limits(body["quota_set"])
    with session.transaction(runtime.get().database_url) as db:
        written = global_limits.set_project_limits(db, target_id, limits, actor(who))
    ring(who, target_id)
    LOG.info("Set global limits of project %s: %s", target_id, written)
    return flask.jsonify({target_id: written})


def delete(project_id: str, target_id: str) -> flask.Response:
    who = caller(project_id, rules.DELETE, target_id)
    body = validation.optional_json_body()
    names: list[str] | None = None
    if body is not None:
        validation.validate(body, schema.DELETE, schema.DELETE_HINTS)
        names = body["quota_set"]
        _check_names(names)
    with session.transaction(runtime.get().database_url) as db:
        try:
            deleted = global_limits.delete_project_limits(db, target_id, names, actor(who))
        except NotFound as exc:
            # The repository's message is Kingbird's ("Project quota not found") or names the resource.
            raise errors.ApiError(404, errors.QUOTA_NOT_FOUND, "%s." % exc) from None
    ring(who, target_id)
    LOG.info("Deleted global limits of project %s: %s", target_id, deleted)
    if names is None:
        return flask.jsonify("Deleted all quota limits for the given project")
    return flask.jsonify({"Deleted quota limits": deleted})


def sync(project_id: str, target_id: str) -> flask.Response:
    who = caller(project_id, rules.SYNC, target_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            projects.request_reconcile(db, target_id)
        except NotFound:
            raise errors.ApiError(404, errors.PROJECT_NOT_MANAGED, _not_managed(target_id)) from None
    ring(who, target_id)
    return flask.jsonify("triggered quota sync for %s" % target_id)


def other_action(project_id: str, target_id: str, action: str) -> flask.Response:
    caller(project_id, rules.SYNC, target_id)
    raise errors.ApiError(404, errors.NOT_FOUND, "Invalid action, only sync is allowed (not %r)." % action)


def dry_run(project_id: str, target_id: str) -> flask.Response:
    caller(project_id, rules.DRY_RUN, target_id)
    body = validation.json_body()
    validation.validate(body, schema.UPDATE, schema.UPDATE_HINTS)
    proposed = checked_limits(body["quota_set"])
    try:
        found = views.dry_run(runtime.get().database_url, target_id, proposed)
    except Exception:
        LOG.exception("Dry run for project %s failed", target_id)
        raise _regions_unavailable("The dry run could not read the regions") from None
    return flask.jsonify({"dry_run": _dry_run_view(found)})


def _dry_run_view(found: views.DryRun) -> dict[str, Any]:
    return {
        "limits": found.limits,
        "regions": {
            region: {
                name: {"usage": view.usage, "limit": view.limit, "planned": view.planned}
                for name, view in by_resource.items()
            }
            for region, by_resource in found.regions.items()
        },
        "refusals": [
            {"region": r.region, "resource": r.resource, "reason": r.reason, "minimum": r.minimum}
            for r in found.refusals
        ],
        "unreachable": list(found.unreachable),
    }


def _not_managed(target_id: str) -> str:
    if runtime.get().conf.quota.manage_all_projects:
        how = "set global limits for it first, or wait for the engine to find it in Keystone"
    else:
        how = "set global limits for it first, or set [quota] manage_all_projects = true"
    return "Project %s is not managed by kingsync: %s." % (target_id, how)


# -- shared by the quota handlers ------------------------------------------------------


def caller(project_id: str, rule: str, target_id: str | None = None) -> identity.Caller:
    """The caller, checked as Kingbird did, and allowed by ``rule`` on the target project.

    The URL's project must be the token's (400 otherwise, not 403, as in
    Kingbird) unless the caller is an admin. The target is ``target_id``,
    else the URL's project.
    """
    who = identity.caller()
    rt = runtime.get()
    if not uuidutils.is_uuid_like(project_id):
        raise errors.bad_request(errors.INVALID_URL, "Invalid request URL: %r is not a project id." % project_id)
    # "admin" is the rule of kingsync.policies.base, so a policy file may redefine who that is.
    if project_id != who.project_id and not rt.enforcer.enforce("admin", {}, who.context):
        raise errors.bad_request(
            errors.INVALID_URL,
            "Invalid request URL: the project in the URL (%s) must be the project of your token (%s)."
            % (project_id, who.project_id),
        )
    if target_id is not None and not uuidutils.is_uuid_like(target_id):
        raise errors.bad_request(errors.INVALID_URL, "Invalid request URL: %r is not a project id." % target_id)
    target = target_id or project_id
    try:
        policy.authorize(rt.enforcer, who.context, rule, {"project_id": target, "user_id": who.user_id})
    except errors.ApiError:
        # Kingbird's words, where only an admin passes the defaults.
        if rule in rules.ADMIN_ONLY or rule in class_rules.ADMIN_ONLY or target != who.project_id:
            raise errors.ApiError(
                403, errors.FORBIDDEN, "Admin required: policy does not allow %s to be performed." % rule
            ) from None
        raise
    return who


def actor(who: identity.Caller) -> audit.Actor:
    """Who the audit history names for a change made through the API."""
    return audit.Actor(actor=who.user_id, reason=ADMIN_REASON, request_id=who.context.request_id)


def ring(who: identity.Caller, target_id: str) -> None:
    """Tell the engines a project is due. The database already says so, so a failure is no error."""
    try:
        runtime.get().engine.quota_reconcile_requested(who.context, target_id)
    except Exception:
        LOG.warning("Could not notify the engines about project %s; they will find it when they next poll.", target_id)


def checked_limits(values: Mapping[str, Any]) -> dict[str, int]:
    """A validated limits object (schema.LIMIT values) as a dict, names and integers checked."""
    _check_names(values)
    # JSON Schema counts 10.0 as an integer; a limit is written as given, so it must be one.
    fractional = sorted(name for name, value in values.items() if not isinstance(value, int))
    if fractional:
        raise errors.bad_request(
            errors.INVALID_BODY,
            "Invalid quota value for %s: limits are integers from -1 (unlimited) to %d."
            % (", ".join(fractional), resources.MAX_LIMIT),
        )
    return dict(values)


def _check_names(names: Any) -> None:
    unknown = sorted(name for name in names if not resources.is_known(name))
    if unknown:
        raise errors.bad_request(
            errors.UNKNOWN_QUOTA_RESOURCE,
            "Invalid quota resource %s; the resources are: %s, and cinder's volumes_<type>, snapshots_<type> "
            "and gigabytes_<type>." % (", ".join(unknown), ", ".join(sorted(resources.all_names()))),
        )


def region_names() -> list[str]:
    """The regions kingsync manages, or a 503 if they cannot be listed now."""
    try:
        return regions.names()
    except Exception:
        LOG.exception("Could not list the regions")
        raise _regions_unavailable("The list of regions could not be read") from None


def _regions_unavailable(what: str) -> errors.ApiError:
    return errors.ApiError(503, errors.REGION_UNAVAILABLE, "%s; try again later." % what)


def iso_time(moment: datetime.datetime | None) -> str | None:
    """ISO 8601 in UTC, as the rest of the API writes times (stored naive, in UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat()
