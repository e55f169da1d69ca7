"""Glance's image JSON Schema, and its validation messages.

Glance validates image bodies (create, and each PATCH value) with jsonschema
against ``glance.api.v2.images.get_schema()``: base properties with fixed
types, any other property a string. The 400 it answers carries jsonschema's
own message, which is reproduced here for the checks that schema makes
(type, enum, maxLength, pattern), so a client sees the same text.
"""

from __future__ import annotations

import pprint
import re
import textwrap
from typing import Any

Json = dict[str, Any]

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]
UUID_PATTERN = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"


def base_properties() -> Json:
    """``glance.api.v2.images.get_base_properties()``, in glance's order."""
    return {
        "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image", "maxLength": 255},
        "status": {
            "type": "string",
            "readOnly": True,
            "description": "Status of the image",
            "enum": [
                "queued",
                "saving",
                "active",
                "killed",
                "deleted",
                "uploading",
                "importing",
                "pending_delete",
                "deactivated",
            ],
        },
        "visibility": {
            "type": "string",
            "description": "Scope of image accessibility",
            "enum": ["community", "public", "private", "shared"],
        },
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {
            "type": "boolean",
            "description": "If true, image will not appear in default image list response.",
        },
        "checksum": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "md5 hash of image contents.",
            "maxLength": 32,
        },
        "os_hash_algo": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "Algorithm to calculate the os_hash_value",
            "maxLength": 64,
        },
        "os_hash_value": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo",
            "maxLength": 128,
        },
        "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
        "size": {"type": ["null", "integer"], "readOnly": True, "description": "Size of image file in bytes"},
        "virtual_size": {
            "type": ["null", "integer"],
            "readOnly": True,
            "description": "Virtual size of image in bytes",
        },
        "container_format": {
            "type": ["null", "string"],
            "description": "Format of the container",
            "enum": [None, *CONTAINER_FORMATS],
        },
        "disk_format": {
            "type": ["null", "string"],
            "description": "Format of the disk",
            "enum": [None, *DISK_FORMATS],
        },
        "created_at": {"type": "string", "readOnly": True, "description": "Date and time of image registration"},
        "updated_at": {
            "type": "string",
            "readOnly": True,
            "description": "Date and time of the last image modification",
        },
        "tags": {
            "type": "array",
            "description": "List of strings related to the image",
            "items": {"type": "string", "maxLength": 255},
        },
        "direct_url": {
            "type": "string",
            "readOnly": True,
            "description": "URL to access the image file kept in external store",
        },
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
        "self": {"type": "string", "readOnly": True, "description": "An image self url"},
        "file": {"type": "string", "readOnly": True, "description": "An image file url"},
        "stores": {
            "type": "string",
            "readOnly": True,
            "description": "Store in which image data resides.  Only present when the operator has enabled "
            "multiple stores.  May be a comma-separated list of store identifiers.",
        },
        "schema": {"type": "string", "readOnly": True, "description": "An image schema url"},
        "locations": _locations_schema(),
    }


def _locations_schema() -> Json:
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 255},
                "metadata": {"type": "object"},
                "validation_data": {
                    "description": "Values to be used to populate the corresponding image properties. If the "
                    "image status is not 'queued', values must exactly match those already "
                    "contained in the image properties.",
                    "type": "object",
                    "writeOnly": True,
                    "additionalProperties": False,
                    "properties": {
                        "checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                        "os_hash_algo": {"type": "string", "maxLength": 64},
                        "os_hash_value": {"type": "string", "maxLength": 128},
                    },
                    "required": ["os_hash_algo", "os_hash_value"],
                },
            },
            "required": ["url", "metadata"],
        },
        "description": "A set of URLs to access the image file kept in external store",
    }


_LINKS = [
    {"rel": "self", "href": "{self}"},
    {"rel": "enclosure", "href": "{file}"},
    {"rel": "describedby", "href": "{schema}"},
]


def image_schema() -> Json:
    """GET /v2/schemas/image (glance's PermissiveSchema ``raw()``)."""
    return {
        "name": "image",
        "properties": base_properties(),
        "additionalProperties": {"type": "string"},
        "links": _LINKS,
    }


def images_schema() -> Json:
    """GET /v2/schemas/images."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def _member_properties() -> Json:
    return {
        "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
        "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
        "status": {
            "type": "string",
            "description": "The status of this image member",
            "enum": ["pending", "accepted", "rejected"],
        },
        "schema": {"readOnly": True, "type": "string"},
    }


def member_schema() -> Json:
    """GET /v2/schemas/member (glance's Schema ``minimal()``)."""
    return {"name": "member", "properties": _member_properties()}


def members_schema() -> Json:
    """GET /v2/schemas/members."""
    return {
        "name": "members",
        "properties": {"members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


# -- validation ----------------------------------------------------------------------


def validate(image: Json) -> str | None:
    """The 400 text glance gives for ``image`` (a create body or a one-key
    PATCH fragment), or None when the schema accepts it."""
    properties = base_properties()
    errors: list[tuple[tuple[Any, ...], str]] = []
    for key, value in image.items():
        schema = properties.get(key)
        if schema is None:
            errors += _check(value, {"type": "string"}, (key,), "schema['additionalProperties']")
        else:
            errors += _check(value, schema, (key,), f"schema['properties'][{key!r}]")
    if not errors:
        return None
    # jsonschema's best_match: the shallowest error, then the greatest path.
    depth = min(len(path) for path, _ in errors)
    shallow = [(path, text) for path, text in errors if len(path) == depth]
    best = max(shallow, key=lambda e: tuple(str(p) for p in e[0]))[1]
    return "Provided object does not match schema 'image': " + best


def _check(value: Any, schema: Json, path: tuple[Any, ...], where: str) -> list[tuple[tuple[Any, ...], str]]:
    """Errors of one value against one property schema: the first failing
    keyword (in the schema's order), then the items of an array."""
    for keyword, expected in schema.items():
        message = _keyword_error(keyword, expected, value)
        if message is not None:
            return [(path, _render(message, keyword, schema, where, path, value))]
    errors: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors += _check(item, schema["items"], (*path, index), where + "['items']")
    return errors


def _keyword_error(keyword: str, expected: Any, value: Any) -> str | None:
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, t) for t in types):
            return f"{value!r} is not of type {', '.join(repr(t) for t in types)}"
    elif keyword == "enum":
        if not any(_equal(value, option) for option in expected):
            return f"{value!r} is not one of {expected!r}"
    elif keyword == "maxLength":
        if isinstance(value, str) and len(value) > expected:
            return f"{value!r} is too long"
    elif keyword == "pattern" and isinstance(value, str) and not re.search(expected, value):
        return f"{value!r} does not match {expected!r}"
    return None


def _is_type(value: Any, kind: str) -> bool:
    checks: dict[str, bool] = {
        "null": value is None,
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    return checks.get(kind, True)


def _equal(value: Any, option: Any) -> bool:
    # jsonschema tells booleans from numbers (True is not 1 in an enum).
    return type(value) is type(option) and value == option


def _render(message: str, keyword: str, schema: Json, where: str, path: tuple[Any, ...], value: Any) -> str:
    """jsonschema's ``str(ValidationError)``."""
    instance = "instance" + "".join(f"[{p!r}]" for p in path)
    return (
        f"{message}\n\nFailed validating {keyword!r} in {where}:\n{_pretty(schema)}\n\nOn {instance}:\n{_pretty(value)}"
    )


def _pretty(thing: Any) -> str:
    return textwrap.indent(pprint.pformat(thing, width=72, sort_dicts=False), "    ")
