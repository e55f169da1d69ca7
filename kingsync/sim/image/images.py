"""Image records: create, show, list, update (JSON patch), delete, tags
(``glance.api.v2.images`` and ``image_tags``)."""

from __future__ import annotations

import uuid

from aiohttp import web

from kingsync.sim.auth import Context
from kingsync.sim.image import listing, patch
from kingsync.sim.image.policy import (
    FORBIDDEN,
    NOT_FOUND,
    SERVER_ERROR,
    enforce,
    enforce_visibility,
    fail,
    lookup,
    may_get,
    may_modify,
    visible,
)
from kingsync.sim.image.schema import validate
from kingsync.sim.image.service import Service, json_response, no_content, read_body, view
from kingsync.sim.image.state import Json, new_image, now

# enabled_backends, with the staging and tasks stores glance adds itself.
STORE_IDS = "fs,os_glance_staging_store,os_glance_tasks_store"
PROPERTY_QUOTA = 128  # [DEFAULT] image_property_quota
TAG_QUOTA = 128  # [DEFAULT] image_tag_quota
_DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
_READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size")
_BASE = (
    "container_format",
    "disk_format",
    "id",
    "min_disk",
    "min_ram",
    "name",
    "owner",
    "visibility",
    "protected",
    "os_hidden",
)
_RESERVED = ("location", "deleted", "deleted_at")
_FACTORY_RESERVED = ("owner", "locations", "deleted", "deleted_at", "direct_url", "self", "file", "schema")
RESERVED_NAMESPACE = "os_glance"


