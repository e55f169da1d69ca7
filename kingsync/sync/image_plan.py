"""Image sync's pure part: what an image is, when two are the same, what to do.

An image is compared on two things, each apart:

    data      size, and os_hash_value where both regions hash with the same
              algorithm (else the MD5 ``checksum`` glance still keeps)
    metadata  name, formats, visibility, min_disk/min_ram, protected,
              os_hidden, owner, tags and every property a user may set, with
              kernel_id/ramdisk_id read as the target's ids of the source's
              kernel and ramdisk

Glance never lets an image's data change, and never gives a deleted image's
id back (sync-facts §1.6, §2): so a copy whose data differs can only be
replaced by a new image under a new id, and a copy whose id is burnt can
only be made under a new id. Both need ``force``; both are recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from kingsync.db.models import CONFLICT, CREATED, REPLACED, UNCHANGED, UPDATED

ACTIVE = "active"
QUEUED = "queued"
IMPORTING = "importing"

# The fields of an image body that are not user properties: glance's own
# (read-only), the ones compared by name below, and the reserved namespace.
_BASE = frozenset(
    {
        "id",
        "name",
        "status",
        "visibility",
        "protected",
        "os_hidden",
        "owner",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "size",
        "virtual_size",
        "min_disk",
        "min_ram",
        "disk_format",
        "container_format",
        "created_at",
        "updated_at",
        "tags",
        "self",
        "file",
        "schema",
        "direct_url",
        "locations",
        "stores",
    }
)
_RESERVED = "os_glance_"
# Properties that name other images: copied as the target's ids of those images.
REFERENCES = ("kernel_id", "ramdisk_id")
# Compared and set by name; kept in this order in messages.
FIELDS = (
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "min_disk",
    "min_ram",
    "protected",
    "os_hidden",
    "owner",
)


@dataclasses.dataclass(frozen=True)
class Image:
    id: str
    status: str
    fields: Mapping[str, Any]  # FIELDS
    tags: frozenset[str]
    properties: Mapping[str, Any]  # every user property, kernel_id/ramdisk_id included
    size: int | None
    checksum: str | None
    hash_algo: str | None
    hash_value: str | None

    @property
    def name(self) -> str:
        return str(self.fields.get("name") or "")

    def references(self) -> dict[str, str]:
        """kernel_id / ramdisk_id -> the image id it names."""
        return {key: str(self.properties[key]) for key in REFERENCES if self.properties.get(key)}


def read(body: Mapping[str, Any]) -> Image:
    """An image as glance's v2 API shows it."""
    properties = {key: value for key, value in body.items() if key not in _BASE and not key.startswith(_RESERVED)}
    fields = {name: body.get(name) for name in FIELDS}
    fields["min_disk"] = int(fields["min_disk"] or 0)
    fields["min_ram"] = int(fields["min_ram"] or 0)
    fields["protected"] = bool(fields["protected"])
    fields["os_hidden"] = bool(fields["os_hidden"])
    return Image(
        id=str(body["id"]),
        status=str(body.get("status")),
        fields=fields,
        tags=frozenset(body.get("tags") or ()),
        properties=properties,
        size=body.get("size"),
        checksum=body.get("checksum"),
        hash_algo=body.get("os_hash_algo"),
        hash_value=body.get("os_hash_value"),
    )


def wanted(source: Image, references: Mapping[str, str]) -> Image:
    """The copy the target should hold: the source's metadata, its kernel and
    ramdisk named by their target ids (``references``: source id -> target id)."""
    properties = dict(source.properties)
    for key, image_id in source.references().items():
        properties[key] = references.get(image_id, image_id)
    return dataclasses.replace(source, properties=properties)


def data_differs(source: Image, target: Image) -> str | None:
    """Why the target's data is not the source's, or None if it is the same."""
    if source.size != target.size:
        return "size %s, not %s" % (target.size, source.size)
    if source.hash_algo and source.hash_algo == target.hash_algo:
        if source.hash_value != target.hash_value:
            return "%s %s, not %s" % (source.hash_algo, _short(target.hash_value), _short(source.hash_value))
        return None
    if source.checksum != target.checksum:
        return "checksum %s, not %s" % (target.checksum, source.checksum)
    return None


def metadata_differs(want: Image, target: Image) -> list[str]:
    """The names of what differs: fields, "tags", and "property <key>" for each property."""
    differing = [name for name in FIELDS if want.fields.get(name) != target.fields.get(name)]
    if want.tags != target.tags:
        differing.append("tags")
    keys = sorted(set(want.properties) | set(target.properties))
    differing += ["property %s" % key for key in keys if want.properties.get(key) != target.properties.get(key)]
    return differing


