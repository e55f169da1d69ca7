"""Sync jobs: ``/v1.0/{project_id}/os-sync``, wire-compatible with Kingbird.

A caller works in the project of their token (the URL's project must be it,
else 400 as in Kingbird) and sees only the jobs they created; an admin may
ask for every project's with ``?all_projects=true`` (and narrow that with
``&project_id=``). Creating a job checks everything first (body, kinds and
their policy, regions, that each resource exists in the source), so a
rejected request leaves nothing behind; then the job and its items are
written in one transaction, and only then are the engines rung.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

import flask
from oslo_log import log as logging
from oslo_utils import strutils, uuidutils

from kingsync import regions
from kingsync.api import errors, identity, policy, runtime, validation
from kingsync.api.schemas import sync as schema
from kingsync.db import jobs, session
from kingsync.policies import sync as rules
from kingsync.sync import errors as sync_errors
from kingsync.sync.kinds import KINDS, Kind, UnknownKind

LOG = logging.getLogger(__name__)


def list_jobs(project_id: str) -> flask.Response:
    return _list(project_id, active_only=False)


def list_active_jobs(project_id: str) -> flask.Response:
    return _list(project_id, active_only=True)


def show_job(project_id: str, job_id: str) -> flask.Response:
    who = _caller(project_id, rules.SHOW)
    _check_job_id(job_id)
    owner = _owner(who, allow_filter=False)
    with session.transaction(runtime.get().database_url) as db:
        try:
            job = jobs.get_job(db, job_id, owner)
        except jobs.JobNotFound:
            raise _job_not_found(job_id) from None
    return flask.jsonify({"job_set": [_item_view(item) for item in job.items]})


def delete_job(project_id: str, job_id: str) -> flask.Response:
    who = _caller(project_id, rules.DELETE)
    _check_job_id(job_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            jobs.delete_job(db, job_id, jobs.Owner(who.project_id, who.user_id))
        except jobs.JobNotFound:
            raise _job_not_found(job_id) from None
        except jobs.JobInProgress:
            raise errors.ApiError(
                406, errors.JOB_IN_PROGRESS, "action not supported while sync is in progress (job %s)." % job_id
            ) from None
    # Kingbird's answer, word for word; only the job's rows go, nothing in the regions.
    return flask.jsonify("job %s deleted from the database." % job_id)


def create_job(project_id: str) -> flask.Response:
    who = _caller(project_id, rules.CREATE)
    body = validation.json_body()
    validation.validate(body, schema.CREATE, schema.HINTS)
    entries = _entries(body["resource_set"])
    for name in _unique(entry.resource_type for entry in entries):
        policy.authorize(runtime.get().enforcer, who.context, rules.create_kind(name), {"project_id": who.project_id})
    _check_regions(entries)
    # Whether the caller may name other projects' resources (images of any owner).
    who.context.is_admin = runtime.get().enforcer.authorize(
        rules.ANY_OWNER, {"project_id": who.project_id}, who.context, do_raise=False
    )
    for entry in entries:
        _find_sources(who, _kind(entry.resource_type), entry)

    rt = runtime.get()
    with session.transaction(rt.database_url) as db:
        job = jobs.create_job(db, who.project_id, who.user_id, entries)
    # The job is committed: from here on nothing can lose it. The cast only
    # saves the engines their next poll, so a failed one is no error.
    try:
        rt.engine.sync_items_ready(who.context, job.id)
    except Exception:
        LOG.warning("Could not notify the engines of job %s; they will find it when they next poll.", job.id)
    LOG.info("Created sync job %s with %d items", job.id, len(job.items))
    return flask.jsonify({"job_status": {"id": job.id, "status": job.status, "created_at": _time(job.created_at)}})


# -- helpers ------------------------------------------------------------------------


def _caller(project_id: str, rule: str) -> identity.Caller:
    who = identity.caller()
    if project_id != who.project_id:
        raise errors.bad_request(
            errors.INVALID_URL,
            "Invalid request URL: the project in the URL (%s) must be the project of your token (%s)."
            % (project_id, who.project_id),
        )
    policy.authorize(runtime.get().enforcer, who.context, rule, {"project_id": who.project_id, "user_id": who.user_id})
    return who


def _list(project_id: str, active_only: bool) -> flask.Response:
    who = _caller(project_id, rules.LIST)
    owner = _owner(who, allow_filter=True)
    with session.transaction(runtime.get().database_url) as db:
        found = jobs.list_jobs(db, owner, active_only=active_only)
    everyone = owner.user_id is None
    return flask.jsonify({"job_set": [_job_view(job, with_owner=everyone) for job in found]})


def _owner(who: identity.Caller, allow_filter: bool) -> jobs.Owner:
    """Whose jobs the request sees: the caller's own, or with ?all_projects=true
    (admins) everyone's, narrowed by ?project_id= where a list allows it."""
    args = flask.request.args
    raw = args.get("all_projects")
    try:
        everyone = raw is not None and strutils.bool_from_string(raw, strict=True)
    except ValueError:
        raise errors.bad_request(errors.INVALID_URL, "all_projects must be true or false, not %r." % raw) from None
    project = args.get("project_id")
    if project is not None and not (everyone and allow_filter):
        raise errors.bad_request(
            errors.INVALID_URL, "project_id narrows a list of all projects' jobs: add all_projects=true."
        )
    if not everyone:
        return jobs.Owner(who.project_id, who.user_id)
    policy.authorize(runtime.get().enforcer, who.context, rules.ALL_PROJECTS, {"project_id": who.project_id})
    return jobs.Owner(project or None, None)


