"""Flavor sync: copy a flavor to a target region under the same id, with the
same sizes, description, extra specs and, for a private one, project access.

Flavors belong to a region, not to a user or a project, and only admins
manage them: kingsync reads and writes them with its own admin credentials,
in raw REST (kingsync.regions.rest) at microversion 2.61, the first that
shows a flavor's description and extra specs in one answer.

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

import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import openstack.connection
import requests
from keystoneauth1 import exceptions as ks_exceptions
from oslo_log import log as logging

from kingsync.context import RequestContext
from kingsync.db.models import CONFLICT, ERROR, REPLACED, UNCHANGED, UPDATED
from kingsync.regions import rest
from kingsync.sync import errors
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

READ_MICROVERSION = "2.61"  # description and extra_specs in every flavor; description writable (2.55)
VALIDATED_SPECS = (2, 86)  # nova validates extra specs from here on
VALIDATED_SPECS_MICROVERSION = "2.86"


# -- the I/O shell ------------------------------------------------------------------------


def find_sources(ctxt: RequestContext, connect: Connect, region: str, names: Sequence[str]) -> None:
    """Each flavor must exist in ``region``, by id or by name (Kingbird's flavors went by name).

    Flavors are global: the caller's project plays no part (the API has made
    sure the caller is an admin).
    """
    conn = connect(region)
    for name in names:
        try:
            found = _locate(conn, name, name)
        except (rest.ServiceError, ks_exceptions.ClientException, requests.RequestException) as exc:
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
    body = _locate(task.source, item.resource, item.resource)
    if body is None:
        return Outcome.failure(
            ERROR,
            "Flavor %s no longer exists in the source region %s; nothing to copy."
            % (item.resource, item.source_region),
        )
    source = _read(task.source, body)
    conn = task.target
    for _ in range(_DECISIONS):
        # The same id, else the same name: a flavor of another id holds the name a copy needs.
        found = _locate(conn, source.id, source.name, any_case=True)
        target = _read(conn, found) if found is not None else None
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
    region, path = task.item.target_region, _path(source.id)
    made = False  # by this attempt
    for step in decision.steps:
        match step:
            case CheckSpecs(specs):
                refusal = _check_specs(conn, region, specs)
                if refusal is not None:
                    return _specs_refused(task, conn, source, refusal, unmake=False, replaced=False)
            case Delete(flavor_id):
                _call(conn, "DELETE", _path(flavor_id), missing_ok=True)
                copy = task.record.find(source.id)
                if copy is not None and copy.target_id == flavor_id:
                    task.record.forget(source.id)
            case Create(flavor):
                try:
                    rest.call(
                        conn, "compute", "POST", "/flavors", body=_create_body(flavor), microversion=READ_MICROVERSION
                    )
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
                        microversion=_specs_microversion(conn, region),
                    )
                except rest.ServiceError as exc:
                    if exc.status != 400:
                        raise
                    return _specs_refused(
                        task, conn, source, exc, unmake=made or own, replaced=decision.result == REPLACED
                    )
            case UnsetSpec(key):
                _call(conn, "DELETE", path + "/os-extra_specs/" + _quote(key), missing_ok=True)
            case Describe(description):
                _call(conn, "PUT", path, {"flavor": {"description": description}})
            case Grant(project_id):
                try:
                    _call(conn, "POST", path + "/action", {"addTenantAccess": {"tenant": project_id}})
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
                _call(conn, "POST", path + "/action", {"removeTenantAccess": {"tenant": project_id}}, missing_ok=True)
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
    _call(conn, "DELETE", _path(source.id), missing_ok=True)
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


def _check_specs(
    conn: openstack.connection.Connection, region: str, specs: Mapping[str, str]
) -> rest.ServiceError | None:
    """Nova's refusal of ``specs``, asked without touching any flavor: from 2.86 nova
    checks the specs before it looks the flavor up, so a POST to a flavor that does
    not exist answers 400 for specs it refuses and 404 for specs it would take.
    Below 2.86 nothing is checked, and nothing is refused."""
    microversion = _specs_microversion(conn, region)
    if microversion != VALIDATED_SPECS_MICROVERSION:
        return None
    nowhere = _path("kingsync-check-" + uuid.uuid4().hex)
    try:
        rest.call(
            conn,
            "compute",
            "POST",
            nowhere + "/os-extra_specs",
            body={"extra_specs": dict(specs)},
            microversion=microversion,
        )
    except rest.ServiceError as exc:
        if exc.status == 400:
            return exc
        if exc.status != 404:
            raise
    return None


def _specs_microversion(conn: openstack.connection.Connection, region: str) -> str:
    """2.86 where the region has it, so nova checks the specs; else 2.61.

    keystoneauth asks the region once per session and keeps the answer; a
    failed discovery is not kept, but shows as no newest microversion.
    """
    data = conn.compute.get_endpoint_data()
    newest = data.max_microversion if data is not None else None
    if not newest:
        raise errors.RetryLater(
            "%s did not say which compute microversions it supports (version discovery failed)." % region
        )
    return VALIDATED_SPECS_MICROVERSION if tuple(newest) >= VALIDATED_SPECS else READ_MICROVERSION


def _create_body(flavor: Flavor) -> dict[str, Any]:
    return {
        "flavor": {
            "id": flavor.id,
            "name": flavor.name,
            "ram": flavor.ram,
            "vcpus": flavor.vcpus,
            "disk": flavor.disk,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
            "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor,
            "os-flavor-access:is_public": flavor.is_public,
            "description": flavor.description,
        }
    }


def _locate(
    conn: openstack.connection.Connection, flavor_id: str, name: str, any_case: bool = False
) -> dict[str, Any] | None:
    """Nova's flavor with id ``flavor_id``, else the one named ``name``; None if neither.

    ``any_case``: match the name as nova's unique index does (MariaDB's
    collation ignores case), to find the flavor that would refuse a copy's name.
    """
    shown = _show(conn, flavor_id)
    if shown is not None:
        return shown
    flavors = _list(conn)
    for flavor in flavors:
        if flavor["id"] == flavor_id:
            return flavor
    wanted = name.casefold() if any_case else name
    for flavor in flavors:
        if (flavor["name"].casefold() if any_case else flavor["name"]) == wanted:
            return flavor
    return None


def _show(conn: openstack.connection.Connection, flavor_id: str) -> dict[str, Any] | None:
    answer = _call(conn, "GET", _path(flavor_id), missing_ok=True)
    # GET /flavors/detail is the list, whatever a flavor with id "detail" says.
    if not isinstance(answer, dict) or "flavor" not in answer:
        return None
    flavor: dict[str, Any] = answer["flavor"]
    return flavor


def _list(conn: openstack.connection.Connection) -> list[dict[str, Any]]:
    """Every flavor, public and private (is_public=None, for admins), page by page."""
    flavors: list[dict[str, Any]] = []
    query = "?is_public=None"
    while True:
        answer = rest.call(conn, "compute", "GET", "/flavors/detail" + query, microversion=READ_MICROVERSION)
        page = answer["flavors"]
        flavors.extend(page)
        # nova links a next page when this one is full (its max_limit, 1000 by default)
        if not page or not answer.get("flavors_links"):
            return flavors
        query = "?is_public=None&marker=" + _quote(page[-1]["id"])


def _read(conn: openstack.connection.Connection, body: dict[str, Any]) -> Flavor:
    """The flavor of ``body`` with its access list (nova has one only for private flavors)."""
    access: list[str] = []
    if not body.get("os-flavor-access:is_public", True):
        answer = _call(conn, "GET", _path(str(body["id"])) + "/os-flavor-access")
        access = [str(row["tenant_id"]) for row in answer["flavor_access"]]
    return Flavor.from_api(body, access)


def _call(
    conn: openstack.connection.Connection,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    missing_ok: bool = False,
) -> Any:
    """One compute call at 2.61; ``missing_ok``: a 404 answers None (already gone, or never there)."""
    try:
        return rest.call(conn, "compute", method, path, body=body, microversion=READ_MICROVERSION)
    except rest.ServiceError as exc:
        if missing_ok and exc.status == 404:
            return None
        raise


def _path(flavor_id: str) -> str:
    return "/flavors/" + _quote(flavor_id)


def _quote(text: str) -> str:
    # Ids and spec keys may hold spaces; a name looked up as an id may hold anything.
    return urllib.parse.quote(text, safe="")


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _why(exc: Exception) -> str:
    if isinstance(exc, rest.ServiceError):
        return "nova answered %d: %s" % (exc.status, exc.message)
    return type(exc).__name__
