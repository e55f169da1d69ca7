"""POST /v2/images/{id}/import: the checks glance 33 makes before it accepts
an import (``images.RequestDeserializer._validate_import_body`` and
``ImagesController.import_image``), in its order, and the task it starts.

Only glance-download runs (``glance_download.run``); an import by another
method that passes every check is refused with a 501 naming the method.
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

from aiohttp import web

from kingsync.sim.image import glance_download, tasks
from kingsync.sim.image.policy import SERVER_ERROR, enforce, fail, lookup, may_modify
from kingsync.sim.image.service import Service, read_body, request_id
from kingsync.sim.image.state import Json
from kingsync.sim.image.store import STORE_ID

METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")  # what glance knows
# The devcloud's RegionOne; its other regions add glance-download.
BASE_METHODS = ("glance-direct", "web-download")
LOCK = glance_download.LOCK
LOCK_EXPIRY_MINUTES = 60  # twice that for a task still pending


def default_methods(first_region: bool) -> list[str]:
    """``enabled_import_methods`` of a region, as the devcloud sets them."""
    return list(BASE_METHODS) if first_region else [*BASE_METHODS, "glance-download"]


class Imports:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    async def create(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        body = await read_body(request)
        name = self._check_body(body)
        method: Json = body["method"]
        image = lookup(self.svc.state, ctx, request.match_info["image_id"])
        _check_target(image, name)
        if name == "glance-download":
            _check_source(method)
        if name == "copy-image":
            enforce(ctx.is_admin, ctx, image, "copy_image")
        else:
            enforce(may_modify(ctx, image), ctx, image, "modify_image")
        stale = self._take_over_lock(image)
        stores = _stores(request, body)
        if name == "web-download" and not _passes_filtering(method.get("uri")):
            fail(400, "URI for web-download does not pass filtering: %s" % (method.get("uri"),))
        if name != "glance-download":
            fail(501, "kingsync-sim does not simulate the '%s' import method." % name)
        task_input = {"image_id": image["id"], "import_req": body, "backend": stores}
        task = tasks.new_task(ctx, image["id"], request_id(request), task_input)
        if stale is not None:
            _clear_progress(image, stale)
        image["properties"][LOCK] = task["id"]
        self.svc.state.add_task(task)
        source = glance_download.Source(
            image_id=method["glance_image_id"],
            region=method["glance_region"],
            interface=method["glance_service_interface"],
            token=request.headers["X-Auth-Token"],
            catalog=self.svc.cloud.catalog(),
        )
        self.svc.cloud.spawn(glance_download.run(self.svc, image["id"], task["id"], stores, source))
        # webob's empty 202, labelled text/html like glance's 204s.
        return web.Response(status=202, headers={"Content-Type": "text/html; charset=UTF-8"})

    def _check_body(self, body: Any) -> Any:
        """The deserializer's checks; the method's name."""
        if not isinstance(body, dict):
            fail(500, SERVER_ERROR)  # glance indexes the array and trips over it
        if "method" not in body:
            fail(400, "Import request requires a 'method' field.")
        if not isinstance(body["method"], dict):
            fail(500, SERVER_ERROR)
        if "name" not in body["method"]:
            fail(400, "Import request requires a 'name' field.")
        name = body["method"]["name"]
        if name not in self.svc.import_methods:
            fail(400, "Unknown import method name '%s'." % (name,))
        for key, default in (("all_stores_must_succeed", True), ("all_stores", False)):
            if not isinstance(body.get(key, default), bool):
                fail(400, "'%s' must be boolean value only" % key)
        return name

    def _take_over_lock(self, image: Json) -> Json | None:
        """``_enforce_import_lock``: 409 while another import holds the image,
        unless its task is gone or has not moved for an hour (two while
        pending); then the lock is broken and that task returned."""
        holder = image["properties"].get(LOCK)
        if holder is None:
            return None
        task = self.svc.state.task(image["id"], holder)
        if task is not None:
            expiry = LOCK_EXPIRY_MINUTES * (2 if task["status"] == "pending" else 1)
            if tasks.age(task).total_seconds() < expiry * 60:
                fail(409, "Image has active task")
            if task["status"] in ("pending", "processing"):
                tasks.finish(task, "failure", message="Expired lock preempted")
        del image["properties"][LOCK]
        return task


def _check_target(image: Json, name: Any) -> None:
    status = image["status"]
    if status == "active" and name != "copy-image":
        fail(409, "Image with status active cannot be target for import")
    if status != "active" and name == "copy-image":
        fail(409, "Only images with status active can be targeted for copying")
    if status != "queued" and name in ("web-download", "glance-download"):
        fail(409, "Image needs to be in 'queued' state to use '%s' method" % name)
    if status != "uploading" and name == "glance-direct":
        fail(409, "Image needs to be staged before 'glance-direct' method can be used")
    for key in ("container_format", "disk_format"):
        if not image[key]:
            fail(409, "'%s' needs to be set before import" % key)


def _check_source(method: Json) -> None:
    """The glance-download fields; the interface defaults to public."""
    for key in ("glance_region", "glance_image_id"):
        if key not in method:
            fail(400, "'%s' needs to be set for glance-download import method" % key)
    source_id = method["glance_image_id"]
    if not isinstance(source_id, str):
        fail(500, SERVER_ERROR)  # uuid.UUID() raises something other than ValueError
    try:
        uuid.UUID(source_id)
    except ValueError:
        fail(400, "Remote image id does not look like a UUID: %s" % source_id)
    method.setdefault("glance_service_interface", "public")


def _stores(request: web.Request, body: Json) -> list[str]:
    """``utils.get_stores_from_request``: the stores to import to (only "fs" exists)."""
    header = request.headers.get("X-Image-Meta-Store")
    if body.get("all_stores", False):
        if "stores" in body or header is not None:
            fail(400, "All_stores parameter can't be used with x-image-meta-store header or stores parameter")
        return [STORE_ID]
    if "stores" not in body:
        stores: Any = [header or STORE_ID]
    elif header is not None:
        fail(400, "Stores parameter and x-image-meta-store header can't be both specified")
    else:
        stores = body["stores"]
    if not isinstance(stores, list | str):
        fail(500, SERVER_ERROR)
    for store in stores:
        if store != STORE_ID:
            fail(409, "Store for identifier %s not found" % store)
    return list(stores)


def _passes_filtering(uri: Any) -> bool:
    """``[import_filtering_opts]`` at glance's defaults: http(s) on port 80 or 443."""
    if not isinstance(uri, str):
        return False
    try:
        parsed = urllib.parse.urlsplit(uri)
        port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname) and port in (80, 443)


def _clear_progress(image: Json, stale: Json) -> None:
    """``_cleanup_stale_task_progress``: the broken lock's stores leave the
    importing and failed lists."""
    for store in stale["input"].get("backend", []):
        for key in (glance_download.IMPORTING, glance_download.FAILED):
            values = image["properties"].get(key, "").split(",")
            if store in values:
                values.remove(store)
            image["properties"][key] = ",".join(values)
