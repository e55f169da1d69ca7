"""One region's Glance: where its state and image files live, and how an
image looks on the wire."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kingsync.sim import auth
from kingsync.sim.auth import Context
from kingsync.sim.image.policy import fail
from kingsync.sim.image.state import BASE_ATTRS, Json, State
from kingsync.sim.image.store import STORE_ID

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

REQUEST_ID = web.RequestKey("kingsync.sim.image.request_id", str)


class Service:
    def __init__(self, cloud: SimCloud, region: Region) -> None:
        self.cloud = cloud
        self.region = region

    @property
    def state(self) -> State:
        # Read through the region each time: loading a state file replaces it.
        return self.region.image

    def data_path(self, image_id: str) -> Path:
        return Path(self.cloud.data_dir) / "image" / self.region.name / image_id

    def drop_data(self, image: Json) -> None:
        self.data_path(image["id"]).unlink(missing_ok=True)
        image["stored"] = False

    @staticmethod
    def context(request: web.Request) -> Context:
        return auth.context(request)

    def root_url(self) -> str:
        return self.region.url + "/image"

    @property
    def import_methods(self) -> list[str]:
        """This glance's ``enabled_import_methods``."""
        return self.region.image_import_methods


def request_id(request: web.Request) -> str:
    """The id glance's request-id middleware gives the request: in the
    answer's ``x-openstack-request-id`` and in any task the request makes."""
    if REQUEST_ID not in request:
        request[REQUEST_ID] = "req-%s" % uuid.uuid4()
    return request[REQUEST_ID]


def view(image: Json) -> Json:
    """``ResponseSerializer._format_image``: extra properties first, then the
    columns, links and, with multiple stores enabled, where the data is."""
    out: Json = dict(image["properties"])
    for key in BASE_ATTRS:
        out[key] = image[key]
    out["id"] = image["id"]
    out["created_at"] = image["created_at"]
    out["updated_at"] = image["updated_at"]
    out["tags"] = list(image["tags"])
    out["self"] = "/v2/images/%s" % image["id"]
    out["file"] = "/v2/images/%s/file" % image["id"]
    out["schema"] = "/v2/schemas/image"
    if image["stored"]:
        out["stores"] = STORE_ID
    return out


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON body as glance writes it (``json.dumps`` with its default separators)."""
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def no_content() -> web.Response:
    """glance's 204: webob still labels the empty body text/html."""
    return web.Response(status=204, headers={"Content-Type": "text/html; charset=UTF-8"})


async def read_body(request: web.Request) -> Any:
    """glance's JSONRequestDeserializer: a JSON object or array is required."""
    raw = await request.read()
    if not raw:
        fail(400, "Body expected in request.")
    try:
        body = json.loads(raw)
    except ValueError:
        fail(400, "Malformed JSON in request body.")
    if not isinstance(body, dict | list):
        fail(400, "Unexpected body type. Expected list/dict.")
    return body
