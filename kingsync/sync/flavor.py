"""Flavor sync: copy a flavor to a target region under the same id, with the
same sizes, description, extra specs and, for a private one, project access.

Flavors belong to a region, not to a user or a project, and only admins
manage them: kingsync reads and writes them with its own admin credentials,
through nova's flavor API (kingsync.sync.nova_flavors).

Nova keeps a flavor's fields fixed once it is made, except its description,
extra specs and access list. A copy that differs in anything else (or in its
id) can only be deleted and made again, which nova allows at once: it
hard-deletes, so the id and name are free as soon as the delete answers, and
servers keep their own copy of their flavor. From microversion 2.86 nova
checks extra specs against its own validators, so a spec one region took may
be refused by another; kingsync asks at 2.86 where it can, so a refusal comes
with nova's reason. The facts are in ../shared/reference/sync-facts.md, §4.

The pure part (kingsync.sync.flavor_plan) compares normalised flavors and
returns the steps to take. ``sync`` here reads, decides and takes the steps;
``find_sources`` is the check the API makes before a job is created.
"""

from __future__ import annotations

from collections.abc import Sequence

import openstack.connection
from oslo_log import log as logging

from kingsync.context import RequestContext
from kingsync.db.models import CONFLICT, ERROR, REPLACED, UNCHANGED, UPDATED
from kingsync.regions import rest
from kingsync.sync import errors
from kingsync.sync import nova_flavors as nova
from kingsync.sync.flavor_plan import (
    CheckSpecs,
    Create,
    Decision,
    Delete,
    Describe,
    Flavor,
    Grant,
    Revoke,
    SetSpecs,
    UnsetSpec,
    decide,
)
from kingsync.sync.task import Connect, Outcome, Task

LOG = logging.getLogger(__name__)


# -- the I/O shell ------------------------------------------------------------------------


def find_sources(ctxt: RequestContext, connect: Connect, region: str, names: Sequence[str]) -> None:
    """Each flavor must exist in ``region``, by id or by name (Kingbird's flavors went by name).

    Flavors are global: the caller's project plays no part (the API has made
    sure the caller is an admin).
    """
    conn = connect(region)
    for name in names:
        try:
            found = nova.locate(conn, name, name)
        except errors.UNREACHABLE as exc:
            LOG.warning("Could not look up flavor %s in region %s: %s", name, region, exc)
            raise errors.SourceUnavailable(
                "Region %s could not be asked whether flavor %r exists (%s); try again later."
                % (region, name, _why(exc))
            ) from None
        if found is None:
            raise errors.SourceNotFound("Flavor %r not found in region %s (by id or by name)." % (name, region))


# A create answered 409 means someone made a flavor with that id or name
# between our look and our create: look again and decide again, once.
_DECISIONS = 2


class _Taken(Exception):
    """The target answered a create with 409."""


def sync(task: Task) -> Outcome:
    item = task.item
    body = nova.locate(task.source, item.resource, item.resource)
    if body is None:
        return Outcome.failure(
            ERROR,
            "Flavor %s no longer exists in the source region %s; nothing to copy."
            % (item.resource, item.source_region),
        )
    source = nova.read(task.source, body)
    conn = task.target
    for _ in range(_DECISIONS):
        # The same id, else the same name: a flavor of another id holds the name a copy needs.
        found = nova.locate(conn, source.id, source.name, any_case=True)
        target = nova.read(conn, found) if found is not None else None
        copy = task.record.find(source.id)
        resume = copy is not None and not copy.complete and target is not None and target.id == copy.target_id
        decision = decide(source, target, item.force, resume)
        if decision.result == UNCHANGED:
            task.record.keep(source.id, source.id, complete=True)
            return Outcome.success(UNCHANGED, source.id)
        if decision.result == CONFLICT:
            assert target is not None
            return Outcome.failure(
                CONFLICT,
                "Flavor %s (id %s) in %s differs from %s in %s; sync with force to replace it."
                % (target.name, target.id, item.target_region, item.source_region, ", ".join(decision.differing)),
                target_id=target.id,
            )
        if decision.result == UPDATED:
            LOG.info(
                "Updating flavor %s (id %s) in %s in place: %s%s",
                source.name,
                source.id,
                item.target_region,
                ", ".join(decision.differing),
                " (finishing kingsync's own copy)" if resume and not item.force else " (force)",
            )
        elif decision.result == REPLACED:
            assert target is not None
            LOG.info(
                "Replacing flavor %s (id %s) in %s, which differs in %s (force)",
                target.name,
                target.id,
                item.target_region,
                ", ".join(decision.differing),
            )
        try:
            return _take(task, conn, source, decision, own=resume)
        except _Taken:
            LOG.info("Flavor %s (id %s) appeared in %s meanwhile", source.name, source.id, item.target_region)
    return Outcome.failure(
        ERROR,
        "Flavor %s in %s kept changing while kingsync copied it; run the sync again."
        % (source.name, item.target_region),
    )


