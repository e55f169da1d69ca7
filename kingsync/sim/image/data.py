"""Image data: PUT and GET /v2/images/{id}/file (``glance.api.v2.image_data``).

Both directions stream: an upload goes chunk by chunk to a file while md5
and sha512 are computed, a download is read back chunk by chunk, so memory
use does not grow with the image.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from kingsync.sim.image import store
from kingsync.sim.image.patch import UNSUPPORTED_MEDIA
from kingsync.sim.image.policy import SERVER_ERROR, GlanceError, enforce, fail, lookup, may_download, may_modify
from kingsync.sim.image.service import Service, no_content
from kingsync.sim.image.state import Json, now

GONE = (
    "Image %s could not be found after upload. The image may have been deleted during the upload, "
    "cleaning up the chunks uploaded."
)


def _unsupported(request: web.Request, detail: str) -> GlanceError:
    # Without a Content-Type header webob leaves ${CONTENT_TYPE} in the page.
    env = {"CONTENT_TYPE": request.headers["Content-Type"]} if "Content-Type" in request.headers else {}
    return GlanceError(415, "", detail, template=UNSUPPORTED_MEDIA, env=env)


class ImageData:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    # -- upload ------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        expected = self._check_request(request)
        ctx = self.svc.context(request)
        backend = request.headers.get("X-Image-Meta-Store", store.STORE_ID)
        if backend != store.STORE_ID:
            fail(400, "Store for identifier %s not found" % backend)
        image_id = request.match_info["image_id"]
        image = lookup(self.svc.state, ctx, image_id)
        enforce(may_modify(ctx, image), ctx, image, "upload_image")
        _start_saving(image)
        if image["stored"]:
            # Data kept from an upload glance refused (format mismatch):
            # the file store will not overwrite it, and glance answers 500.
            _requeue(image)
            fail(500, SERVER_ERROR)
        sink = store.Sink(self.svc.data_path(image_id))
        try:
            async for chunk in request.content.iter_chunked(store.CHUNK):
                await sink.write(chunk)
                store.check_size(sink.size, expected, finished=False)
            store.check_size(sink.size, expected, finished=True)
        except store.TooLarge:
            self._abandon(sink, image_id)
            fail(413, "The incoming image is too large: The provided image is too large.")
        except store.SizeMismatch as exc:
            self._abandon(sink, image_id)
            fail(400, str(exc))
        except BaseException:
            # A dropped connection (or a cancelled handler) puts the image
            # back in the queue, as glance does for any failed upload.
            self._abandon(sink, image_id)
            raise
        self._finish(request, sink, image_id)
        return no_content()

    @staticmethod
    def _check_request(request: web.Request) -> int | None:
        """The deserializer: an octet-stream body; the size the data must
        have, from X-OpenStack-Image-Size or else the Content-Length."""
        if "Content-Type" not in request.headers:
            raise _unsupported(request, "Invalid content type None")
        if request.content_type != "application/octet-stream":
            raise _unsupported(request, "Invalid content type %s" % request.content_type)
        size = request.headers.get("X-OpenStack-Image-Size")
        if size is None:
            return request.content_length or None
        try:
            return int(size)
        except ValueError:
            fail(400, "Invalid or missing image size in request headers.")

    def _abandon(self, sink: store.Sink, image_id: str) -> None:
        sink.discard()
        image = self.svc.state.images.get(image_id)
        if image is not None and image["status"] == "saving":
            _requeue(image)

    def _finish(self, request: web.Request, sink: store.Sink, image_id: str) -> None:
        image = self.svc.state.images.get(image_id)
        if image is None or image["status"] != "saving":
            sink.discard()
            fail(410, GONE % image_id)
        sink.commit()
        image.update(
            checksum=sink.md5.hexdigest(),
            os_hash_algo=store.HASH_ALGO,
            os_hash_value=sink.multihash.hexdigest(),
            stored=True,
        )
        try:
            virtual = store.virtual_size(image["disk_format"], image["container_format"], sink.head, sink.size)
        except ValueError as exc:
            # glance checks the format after storing the data: the image goes
            # back to queued but keeps its hashes and its data.
            _requeue(image)
            raise _unsupported(request, str(exc)) from None
        image.update(status="active", size=sink.size, virtual_size=virtual, updated_at=now())

    # -- download ------------------------------------------------------------------------

    async def download(self, request: web.Request) -> web.StreamResponse:
        ctx = self.svc.context(request)
        image = lookup(self.svc.state, ctx, request.match_info["image_id"])
        if image["status"] == "deactivated" and not ctx.is_admin:
            fail(403, "The requested image has been deactivated. Image data download is forbidden.")
        enforce(may_download(ctx, image), ctx, image, "download_image")
        if not image["stored"] or not self.svc.data_path(image["id"]).exists():
            # glance_store finds no location, or no file behind it: 204 and no body.
            return web.Response(status=204)
        offset, length, status = _wanted_span(request, image["size"])
        response = web.StreamResponse(status=status)
        response.headers["Content-Type"] = "application/octet-stream"
        if status == 206:
            response.headers["Content-Range"] = "bytes %d-%d/%d" % (offset, offset + length - 1, image["size"])
        if image["checksum"]:
            response.headers["Content-MD5"] = image["checksum"]
        response.content_length = length
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            async for chunk in store.read(self.svc.data_path(image["id"]), offset, length):
                await response.write(chunk)
            await response.write_eof()
        return response


def _start_saving(image: Json) -> None:
    """The status change queued -> saving, with glance's checks."""
    if image["status"] != "queued":
        fail(409, "Image status transition from %s to saving is not allowed" % image["status"])
    missing = [k for k in ("disk_format", "container_format") if not image[k]]
    if len(missing) == 1:
        fail(400, "Property %s must be set prior to saving data." % missing[0])
    if missing:
        fail(400, "Properties %s must be set prior to saving data." % ", ".join(missing))
    image["status"] = "saving"
    image["updated_at"] = now()


def _requeue(image: Json) -> None:
    image.update(status="queued", size=None, virtual_size=None, updated_at=now())


def _wanted_span(request: web.Request, size: int) -> tuple[int, int, int]:
    """(offset, length, status) for the request's Range header, if any."""
    header = request.headers.get("Range")
    if header is None:
        return 0, size, 200
    if "," in header:
        fail(
            400,
            "Requests with multiple ranges are not supported in Glance. You may make multiple "
            "single-range requests instead.",
        )
    wanted = store.parse_range(header)
    if wanted is None:
        fail(416, "The Range requested is not available.", "Invalid Range header.")
    if wanted[0] >= size:
        fail(
            416,
            "The Range requested is not available.",
            "Invalid start position in Range header. Start position MUST be in the inclusive range [0, %s]."
            % (size - 1),
        )
    offset, length = store.span(wanted, size)
    return offset, length, 206