class Images:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    # -- create ----------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        body = await read_body(request)
        if not isinstance(body, dict):
            # glance's deserializer takes a JSON array and trips over it.
            fail(500, SERVER_ERROR)
        attrs, properties, tags = _split_create_body(body)
        owner = attrs.pop("owner", ctx.project_id)
        if not (ctx.is_admin or ("member" in ctx.roles and owner == ctx.project_id)):
            if owner != ctx.project_id:
                fail(403, FORBIDDEN, "You are not permitted to create images owned by '%s'" % owner)
            fail(403, "You are not authorized to complete add_image action.")
        enforce_visibility(ctx, attrs.get("visibility", "private"))
        image_id = attrs.pop("id", None) or str(uuid.uuid4())
        _check_factory(attrs, properties)
        _check_quotas(len(properties), len(set(tags)))
        state = self.svc.state
        if image_id in state.images or image_id in state.deleted:
            fail(409, "Image ID %s already exists!" % image_id)
        image = new_image(image_id, owner, attrs, properties, tags)
        state.add(image)
        headers = {"Location": "%s/v2/images/%s" % (self.svc.root_url(), image_id)}
        if self.svc.import_methods:  # glance sends no empty header
            headers["OpenStack-image-import-methods"] = ",".join(self.svc.import_methods)
        headers["OpenStack-image-store-ids"] = STORE_IDS
        return json_response(view(image), status=201, headers=headers)

    # -- read ------------------------------------------------------------------------------

    async def show(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image = lookup(self.svc.state, ctx, request.match_info["image_id"])
        enforce(may_get(ctx, image), ctx, image, "get_image")
        return json_response(view(image))

    async def index(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        query = listing.parse(request.query)
        page, more = listing.select(self.svc.state, ctx, query)
        body: Json = {
            "images": [view(i) for i in page],
            "first": listing.first_link(request.query),
            "schema": "/v2/schemas/images",
        }
        if more:
            body["next"] = listing.next_link(request.query, page[-1]["id"])
        return json_response(body)

    # -- update ------------------------------------------------------------------------------

    async def update(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        changes = await patch.parse(request)
        image = lookup(self.svc.state, ctx, request.match_info["image_id"])
        fields = patch.apply(ctx, image, changes)
        if changes:
            _check_quotas(len(fields["properties"]), len(fields["tags"]))
            fields["updated_at"] = now()
            self.svc.state.update(image, fields)
        return json_response(view(image))

    # -- delete --------------------------------------------------------------------------------

    async def delete(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image_id = request.match_info["image_id"]
        image = self.svc.state.images.get(image_id)
        if image is None or not visible(self.svc.state, ctx, image):
            fail(404, "Failed to find image %s to delete" % image_id)
        enforce(may_modify(ctx, image), ctx, image, "delete_image")
        if image["protected"]:
            fail(403, "Image %s is protected and cannot be deleted." % image_id)
        self.svc.drop_data(image)
        self.svc.state.remove(image_id)
        return no_content()

    # -- deactivate / reactivate ----------------------------------------------------------------

    async def deactivate(self, request: web.Request) -> web.Response:
        return self._switch(request, "deactivate", {"active": "deactivated", "deactivated": "deactivated"})

    async def reactivate(self, request: web.Request) -> web.Response:
        return self._switch(request, "reactivate", {"deactivated": "active", "active": "active"})

    def _switch(self, request: web.Request, action: str, moves: dict[str, str]) -> web.Response:
        """Image.deactivate/reactivate: between active and deactivated only."""
        ctx = self.svc.context(request)
        image = lookup(self.svc.state, ctx, request.match_info["image_id"])
        enforce(may_modify(ctx, image), ctx, image, action)
        if image["status"] not in moves:
            fail(403, "Not allowed to %s image in status '%s'" % (action, image["status"]))
        if moves[image["status"]] != image["status"]:
            image.update(status=moves[image["status"]], updated_at=now())
        return no_content()

    # -- tags ------------------------------------------------------------------------------------

    async def add_tag(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image_id, tag = request.match_info["image_id"], request.match_info["tag"]
        error = validate({"tags": [tag]})
        if error:
            fail(400, error)
        image = self._tag_target(ctx, image_id)
        if tag not in image["tags"]:
            if len(image["tags"]) + 1 > TAG_QUOTA:
                fail(413, "Image tag limit exceeded for image %s: %s:" % (image_id, _tag_limit(len(image["tags"]) + 1)))
            image["tags"].append(tag)
        image["updated_at"] = now()
        return no_content()

    async def remove_tag(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image = self._tag_target(ctx, request.match_info["image_id"])
        tag = request.match_info["tag"]
        if tag not in image["tags"]:
            fail(404, NOT_FOUND)
        image["tags"].remove(tag)
        image["updated_at"] = now()
        return no_content()

    def _tag_target(self, ctx: Context, image_id: str) -> Json:
        image = self.svc.state.images.get(image_id)
        if image is None or not visible(self.svc.state, ctx, image):
            fail(404, "Image %s not found." % image_id)
        enforce(may_modify(ctx, image), ctx, image, "modify_image")
        return image


def _split_create_body(body: Json) -> tuple[Json, dict[str, str], list[str]]:
    """``images.RequestDeserializer.create``: base attributes, extra
    properties and tags, with glance's read-only/reserved/schema checks."""
    for key in _DISALLOWED:
        if key in body:
            fail(403, "Attribute '%s' is read-only." % key)
    error = validate(body)
    if error:
        fail(400, error)
    rest = dict(body)
    tags = rest.pop("tags", [])
    attrs = {key: rest.pop(key) for key in _BASE + _READ_ONLY if key in rest}
    for key in rest:
        if len(key) > 255:
            fail(400, "Custom property should not be greater than 255 characters.")
        if key in _RESERVED or key.startswith(RESERVED_NAMESPACE):
            fail(403, FORBIDDEN, "Attribute '%s' is reserved." % key)
    return attrs, rest, list(tags)


def _check_factory(attrs: Json, properties: dict[str, str]) -> None:
    """``ImageFactory.new_image`` and the Image setters."""
    for key in _READ_ONLY:
        if key in attrs:
            fail(403, "Attribute '%s' is read-only." % key)
    for key in _FACTORY_RESERVED:
        if key in properties:
            fail(403, "Attribute '%s' is reserved." % key)
    for key in ("min_disk", "min_ram"):
        value = attrs.get(key)
        if value and value < 0:
            fail(400, "Invalid value '%s' for parameter '%s': Cannot be a negative value" % (value, key))


def _check_quotas(properties: int, tags: int) -> None:
    if properties > PROPERTY_QUOTA:
        fail(
            413,
            "The limit has been exceeded on the number of allowed image properties. Attempted: %d, "
            "Maximum: %d" % (properties, PROPERTY_QUOTA),
        )
    if tags > TAG_QUOTA:
        fail(413, _tag_limit(tags))


def _tag_limit(tags: int) -> str:
    return "The limit has been exceeded on the number of allowed image tags. Attempted: %d, Maximum: %d" % (
        tags,
        TAG_QUOTA,
    )
