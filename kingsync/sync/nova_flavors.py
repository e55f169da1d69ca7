"""Nova's flavor API as the flavor sync calls it: raw REST (kingsync.regions.rest)
at microversion 2.61, the first that shows a flavor's description and extra
specs in one answer, and 2.86 for extra specs where a region has it (nova then
checks them against its own validators).

Every function is one call, or a lookup of a few, with kingsync's admin
credentials; errors are rest.ServiceError with nova's own message.
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

import openstack.connection

from kingsync.regions import rest
from kingsync.sync import errors
from kingsync.sync.flavor_plan import Flavor

READ_MICROVERSION = "2.61"  # description and extra_specs in every flavor; description writable (2.55)
VALIDATED_SPECS = (2, 86)  # nova validates extra specs from here on
VALIDATED_SPECS_MICROVERSION = "2.86"


def check_specs(
    conn: openstack.connection.Connection, region: str, specs: Mapping[str, str]
) -> rest.ServiceError | None:
    """Nova's refusal of ``specs``, asked without touching any flavor: from 2.86 nova
    checks the specs before it looks the flavor up, so a POST to a flavor that does
    not exist answers 400 for specs it refuses and 404 for specs it would take.
    Below 2.86 nothing is checked, and nothing is refused."""
    microversion = specs_microversion(conn, region)
    if microversion != VALIDATED_SPECS_MICROVERSION:
        return None
    nowhere = path("kingsync-check-" + uuid.uuid4().hex)
    try:
        rest.call(
            conn,
            "compute",
            "POST",
            nowhere + "/os-extra_specs",
            body={"extra_specs": dict(specs)},
            microversion=microversion,
        )
    except rest.ServiceError as exc:
        if exc.status == 400:
            return exc
        if exc.status != 404:
            raise
    return None


def specs_microversion(conn: openstack.connection.Connection, region: str) -> str:
    """2.86 where the region has it, so nova checks the specs; else 2.61.

    keystoneauth asks the region once per session and keeps the answer; a
    failed discovery is not kept, but shows as no newest microversion.
    """
    data = conn.compute.get_endpoint_data()
    newest = data.max_microversion if data is not None else None
    if not newest:
        raise errors.RetryLater(
            "%s did not say which compute microversions it supports (version discovery failed)." % region
        )
    return VALIDATED_SPECS_MICROVERSION if tuple(newest) >= VALIDATED_SPECS else READ_MICROVERSION


def create_body(flavor: Flavor) -> dict[str, Any]:
    return {
        "flavor": {
            "id": flavor.id,
            "name": flavor.name,
            "ram": flavor.ram,
            "vcpus": flavor.vcpus,
            "disk": flavor.disk,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
            "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor,
            "os-flavor-access:is_public": flavor.is_public,
            "description": flavor.description,
        }
    }


def locate(
    conn: openstack.connection.Connection, flavor_id: str, name: str, any_case: bool = False
) -> dict[str, Any] | None:
    """Nova's flavor with id ``flavor_id``, else the one named ``name``; None if neither.

    ``any_case``: match the name as nova's unique index does (MariaDB's
    collation ignores case), to find the flavor that would refuse a copy's name.
    """
    shown = show(conn, flavor_id)
    if shown is not None:
        return shown
    flavors = list_all(conn)
    for flavor in flavors:
        if flavor["id"] == flavor_id:
            return flavor
    wanted = name.casefold() if any_case else name
    for flavor in flavors:
        if (flavor["name"].casefold() if any_case else flavor["name"]) == wanted:
            return flavor
    return None


def show(conn: openstack.connection.Connection, flavor_id: str) -> dict[str, Any] | None:
    answer = call(conn, "GET", path(flavor_id), missing_ok=True)
    # GET /flavors/detail is the list, whatever a flavor with id "detail" says.
    if not isinstance(answer, dict) or "flavor" not in answer:
        return None
    flavor: dict[str, Any] = answer["flavor"]
    return flavor


def list_all(conn: openstack.connection.Connection) -> list[dict[str, Any]]:
    """Every flavor, public and private (is_public=None, for admins), page by page."""
    flavors: list[dict[str, Any]] = []
    query = "?is_public=None"
    while True:
        answer = rest.call(conn, "compute", "GET", "/flavors/detail" + query, microversion=READ_MICROVERSION)
        page = answer["flavors"]
        flavors.extend(page)
        # nova links a next page when this one is full (its max_limit, 1000 by default)
        if not page or not answer.get("flavors_links"):
            return flavors
        query = "?is_public=None&marker=" + quote(page[-1]["id"])


def read(conn: openstack.connection.Connection, body: dict[str, Any]) -> Flavor:
    """The flavor of ``body`` with its access list (nova has one only for private flavors)."""
    access: list[str] = []
    if not body.get("os-flavor-access:is_public", True):
        answer = call(conn, "GET", path(str(body["id"])) + "/os-flavor-access")
        access = [str(row["tenant_id"]) for row in answer["flavor_access"]]
    return Flavor.from_api(body, access)


def call(
    conn: openstack.connection.Connection,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    missing_ok: bool = False,
) -> Any:
    """One compute call at 2.61; ``missing_ok``: a 404 answers None (already gone, or never there)."""
    try:
        return rest.call(conn, "compute", method, path, body=body, microversion=READ_MICROVERSION)
    except rest.ServiceError as exc:
        if missing_ok and exc.status == 404:
            return None
        raise


def path(flavor_id: str) -> str:
    return "/flavors/" + quote(flavor_id)


def quote(text: str) -> str:
    # Ids and spec keys may hold spaces; a name looked up as an id may hold anything.
    return urllib.parse.quote(text, safe="")
