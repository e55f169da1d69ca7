"""Glance's v2 image API, as image sync uses it: one attempt per call
(kingsync.regions.rest), glance's own words when it says no.

Paths are relative to the image proxy's endpoint (``/v2``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any

import openstack.connection
import requests

from kingsync.regions import rest

Json = dict[str, Any]
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
GLANCE_DOWNLOAD = "glance-download"
# GET /v2/images/{id}/tasks arrived with API 2.12.
TASKS_VERSION = "2.12"


class IdTaken(Exception):
    """Glance refused an image id it holds for a deleted image (or another's)."""


def get(conn: openstack.connection.Connection, image_id: str) -> Json | None:
    """The image, or None if glance has none under that id for kingsync."""
    resp = rest.request(conn, "image", "GET", "/images/" + _quote(image_id))
    if resp.status_code == 404:
        return None
    return _json(conn, resp)


def by_name(conn: openstack.connection.Connection, name: str, owner: str | None) -> list[Json]:
    """Images called ``name`` (owned by ``owner``, if given), as glance lists them."""
    query: dict[str, str] = {"name": name, "limit": "100"}
    if owner is not None:
        query["owner"] = owner
    found: list[Json] = rest.call(conn, "image", "GET", "/images?" + urllib.parse.urlencode(query))["images"]
    return found


def create(conn: openstack.connection.Connection, body: Json) -> Json:
    """A new image record (queued); IdTaken if glance refuses the id it was given."""
    try:
        created: Json = rest.call(conn, "image", "POST", "/images", body=body)
    except rest.ServiceError as exc:
        if exc.status == 409 and "id" in body:
            raise IdTaken(exc.message) from None
        raise
    return created


def update(conn: openstack.connection.Connection, image_id: str, ops: Sequence[Json]) -> Json:
    updated: Json = rest.call(conn, "image", "PATCH", "/images/" + _quote(image_id), body=list(ops), headers=PATCH)
    return updated


def delete(conn: openstack.connection.Connection, image_id: str) -> None:
    """Delete an image, protected or not; one that is gone already is fine."""
    path = "/images/" + _quote(image_id)
    resp = rest.request(conn, "image", "DELETE", path)
    if resp.status_code == 403:  # protected: unprotect, then delete
        update(conn, image_id, [{"op": "replace", "path": "/protected", "value": False}])
        resp = rest.request(conn, "image", "DELETE", path)
    if resp.status_code not in (204, 404):
        raise rest.ServiceError(str(conn.config.region_name), "image", resp.status_code, rest.service_message(resp))


def import_methods(conn: openstack.connection.Connection) -> list[str]:
    """The import methods this glance has enabled (GET /v2/info/import)."""
    body = rest.call(conn, "image", "GET", "/info/import")
    methods: list[str] = body.get("import-methods", {}).get("value", [])
    return methods


def import_from(
    conn: openstack.connection.Connection, image_id: str, source_id: str, source_region: str, interface: str
) -> None:
    """Ask the target's glance to pull the source image's data itself.

    The service interface is always sent: openstacksdk leaves out the region
    and image id without it, and glance answers 400 (sync-facts §1.8).
    """
    body = {
        "method": {
            "name": GLANCE_DOWNLOAD,
            "glance_image_id": source_id,
            "glance_region": source_region,
            "glance_service_interface": interface,
        }
    }
    rest.call(conn, "image", "POST", "/images/%s/import" % _quote(image_id), body=body)


def tasks(conn: openstack.connection.Connection, image_id: str) -> list[Json]:
    """The image's tasks, newest first (glance lists them so)."""
    body = rest.call(conn, "image", "GET", "/images/%s/tasks" % _quote(image_id), microversion=TASKS_VERSION)
    found: list[Json] = body.get("tasks", [])
    return sorted(found, key=lambda task: str(task.get("created_at") or ""), reverse=True)


def download(conn: openstack.connection.Connection, image_id: str) -> requests.Response:
    """The image's data, the body left unread for the caller to stream."""
    resp = rest.request(conn, "image", "GET", "/images/%s/file" % _quote(image_id), stream=True)
    if resp.status_code != 200:
        message = rest.service_message(resp)
        resp.close()
        raise rest.ServiceError(str(conn.config.region_name), "image", resp.status_code, message)
    return resp


def chunks(resp: requests.Response, size: int) -> Iterator[bytes]:
    """The streamed body in chunks of ``size`` bytes (the last one shorter); closes it at the end."""
    try:
        yield from resp.iter_content(size)
    finally:
        resp.close()


def upload(conn: openstack.connection.Connection, image_id: str, data: Any, size: int) -> None:
    """PUT the image's data: ``data`` a file-like object with ``len``, sent with a
    Content-Length, and the size glance checks it against."""
    headers = {"Content-Type": "application/octet-stream", "X-OpenStack-Image-Size": str(size)}
    resp = rest.request(conn, "image", "PUT", "/images/%s/file" % _quote(image_id), data=data, headers=headers)
    if resp.status_code >= 400:
        raise rest.ServiceError(str(conn.config.region_name), "image", resp.status_code, rest.service_message(resp))


def _json(conn: openstack.connection.Connection, resp: requests.Response) -> Json:
    if resp.status_code >= 400:
        raise rest.ServiceError(str(conn.config.region_name), "image", resp.status_code, rest.service_message(resp))
    body: Json = resp.json()
    return body


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")
