"""PATCH /v2/images/{id}: glance's JSON-patch dialect
(``application/openstack-images-v2.1-json-patch``, and the older v2.0 one)
and its rules for base attributes, extra properties and locations.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from kingsync.sim.auth import Context
from kingsync.sim.image.policy import (
    CONFLICT,
    FORBIDDEN,
    GlanceError,
    enforce,
    enforce_visibility,
    fail,
    may_modify,
)
from kingsync.sim.image.schema import base_properties, validate
from kingsync.sim.image.service import read_body
from kingsync.sim.image.state import BASE_ATTRS, Json

MEDIA_TYPES = {
    "application/openstack-images-v2.0-json-patch": 4,
    "application/openstack-images-v2.1-json-patch": 10,
}
OPERATIONS = ("add", "remove", "replace")
_READ_ONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
)
_RESERVED = ("location", "deleted", "deleted_at")
# Attributes of glance's Image object a patch sets directly (others are
# read-only above); anything else is an extra property.
_ATTRIBUTES = (*BASE_ATTRS, "tags")
UNSUPPORTED_MEDIA = "The request media type ${CONTENT_TYPE} is not supported by this server.\n<br /><br />\n${detail}"


async def parse(request: web.Request) -> list[Json]:
    """``images.RequestDeserializer.update``: the list of changes, each
    ``{"op", "path" (decoded pointer parts), "value", "draft"}``."""
    draft = MEDIA_TYPES.get(request.content_type)
    if draft is None:
        allowed = ", ".join(sorted(MEDIA_TYPES))
        raise GlanceError(
            415,
            "",
            "Image PATCH expects Content-Type one of: %s" % allowed,
            headers={"Accept-Patch": allowed},
            template=UNSUPPORTED_MEDIA,
            env={"CONTENT_TYPE": request.headers.get("Content-Type", "")},
        )
    body = await read_body(request)
    if not isinstance(body, list):
        fail(400, "Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            fail(400, "Operations must be JSON objects.")
        op, pointer = _operation(raw, draft)
        path = _decode_pointer(pointer)
        depth = 2 if path[0] == "locations" and op != "replace" else 1
        if len(path) != depth:
            fail(400, "Invalid JSON pointer for this resource: '/%s'" % "/".join(path))
        change: Json = {"op": op, "path": path, "draft": draft}
        if op != "remove":
            if "value" not in raw:
                fail(400, 'Operation "%s" requires a member named "value".' % op)
            change["value"] = raw["value"]
        _validate_change(change)
        changes.append(change)
    return changes


def _operation(raw: Json, draft: int) -> tuple[str, Any]:
    if draft == 10:
        op = raw.get("op")
        if op is None:
            fail(
                400,
                "Unable to find `op` in JSON Schema change. It must be one of the following: %s."
                % ", ".join(OPERATIONS),
            )
        if op not in OPERATIONS:
            fail(400, "Invalid operation: `%s`. It must be one of the following: %s." % (op, ", ".join(OPERATIONS)))
        if "path" not in raw:
            fail(400, "Unable to find 'path' in JSON Schema change")
        return str(op), raw["path"]
    found = [key for key in OPERATIONS if key in raw]
    if len(found) > 1:
        fail(400, 'Operation objects must contain only one member named "add", "remove", or "replace".')
    if not found:
        fail(400, 'Operation objects must contain exactly one member named "add", "remove", or "replace".')
    return found[0], raw[found[0]]


def _decode_pointer(pointer: Any) -> list[str]:
    text = str(pointer)
    if not text.startswith("/"):
        fail(400, 'Pointer `%s` does not start with "/".' % text)
    if re.search(r"/\s*?/", text[1:]):
        fail(400, 'Pointer `%s` contains adjacent "/".' % text)
    if len(text) > 1 and text.endswith("/"):
        fail(400, 'Pointer `%s` end with "/".' % text)
    if text[1:].strip() == "/":
        fail(400, "Pointer `%s` does not contains valid token." % text)
    if re.search("~[^01]", text) or text.endswith("~"):
        fail(400, 'Pointer `%s` contains "~" not part of a recognized escape sequence.' % text)
    return [part.replace("~1", "/").replace("~0", "~").strip() for part in text.lstrip("/").split("/")]


def _validate_change(change: Json) -> None:
    root = change["path"][0]
    if root in _READ_ONLY:
        fail(403, "Attribute '%s' is read-only." % root)
    if root in _RESERVED or root.startswith("os_glance"):
        fail(403, "Attribute '%s' is reserved." % root)
    if change["op"] == "remove":
        return
    fragment = None
    if len(change["path"]) == 1:
        fragment = {root: change["value"]}
    elif base_properties().get(root, {}).get("type") == "array":
        fragment = {root: [change["value"]]}
    if fragment is not None:
        error = validate(fragment)
        if error:
            fail(400, error)


# -- applying ------------------------------------------------------------------------------


def apply(ctx: Context, image: Json, changes: list[Json]) -> Json:
    """The image's new attributes, properties and tags after ``changes``,
    checked one by one as glance does; nothing is kept if one fails."""
    fields: Json = {key: image[key] for key in BASE_ATTRS}
    fields["properties"] = dict(image["properties"])
    fields["tags"] = list(image["tags"])
    for change in changes:
        root = change["path"][0]
        if root == "locations":
            _locations(ctx, image, change["op"], change.get("value"))
        elif change["op"] == "replace":
            _replace(ctx, image, fields, root, change["value"])
        elif change["op"] == "add":
            _add(ctx, image, fields, root, change["value"], change["draft"])
        else:
            _remove(ctx, image, fields, root)
    return fields


def _allowed(ctx: Context, image: Json, name: str, value: Any = None) -> None:
    """``ImageAPIPolicy.update_property``."""
    if name == "visibility":
        enforce_visibility(ctx, value)
    enforce(may_modify(ctx, image), ctx, image, "modify_image")


def _replace(ctx: Context, image: Json, fields: Json, root: str, value: Any) -> None:
    if root == "owner" and not ctx.is_admin:
        fail(403, FORBIDDEN, "Owner can't be updated by non admin.")
    _allowed(ctx, image, root, value)
    if root in _ATTRIBUTES:
        _set_attribute(fields, root, value)
    elif root in fields["properties"]:
        fields["properties"][root] = value
    else:
        fail(409, CONFLICT, "Property %s does not exist." % root)


def _add(ctx: Context, image: Json, fields: Json, root: str, value: Any, draft: int) -> None:
    _allowed(ctx, image, root, value)
    exists = root in _ATTRIBUTES or root in fields["properties"]
    if exists and draft == 4:
        fail(409, CONFLICT, "Property %s already present." % root)
    if root in _ATTRIBUTES:
        _set_attribute(fields, root, value)
    else:
        fields["properties"][root] = value


def _remove(ctx: Context, image: Json, fields: Json, root: str) -> None:
    _allowed(ctx, image, root)
    if root in _ATTRIBUTES:
        fail(403, FORBIDDEN, "Property %s may not be removed." % root)
    if root not in fields["properties"]:
        fail(409, CONFLICT, "Property %s does not exist." % root)
    del fields["properties"][root]


def _set_attribute(fields: Json, name: str, value: Any) -> None:
    """The domain Image's setters."""
    if name in ("container_format", "disk_format") and fields["status"] not in ("queued", "importing"):
        fail(403, "Attribute %s can be only replaced for a queued image." % name)
    if name in ("min_disk", "min_ram") and value and value < 0:
        fail(400, "Invalid value '%s' for parameter '%s': Cannot be a negative value" % (value, name))
    if name == "tags":
        value = list(dict.fromkeys(value))
    fields[name] = value


def _locations(ctx: Context, image: Json, op: str, value: Any) -> None:
    """The devcloud hides locations (show_multiple_locations = False), so
    glance refuses every location change once the policy lets it through."""
    if op == "replace" and not value:
        fail(403, FORBIDDEN, "Cannot set locations to empty list.")
    if op == "remove":
        if not ctx.is_admin:
            enforce(False, ctx, image, "delete_image_location")
        fail(403, "It's not allowed to remove locations if locations are invisible.")
    enforce(may_modify(ctx, image), ctx, image, "set_image_location")
    if op == "add":
        fail(403, "It's not allowed to add locations if locations are invisible.")
    fail(403, "It's not allowed to update locations if locations are invisible.")
