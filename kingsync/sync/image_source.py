"""Which image a sync request names, in the source region: the API's check
before a job is made, and the engine's lookup of the same name.

An image is named by id, or by name among the requesting project's images.
A project syncs only the images it owns: another project's public or
community image is refused, another's private or shared one is not found
(it is not the caller's to know of). An admin (``ctxt.is_admin``, from the
policy rule kingsync:sync:any_owner) may name any image by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openstack.connection
from oslo_log import log as logging
from oslo_utils import uuidutils

from kingsync.context import RequestContext
from kingsync.sync import errors, glance
from kingsync.sync import image_plan as plan
from kingsync.sync.task import Connect

LOG = logging.getLogger(__name__)


def find_sources(ctxt: RequestContext, connect: Connect, region: str, names: Sequence[str]) -> None:
    """Each image must exist in ``region`` and be active: by id, or by name among the
    caller's project's images. A tenant may name only its project's images
    (``ctxt.is_admin``: the caller may sync any project's)."""
    conn = connect(region)
    project_id = str(ctxt.project_id)
    for name in names:
        try:
            body = locate(conn, name, project_id)
        except errors.UNREACHABLE as exc:
            LOG.warning("Could not look up image %s in region %s: %s", name, region, exc)
            raise errors.SourceUnavailable(
                "Region %s could not be asked whether image %r exists (%s); try again later." % (region, name, exc)
            ) from None
        owner = body.get("owner") if body is not None else None
        if body is not None and owner != project_id and not ctxt.is_admin:
            if body.get("visibility") not in ("public", "community"):
                body = None  # another project's private or shared image: not the caller's to know of
            else:
                raise errors.SourceRefused(
                    "Image %s in region %s belongs to project %s: a project syncs only its own images "
                    "(an admin may sync any)." % (name, region, owner)
                )
        if body is None:
            raise errors.SourceNotFound(
                "Image %r not found in region %s (by id, or by name among the images of project %s)."
                % (name, region, project_id)
            )
        if body.get("status") != plan.ACTIVE:
            raise errors.SourceNotReady(
                "Image %s in region %s is %s: only an active image can be synced." % (name, region, body.get("status"))
            )


def locate(conn: openstack.connection.Connection, name: str, project_id: str) -> dict[str, Any] | None:
    """The image with id ``name``, else the one image of the project called ``name``;
    SourceAmbiguous if the project has several."""
    if uuidutils.is_uuid_like(name):
        body = glance.get(conn, name)
        if body is not None:
            return body
    found = glance.by_name(conn, name, project_id)
    if len(found) > 1:
        raise errors.SourceAmbiguous(
            "Project %s has %d images called %r in region %s; name the one to sync by its id."
            % (project_id, len(found), name, conn.config.region_name)
        )
    return found[0] if found else None
