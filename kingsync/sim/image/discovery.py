"""Version discovery, schemas and the /v2/info documents."""

from __future__ import annotations

from aiohttp import web

from kingsync.sim.auth import public
from kingsync.sim.image import schema
from kingsync.sim.image.policy import fail
from kingsync.sim.image.service import Service, json_response
from kingsync.sim.image.state import Json
from kingsync.sim.image.store import CHUNK, STORE_ID

# What glance 33 lists with multiple stores enabled and no image cache
# (``glance.api.versions.Controller.index``), in its order.
VERSIONS = (
    ("2.15", "SUPPORTED"),
    ("2.13", "SUPPORTED"),
    ("2.12", "SUPPORTED"),
    ("2.11", "SUPPORTED"),
    ("2.10", "SUPPORTED"),
    ("2.9", "SUPPORTED"),
    ("2.8", "SUPPORTED"),
    ("2.17", "CURRENT"),
    ("2.7", "SUPPORTED"),
    ("2.6", "SUPPORTED"),
    ("2.5", "SUPPORTED"),
    ("2.4", "SUPPORTED"),
    ("2.3", "SUPPORTED"),
    ("2.2", "SUPPORTED"),
    ("2.1", "SUPPORTED"),
    ("2.0", "SUPPORTED"),
)


class Discovery:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    def _versions(self) -> Json:
        href = self.svc.root_url() + "/v2/"
        return {
            "versions": [
                {"id": "v" + number, "status": status, "links": [{"rel": "self", "href": href}]}
                for number, status in VERSIONS
            ]
        }

    @public
    async def root(self, request: web.Request) -> web.Response:
        """Any unversioned path: 300 Multiple Choices."""
        return json_response(self._versions(), status=300)

    @public
    async def versions(self, request: web.Request) -> web.Response:
        return json_response(self._versions())

    async def image_schema(self, request: web.Request) -> web.Response:
        return json_response(schema.image_schema())

    async def images_schema(self, request: web.Request) -> web.Response:
        return json_response(schema.images_schema())

    async def member_schema(self, request: web.Request) -> web.Response:
        return json_response(schema.member_schema())

    async def members_schema(self, request: web.Request) -> web.Response:
        return json_response(schema.members_schema())

    async def info_import(self, request: web.Request) -> web.Response:
        body = {
            "import-methods": {
                "description": "Import methods available.",
                "type": "array",
                "value": self.svc.import_methods,
            }
        }
        return json_response(body)

    async def info_stores(self, request: web.Request) -> web.Response:
        return json_response({"stores": [{"id": STORE_ID, "default": "true"}]})

    async def info_stores_detail(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        if not (ctx.is_admin or "service" in ctx.roles):
            fail(403, "You are not authorized to complete stores_info_detail action.")
        properties = {"data_dir": str(self.svc.data_path("")), "chunk_size": CHUNK, "thin_provisioning": False}
        store = {"id": STORE_ID, "default": "true", "type": "file", "properties": properties, "weight": 0}
        return json_response({"stores": [store]})

    async def info_usage(self, request: web.Request) -> web.Response:
        # use_keystone_limits is off, as in the devcloud: no usage to report.
        return json_response({"usage": {}})
