"""What one region's Glance holds: image records, their members, their import
tasks, and the ids of deleted images (glance keeps deleted rows, so their
ids stay taken).

Records are plain JSON-able dicts so the state persists with
``dataclasses.asdict``. Lookups a member's calls need (its own images,
images shared with it, public and community ones) go through indexes built
from the records, so no per-project call scans every image.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

Json = dict[str, Any]

# The image attributes glance keeps in columns; everything else a client
# sets is an extra property (a string).
BASE_ATTRS = (
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "size",
    "virtual_size",
    "status",
    "checksum",
    "protected",
    "min_ram",
    "min_disk",
    "owner",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
)
EVERYONE = ("public", "community")


def now() -> str:
    """glance's timestamps: UTC, whole seconds (the DB column has no fraction)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_image(image_id: str, owner: str | None, attrs: Json, properties: dict[str, str], tags: list[str]) -> Json:
    """A queued image as ``ImageFactory.new_image`` makes it."""
    stamp = now()
    image: Json = {
        "id": image_id,
        "name": None,
        "disk_format": None,
        "container_format": None,
        "visibility": "shared",
        "size": None,
        "virtual_size": None,
        "status": "queued",
        "checksum": None,
        "protected": False,
        "min_ram": 0,
        "min_disk": 0,
        "owner": owner,
        "os_hidden": False,
        "os_hash_algo": None,
        "os_hash_value": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    image.update(attrs)
    image["tags"] = list(dict.fromkeys(tags))
    image["properties"] = dict(properties)
    # Whether the store holds data for the image (glance: a location in "fs").
    image["stored"] = False
    return image


@dataclasses.dataclass
class State:
    images: dict[str, Json] = dataclasses.field(default_factory=dict)
    # image id -> member project id -> member record
    members: dict[str, dict[str, Json]] = dataclasses.field(default_factory=dict)
    # ids of deleted images -> when (a new image may not reuse them)
    deleted: dict[str, str] = dataclasses.field(default_factory=dict)
    # image id -> its import tasks, in creation order
    tasks: dict[str, list[Json]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # Indexes, rebuilt from the records (not persisted).
        self._owned: dict[str | None, set[str]] = {}
        self._everyone: set[str] = set()
        self._shared_with: dict[str, set[str]] = {}
        for image in self.images.values():
            self._index(image)
        for image_id, members in self.members.items():
            for member_id in members:
                self._shared_with.setdefault(member_id, set()).add(image_id)

    # -- images ---------------------------------------------------------------------------

    def add(self, image: Json) -> None:
        self.images[image["id"]] = image
        self._index(image)

    def remove(self, image_id: str) -> None:
        image = self.images.pop(image_id)
        self._unindex(image)
        for member_id in self.members.pop(image_id, {}):
            self._shared_with.get(member_id, set()).discard(image_id)
        self.tasks.pop(image_id, None)
        self.deleted[image_id] = now()

    def update(self, image: Json, changes: Json) -> None:
        """Apply attribute changes, keeping the indexes right."""
        self._unindex(image)
        image.update(changes)
        self._index(image)

    def _index(self, image: Json) -> None:
        self._owned.setdefault(image["owner"], set()).add(image["id"])
        if image["visibility"] in EVERYONE:
            self._everyone.add(image["id"])

    def _unindex(self, image: Json) -> None:
        self._owned.get(image["owner"], set()).discard(image["id"])
        self._everyone.discard(image["id"])

    def owned_by(self, owner: str) -> list[Json]:
        return [self.images[i] for i in self._owned.get(owner, ())]

    def for_everyone(self) -> list[Json]:
        return [self.images[i] for i in self._everyone]

    def shared_with(self, project_id: str) -> list[Json]:
        return [self.images[i] for i in self._shared_with.get(project_id, ())]

    # -- import tasks ------------------------------------------------------------------------

    def add_task(self, task: Json) -> None:
        self.tasks.setdefault(task["image_id"], []).append(task)

    def task(self, image_id: str, task_id: str) -> Json | None:
        return next((t for t in self.tasks.get(image_id, ()) if t["id"] == task_id), None)

    # -- members -----------------------------------------------------------------------------

    def member(self, image_id: str, member_id: str) -> Json | None:
        return self.members.get(image_id, {}).get(member_id)

    def add_member(self, image_id: str, member_id: str) -> Json:
        stamp = now()
        record = {
            "member_id": member_id,
            "image_id": image_id,
            "status": "pending",
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.members.setdefault(image_id, {})[member_id] = record
        self._shared_with.setdefault(member_id, set()).add(image_id)
        return record

    def remove_member(self, image_id: str, member_id: str) -> None:
        self.members.get(image_id, {}).pop(member_id, None)
        self._shared_with.get(member_id, set()).discard(image_id)