def _take(task: Task, conn: openstack.connection.Connection, source: Flavor, decision: Decision, own: bool) -> Outcome:
    """Take the steps of ``decision`` in order. ``own``: the target is kingsync's unfinished copy.

    Transient errors propagate for the engine to retry; the copy is on record
    (unfinished) from the moment nova made it, so the retry finishes it.
    """
    region, path = task.item.target_region, nova.path(source.id)
    made = False  # by this attempt
    for step in decision.steps:
        match step:
            case CheckSpecs(specs):
                refusal = nova.check_specs(conn, region, specs)
                if refusal is not None:
                    return _specs_refused(task, conn, source, refusal, unmake=False, replaced=False)
            case Delete(flavor_id):
                nova.call(conn, "DELETE", nova.path(flavor_id), missing_ok=True)
                copy = task.record.find(source.id)
                if copy is not None and copy.target_id == flavor_id:
                    task.record.forget(source.id)
            case Create(flavor):
                try:
                    nova.call(conn, "POST", "/flavors", nova.create_body(flavor))
                except rest.ServiceError as exc:
                    if exc.status == 409:
                        raise _Taken() from None
                    raise
                task.record.keep(source.id, source.id, complete=False)
                made = True
            case SetSpecs(specs):
                try:
                    rest.call(
                        conn,
                        "compute",
                        "POST",
                        path + "/os-extra_specs",
                        body={"extra_specs": dict(specs)},
                        microversion=nova.specs_microversion(conn, region),
                    )
                except rest.ServiceError as exc:
                    if exc.status != 400:
                        raise
                    return _specs_refused(
                        task, conn, source, exc, unmake=made or own, replaced=decision.result == REPLACED
                    )
            case UnsetSpec(key):
                nova.call(conn, "DELETE", path + "/os-extra_specs/" + nova.quote(key), missing_ok=True)
            case Describe(description):
                nova.call(conn, "PUT", path, {"flavor": {"description": description}})
            case Grant(project_id):
                try:
                    nova.call(conn, "POST", path + "/action", {"addTenantAccess": {"tenant": project_id}})
                except rest.ServiceError as exc:
                    if exc.status == 409:
                        continue  # it has access already
                    if exc.status not in (400, 404):
                        raise
                    # The flavor stays (on record as unfinished if kingsync made it): it is
                    # usable by fewer projects, not by wrong ones.
                    return Outcome.failure(
                        ERROR,
                        "%s refused access to flavor %s for project %s: %s"
                        % (region, source.name, project_id, exc.message),
                        target_id=source.id,
                    )
            case Revoke(project_id):
                nova.call(
                    conn, "POST", path + "/action", {"removeTenantAccess": {"tenant": project_id}}, missing_ok=True
                )
    task.record.keep(source.id, source.id, complete=True)
    return Outcome.success(decision.result, source.id)


def _specs_refused(
    task: Task,
    conn: openstack.connection.Connection,
    source: Flavor,
    refusal: rest.ServiceError,
    unmake: bool,
    replaced: bool,
) -> Outcome:
    """A flavor kingsync made without the specs it was made for is deleted again: a
    server booted from it would land where the specs say it must not. One that was
    there before is left as it was (the specs are the first in-place step)."""
    message = "%s refused the extra specs of flavor %s: %s" % (
        task.item.target_region,
        source.name,
        _sentence(refusal.message),
    )
    if not unmake:
        return Outcome.failure(ERROR, message + " The flavor there was left as it was.", target_id=source.id)
    nova.call(conn, "DELETE", nova.path(source.id), missing_ok=True)
    task.record.forget(source.id)
    LOG.info(
        "Deleted flavor %s (id %s) from %s again: its extra specs were refused",
        source.name,
        source.id,
        task.item.target_region,
    )
    instead = " in place of the one it replaced" if replaced else ""
    return Outcome.failure(
        ERROR,
        message + " kingsync deleted the flavor it had made there%s, so none stays without its extra specs." % instead,
    )


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _why(exc: Exception) -> str:
    if isinstance(exc, rest.ServiceError):
        return "nova answered %d: %s" % (exc.status, exc.message)
    return type(exc).__name__