def _kind(name: str) -> Kind:
    try:
        return KINDS.get(name)
    except UnknownKind as exc:
        raise errors.bad_request(errors.UNSUPPORTED_RESOURCE_TYPE, exc.message) from None


def _find_sources(who: identity.Caller, kind: Kind, entry: jobs.Entry) -> None:
    """404 unless each resource exists in the source for the caller (409 if a name is
    ambiguous, 503 if the region could not be asked)."""
    try:
        kind.find_sources(who.context, regions.connection, entry.source, entry.resources)
    except sync_errors.SourceNotFound as exc:
        raise errors.ApiError(404, errors.RESOURCE_NOT_FOUND, exc.message) from None
    except sync_errors.SourceAmbiguous as exc:
        raise errors.ApiError(409, errors.AMBIGUOUS_RESOURCE, exc.message) from None
    except sync_errors.SourceRefused as exc:
        raise errors.ApiError(403, errors.RESOURCE_NOT_OWNED, exc.message) from None
    except sync_errors.SourceNotReady as exc:
        raise errors.ApiError(409, errors.RESOURCE_NOT_READY, exc.message) from None
    except sync_errors.SourceUnavailable as exc:
        raise errors.ApiError(503, errors.REGION_UNAVAILABLE, exc.message) from None


def _check_job_id(job_id: str) -> None:
    if not uuidutils.is_uuid_like(job_id):
        raise errors.bad_request(
            errors.INVALID_URL, 'Invalid request URL: %r is not a job id (a UUID) nor "active".' % job_id
        )


def _job_not_found(job_id: str) -> errors.ApiError:
    return errors.ApiError(404, errors.JOB_NOT_FOUND, "Job not found: %s." % job_id)


def _entries(resource_set: dict[str, Any]) -> list[jobs.Entry]:
    """The validated body as job entries: one per (entry, source region), duplicates dropped."""
    raw = resource_set["Sync"] if "Sync" in resource_set else [resource_set]
    entries = []
    for item in raw:
        _kind(item["resource_type"])  # 400 before any region is asked
        sources = [item["source"]] if isinstance(item["source"], str) else item["source"]
        force = item.get("force", False) in (True, "True")
        for source in _unique(sources):
            entries.append(
                jobs.Entry(item["resource_type"], _unique(item["resources"]), source, _unique(item["target"]), force)
            )
    return entries


def _check_regions(entries: Sequence[jobs.Entry]) -> None:
    try:
        known = set(regions.names())
    except Exception:
        LOG.exception("Could not list the regions")
        raise errors.ApiError(
            503, errors.REGION_UNAVAILABLE, "The list of regions could not be read; try again later."
        ) from None
    for entry in entries:
        for role, names in (("source", [entry.source]), ("target", entry.targets)):
            unknown = [name for name in names if name not in known]
            if unknown:
                raise errors.bad_request(
                    errors.UNKNOWN_REGION,
                    "Unknown %s region %s; the regions are: %s." % (role, ", ".join(unknown), ", ".join(sorted(known))),
                )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _time(moment: datetime.datetime | None) -> str:
    # Kingbird wrote the literal string "None" for a job never updated.
    return moment.isoformat() if moment is not None else "None"


def _job_view(job: jobs.Job, with_owner: bool) -> dict[str, Any]:
    view = {
        # Kingbird's fields (python-kingbirdclient reads these) ...
        "id": job.id,
        "sync_status": job.status,
        "created_at": _time(job.created_at),
        "updated_at": _time(job.updated_at),
    }
    if with_owner:
        # ... and in an admin's list of every project's, whose job it is.
        view.update(project_id=job.project_id, user_id=job.user_id)
    return view


def _item_view(item: jobs.Item) -> dict[str, Any]:
    return {
        # Kingbird's fields (python-kingbirdclient reads these) ...
        "id": item.id,
        "resource": item.resource,
        "resource_type": item.resource_type,
        "source_region": item.source_region,
        "target_region": item.target_region,
        "sync_status": item.status,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
        # ... and what kingsync adds: how it ended, why, the id in the target, tries so far.
        "result": item.result,
        "error": item.error,
        "target_id": item.target_id,
        "attempts": item.attempts,
        # For the items that move data (images): bytes done of bytes in all, while it runs and at its end.
        "progress": {"bytes_done": item.bytes_done, "bytes_total": item.bytes_total}
        if item.bytes_total is not None
        else None,
    }
