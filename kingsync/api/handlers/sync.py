"""Sync jobs: ``/v1.0/{project_id}/os-sync``, wire-compatible with Kingbird.

A caller works in the project of their token (the URL's project must be it,
else 400 as in Kingbird) and sees only the jobs they created. Creating a job
checks everything first (body, regions, that each resource exists in the
source), so a rejected request leaves nothing behind; then the job and its
items are written in one transaction, and only then are the engines rung.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

import flask
from oslo_log import log as logging
from oslo_utils import uuidutils

from kingsync import regions
from kingsync.api import errors, identity, kinds, policy, runtime, validation
from kingsync.api.schemas import sync as schema
from kingsync.db import jobs, session
from kingsync.policies import sync as rules

LOG = logging.getLogger(__name__)


def list_jobs(project_id: str) -> flask.Response:
    return _list(project_id, active_only=False)


def list_active_jobs(project_id: str) -> flask.Response:
    return _list(project_id, active_only=True)


def show_job(project_id: str, job_id: str) -> flask.Response:
    who = _caller(project_id, rules.SHOW)
    _check_job_id(job_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            job = jobs.get_job(db, job_id, who.project_id, who.user_id)
        except jobs.JobNotFound:
            raise _job_not_found(job_id) from None
    return flask.jsonify({"job_set": [_item_view(item) for item in job.items]})


def delete_job(project_id: str, job_id: str) -> flask.Response:
    who = _caller(project_id, rules.DELETE)
    _check_job_id(job_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            jobs.delete_job(db, job_id, who.project_id, who.user_id)
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
    _check_regions(entries)
    for entry in entries:
        kinds.get(entry.resource_type).check_sources(who.context, entry.source, entry.resources)

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
    with session.transaction(runtime.get().database_url) as db:
        found = jobs.list_jobs(db, who.project_id, who.user_id, active_only=active_only)
    return flask.jsonify({"job_set": [_job_view(job) for job in found]})


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
        kinds.get(item["resource_type"])  # 400 before any region is asked
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


def _job_view(job: jobs.Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "sync_status": job.status,
        "created_at": _time(job.created_at),
        "updated_at": _time(job.updated_at),
    }


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
    }