def create_body(want: Image, image_id: str | None) -> dict[str, Any]:
    """POST /v2/images for a copy: everything but ``protected`` (set once the
    copy is verified, so a bad copy can still be deleted), hidden until then.
    ``image_id`` None: glance chooses one."""
    body: dict[str, Any] = {name: value for name, value in want.fields.items() if value is not None}
    body.update(want.properties)
    body["tags"] = sorted(want.tags)
    body["protected"] = False
    body["os_hidden"] = True
    if image_id is not None:
        body["id"] = image_id
    return body


def patch(want: Image, target: Image) -> list[dict[str, Any]]:
    """The JSON patch (glance's openstack-images-v2.1 form) that gives the
    target the wanted metadata; its data is left as it is."""
    ops: list[dict[str, Any]] = []
    for name in FIELDS:
        if want.fields.get(name) != target.fields.get(name) and want.fields.get(name) is not None:
            ops.append({"op": "replace", "path": "/" + name, "value": want.fields[name]})
    if want.tags != target.tags:
        ops.append({"op": "replace", "path": "/tags", "value": sorted(want.tags)})
    for key in sorted(set(want.properties) | set(target.properties)):
        if key not in want.properties:
            ops.append({"op": "remove", "path": "/" + key})
        elif key not in target.properties:
            ops.append({"op": "add", "path": "/" + key, "value": want.properties[key]})
        elif want.properties[key] != target.properties[key]:
            ops.append({"op": "replace", "path": "/" + key, "value": want.properties[key]})
    return ops


# -- the decision ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do for one target:

    result      the item's result if every step works
    copy        send the data: into ``into`` (an unfinished copy of kingsync's,
                queued), else into a new image (``new_id``: under a new id
                chosen by glance, not the source's)
    follow      an import glance is still running into ``into``: wait for it
    update      patch the target's metadata in place
    discard     ids of images to delete once the copy is made (a replaced one)
                or before it (kingsync's own unfinished copy that cannot be
                finished: stuck in ``saving``, killed)
    reason      for a conflict: what differs
    """

    result: str
    copy: bool = False
    follow: bool = False
    into: str | None = None
    new_id: bool = False
    update: bool = False
    discard_before: Sequence[str] = ()
    discard_after: Sequence[str] = ()
    reason: str = ""


def decide(want: Image, target: Image | None, own: bool, force: bool) -> Decision:
    """``target``: the image under the id the copy has (the record's, else the
    source's), None if there is none; ``own``: it is kingsync's unfinished copy."""
    if target is None:
        return Decision(CREATED, copy=True)
    if target.status != ACTIVE:
        if own and target.status == QUEUED:
            return Decision(CREATED, copy=True, into=target.id)
        if own and target.status == IMPORTING:
            return Decision(CREATED, follow=True, into=target.id)
        if own:
            # Its data will never arrive (an upload cut off mid-way leaves it saving for good).
            return Decision(CREATED, copy=True, new_id=True, discard_before=(target.id,))
        if not force:
            return Decision(CONFLICT, reason="it is %s, not active" % target.status)
        return Decision(REPLACED, copy=True, new_id=True, discard_after=(target.id,))
    data = data_differs(want, target)
    if data is not None:
        if not force:
            return Decision(CONFLICT, reason="its data differs (%s)" % data)
        return Decision(REPLACED, copy=True, new_id=True, discard_after=(target.id,))
    differing = metadata_differs(want, target)
    if not differing:
        return Decision(CREATED if own else UNCHANGED)
    if own:
        return Decision(CREATED, update=True)  # a verified copy not yet unhidden: finish it
    if not force:
        return Decision(CONFLICT, reason="its metadata differs (%s)" % ", ".join(differing))
    return Decision(UPDATED, update=True)


def verify(source: Image, copy: Image) -> str | None:
    """Why a finished copy is not the source's, or None: active, same size and hash.

    The hashes are each glance's own, of what it stores: equal ones mean the
    bytes arrived as the source holds them, whatever path they took.
    """
    if copy.status != ACTIVE:
        return "it is %s, not active" % copy.status
    differs = data_differs(source, copy)
    if differs is not None:
        return "its data differs from the source's (%s)" % differs
    return None


def _short(digest: str | None) -> str:
    return (digest[:16] + "...") if digest and len(digest) > 19 else str(digest)
