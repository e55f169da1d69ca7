"""The glance-download import flow (glance's ``api_image_import`` flow with
its ``glance_download`` plugin), run as a task on the simulator's loop.

The target region's glance reads the source image's record, then its data,
from the source region's glance over HTTP, as real glance does: at the
endpoint the caller's token catalog names for the source region (matched
case-insensitively) and interface, with the caller's token. So the source
region's faults, visibility rules and policies apply to the copy.

Steps and what a failure leaves, as glance 33 leaves it (tried on the
devcloud):

1. Start: the image goes ``importing``, ``os_glance_importing_to_stores``
   names the store, ``os_glance_failed_import`` is emptied.
2. Metadata: the source record must be ``active``; its formats and the
   properties under ``[glance_download_properties] extra_properties`` are
   copied. A failure up to here is reverted cleanly: the image is ``queued``
   again with its own formats and properties, the lock is dropped, and
   ``os_glance_importing_to_stores`` still names the store.
3. Data: ``/file`` is streamed to disk and must have the source's size; it
   becomes the image's data (size, checksum, multihash). A failure here is
   reverted only halfway: glance's revert of step 2 fails (status queued to
   queued is not allowed), so the image stays ``queued`` with the source's
   formats and properties, ``os_glance_failed_import`` naming the store and
   the failed task still holding the lock: a new import gets 409 "Image has
   active task" until the lock expires (an hour).
4. The image goes ``active``, then the task ``success``, then the lock is
   dropped. Every failure's task message is glance's "Task failed due to
   Internal Error"; the reason goes to the simulator's log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from kingsync.sim.image import store, tasks
from kingsync.sim.image.state import Json, now

if TYPE_CHECKING:
    from kingsync.sim.image.service import Service

LOG = logging.getLogger(__name__)

LOCK = "os_glance_import_task"
IMPORTING = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
# [glance_download_properties] extra_properties: prefixes of the properties copied.
COPIED_PREFIXES = ("hw_", "trait:", "os_distro", "os_secure_boot", "os_type")
MiB = 1024 * 1024
# urllib, as glance uses it, has no timeout; these only keep a flow from
# waiting forever on a source that never answers.
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=600)


class SourceError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Source:
    """The ``glance_*`` fields of the import request, and the caller's token and catalog."""

    image_id: str
    region: Any
    interface: Any
    token: str
    catalog: list[Json]

    def endpoint(self) -> str:
        """``async_.utils.get_glance_endpoint``."""
        for service in self.catalog:
            if service["type"] != "image" or not isinstance(self.region, str):
                continue
            for endpoint in service["endpoints"]:
                if endpoint["region"].lower() == self.region.lower() and endpoint["interface"] == self.interface:
                    return str(endpoint["url"])
        raise SourceError("no %s image endpoint in region %s" % (self.interface, self.region))

    def url(self, suffix: str = "") -> str:
        return "%s/v2/images/%s%s" % (self.endpoint(), self.image_id, suffix)


async def run(svc: Service, image_id: str, task_id: str, stores: list[str], source: Source) -> None:
    task = svc.state.task(image_id, task_id)
    if task is None:
        return  # the image is gone, and its tasks with it
    tasks.update(task, status="processing")
    image = _held(svc, image_id, task_id)
    if image is None:
        tasks.finish(task, "failure", message=tasks.INTERNAL_ERROR)
        return
    _merge(image, IMPORTING, stores)
    _merge(image, FAILED, stores, remove=True)
    image["properties"].pop("os_glance_stage_host", None)
    image.update(status="importing", updated_at=now())
    step = "metadata"
    copied: dict[str, Any] = {}
    before: Json = {"properties": {}, "formats": {}}
    sink: store.Sink | None = None
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            record = await _fetch_record(http, source)
            image = _held_or_fail(svc, image_id, task_id)
            copied = {k: v for k, v in record.items() if k.startswith(COPIED_PREFIXES)}
            before = {
                "properties": dict(image["properties"]),
                "formats": {k: image[k] for k in ("disk_format", "container_format")},
            }
            image.update(disk_format=record["disk_format"], container_format=record["container_format"])
            image["properties"].update(copied)
            size = _size(record)
            step = "data"
            sink = store.Sink(svc.data_path(image_id))
            await _fetch_data(http, source, sink, size)
        _store(_held_or_fail(svc, image_id, task_id), sink, stores, task)
    except asyncio.CancelledError:
        if sink is not None:
            sink.discard()
        raise  # the simulator is stopping: left as a glance-api crash leaves it
    except Exception as exc:
        LOG.info("glance-download %s of image %s failed in the %s step: %s", task_id, image_id, step, exc)
        if sink is not None:
            sink.discard()
        image = svc.state.images.get(image_id)
        if image is not None and step == "metadata":
            _revert_metadata(image, task_id, copied, before)
        elif image is not None:
            _revert_data(image, stores)
        tasks.finish(task, "failure", message=tasks.INTERNAL_ERROR)
        return
    await asyncio.sleep(0)  # the task ends after the image went active
    tasks.finish(task, "success", result={"image_id": image_id})
    _drop_lock(svc.state.images.get(image_id), task_id)


