"""The two ways an image's data reaches a target region.

    glance-download  the target's glance pulls the data from the source's
                     itself (sync-facts §1): kingsync asks it to, then
                     follows the import through the image and its tasks
    stream           the engine reads the source once and sends each chunk to
                     every such target at once (kingsync.sync.image_stream)

``choose`` picks one per target: glance-download where the target offers it
(GET /v2/info/import) and [images] glance_download is on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

import openstack.connection
from oslo_log import log as logging

from kingsync.conf import CONF
from kingsync.regions import rest
from kingsync.sync import errors, glance, image_stream
from kingsync.sync import image_plan as plan
from kingsync.sync.image_plan import Image

LOG = logging.getLogger(__name__)

DOWNLOAD = "glance-download"
STREAM = "stream"
_FIRST_LOOK = 0.1  # seconds before the first look at an import
# Glance's import lock: held by the import's task until its very end. The task
# saves the image once more as it lets go, after the image is active, so a
# change made to the copy before then may be written over (seen on glance 33:
# a copy shown at once was hidden again).
_IMPORT_LOCK = "os_glance_import_task"


class ImportLocked(Exception):
    """The copy is locked by an earlier import that failed mid-copy: glance frees
    the lock only after an hour (sync-facts §1.5), or when the image is deleted."""


def choose(conn: openstack.connection.Connection) -> str:
    """glance-download where the target offers it and kingsync may use it, else the stream."""
    if not CONF.images.glance_download:
        return STREAM
    try:
        methods = glance.import_methods(conn)
    except rest.ServiceError as exc:
        LOG.info("%s does not say which import methods it has (%s); streaming", conn.config.region_name, exc.message)
        return STREAM
    return DOWNLOAD if glance.GLANCE_DOWNLOAD in methods else STREAM


# -- glance-download ----------------------------------------------------------------------------


def start_import(
    conn: openstack.connection.Connection, image_id: str, source: Image, source_region: str
) -> frozenset[str]:
    """Ask the target's glance to pull ``source`` into its queued ``image_id``;
    returns the ids of the image's tasks from before (not this import's)."""
    known = frozenset(str(task["id"]) for task in _tasks(conn, image_id))
    try:
        glance.import_from(conn, image_id, source.id, source_region, CONF.images.glance_download_interface)
    except rest.ServiceError as exc:
        if exc.status == 409 and "active task" in exc.message:
            raise ImportLocked(
                "%s holds an import lock on %s from an import that failed mid-copy (%s)"
                % (conn.config.region_name, image_id, exc.message)
            ) from None
        raise
    LOG.info("Asked %s to import image %s from %s (glance-download)", conn.config.region_name, source.id, source_region)
    return known


def await_import(conn: openstack.connection.Connection, image_id: str, source: Image, known: frozenset[str]) -> None:
    """Follow the import until the copy is active and glance has let go of it
    (its import lock is gone). A failed import leaves the
    copy queued (glance's way) and its reason in the image's tasks; a task in
    ``known`` is an earlier import's. Failures raise RetryLater: the retry
    imports again into the same queued copy."""
    region = conn.config.region_name
    options = CONF.images
    deadline = time.monotonic() + options.import_timeout
    # A small image is done in well under a second: look soon, then less and less often.
    pause = min(_FIRST_LOOK, options.import_poll_interval)
    while True:
        body = glance.get(conn, image_id)
        if body is None:
            raise errors.RetryLater("The copy %s in %s disappeared during its import." % (image_id, region))
        status = body.get("status")
        if status == plan.ACTIVE and not body.get(_IMPORT_LOCK):
            return
        if status == plan.QUEUED:
            failed = [
                task
                for task in _tasks(conn, image_id)
                if str(task["id"]) not in known and task.get("status") == "failure"
            ]
            if failed:
                raise errors.RetryLater(
                    "The glance-download import of image %s into %s failed: %s (the copy stays hidden and "
                    "queued there; doc/sync.md lists the glance settings it needs)."
                    % (source.id, region, failed[0].get("message") or "no reason given")
                )
        elif status not in (plan.IMPORTING, plan.ACTIVE):
            raise errors.RetryLater("The copy %s in %s is %s during its import." % (image_id, region, status))
        if time.monotonic() >= deadline:
            raise errors.RetryLater(
                "The glance-download import of image %s into %s did not end within %.0f s "
                "([images] import_timeout); it was %s." % (source.id, region, options.import_timeout, status)
            )
        time.sleep(pause)
        pause = min(pause * 2, options.import_poll_interval)


def _tasks(conn: openstack.connection.Connection, image_id: str) -> list[dict[str, Any]]:
    try:
        return glance.tasks(conn, image_id)
    except rest.ServiceError as exc:
        if exc.status in (404, 406):  # a glance before API 2.12: no tasks to read
            return []
        raise


# -- the stream -----------------------------------------------------------------------------------

# target region -> (its connection, the copy's id there, its progress callback)
Sinks = Mapping[str, tuple[openstack.connection.Connection, str, Callable[[int, int], None]]]


def stream(source_conn: openstack.connection.Connection, source: Image, sinks: Sinks) -> dict[str, Exception | None]:
    """Read the source once, upload to every target at once. Returns, per target
    region, its error (None: its glance took the whole image).

    The engine does not hash what it reads: each glance hashes what it stores,
    and the copy is checked against the source's hash (image_plan.verify), which
    catches a bad read as well as a bad write.
    """
    size = int(source.size or 0)
    options = CONF.images

    def upload(conn: openstack.connection.Connection, image_id: str, pipe: image_stream.Pipe) -> None:
        glance.upload(conn, image_id, pipe, size)

    def progress(region: str, done: int) -> None:
        sinks[region][2](done, size)

    try:
        resp = glance.download(source_conn, source.id)
        result = image_stream.fan_out(
            glance.chunks(resp, options.chunk_kib * 1024),
            size,
            {region: functools.partial(upload, conn, image_id) for region, (conn, image_id, _) in sinks.items()},
            depth=options.buffer_chunks,
            stall_timeout=options.stall_timeout,
            progress=progress,
        )
    except image_stream.SourceCut as exc:
        cut = errors.RetryLater("Reading image %s from %s: %s." % (source.id, source_conn.config.region_name, exc))
        return {region: cut for region in sinks}
    except Exception as exc:
        return {region: exc for region in sinks}
    LOG.info("Streamed image %s (%d bytes, read once) to %s", source.id, result.read, ", ".join(sinks))
    ends: dict[str, Exception | None] = {}
    for region in sinks:
        failure = result.failures[region]
        if failure is None or isinstance(failure, Exception):
            ends[region] = failure
        else:
            ends[region] = errors.RetryLater(str(failure))
    return ends