async def _fetch_record(http: aiohttp.ClientSession, source: Source) -> Json:
    async with http.get(source.url(), headers={"X-Auth-Token": source.token}) as resp:
        if resp.status >= 400:
            raise SourceError("GET %s: %d" % (resp.url, resp.status))
        record: Json = await resp.json(content_type=None)
    if record.get("status") != "active":
        raise SourceError("Source image status should be active instead of %s" % record.get("status"))
    return record


def _size(record: Json) -> int:
    try:
        return int(record["size"])
    except (KeyError, TypeError, ValueError):
        raise SourceError("Size attribute of remote image %s could not be determined." % record.get("id")) from None


async def _fetch_data(http: aiohttp.ClientSession, source: Source, sink: store.Sink, size: int) -> None:
    async with http.get(source.url("/file"), headers={"X-Auth-Token": source.token}) as resp:
        if resp.status >= 400:
            raise SourceError("GET %s: %d" % (resp.url, resp.status))
        async for chunk in resp.content.iter_chunked(store.CHUNK):
            await sink.write(chunk)
    if sink.size != size:
        raise SourceError("downloaded data size %d is different from expected %d" % (sink.size, size))


def _store(image: Json, sink: store.Sink, stores: list[str], task: Json) -> None:
    """The staged data becomes the image's, which goes active."""
    if image["stored"]:
        raise SourceError("the store holds data for image %s already" % image["id"])
    virtual = store.virtual_size(image["disk_format"], image["container_format"], sink.head, sink.size)
    sink.commit()
    image.update(
        size=sink.size,
        virtual_size=virtual,
        checksum=sink.md5.hexdigest(),
        os_hash_algo=store.HASH_ALGO,
        os_hash_value=sink.multihash.hexdigest(),
        stored=True,
        status="active",
        updated_at=now(),
    )
    _merge(image, IMPORTING, stores, remove=True)
    tasks.update(task, message="Copied %i MiB" % (sink.size // MiB))


def _revert_metadata(image: Json, task_id: str, copied: dict[str, Any], before: Json) -> None:
    """The metadata step's revert, then the lock's: the image as it was."""
    properties = image["properties"]
    for key in copied:
        if key not in before["properties"]:
            properties.pop(key, None)
    properties.update({k: v for k, v in before["properties"].items() if not k.startswith("os_glance")})
    image.update(status="queued", updated_at=now(), **before["formats"])
    _drop_lock(image, task_id)


def _revert_data(image: Json, stores: list[str]) -> None:
    """The download step's revert; glance's revert stops after it."""
    image.update(status="queued", updated_at=now())
    _merge(image, IMPORTING, stores, remove=True)
    _merge(image, FAILED, stores)


def _held(svc: Service, image_id: str, task_id: str) -> Json | None:
    """The image, if it still exists and this task holds its import lock."""
    image = svc.state.images.get(image_id)
    if image is None or image["properties"].get(LOCK) != task_id:
        return None
    return image


def _held_or_fail(svc: Service, image_id: str, task_id: str) -> Json:
    image = _held(svc, image_id, task_id)
    if image is None:
        raise SourceError("image %s is gone or another task holds it" % image_id)
    return image


def _drop_lock(image: Json | None, task_id: str) -> None:
    if image is not None and image["properties"].get(LOCK) == task_id:
        del image["properties"][LOCK]


def _merge(image: Json, key: str, stores: list[str], remove: bool = False) -> None:
    """``_ImportActions.merge_store_list``: a sorted, comma-separated set."""
    existing = set(image["properties"].get(key, "").split(","))
    merged = existing - set(stores) if remove else existing | set(stores)
    image["properties"][key] = ",".join(sorted(s for s in merged if s))
