"""What every neutron handler needs: its error bodies, request bodies checked
as neutron's attribute maps check them, and list queries (filters, fields,
pagination) as neutron reads them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, NoReturn

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.wire import Json

# Query parameters that are not filters.
_NOT_FILTERS = ("fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fault(status: int, kind: str, message: str) -> NoReturn:
    wire.neutron_fault(status, kind, message)


def bad_request(message: str) -> NoReturn:
    fault(400, "HTTPBadRequest", message)


def invalid_input(message: str) -> NoReturn:
    fault(400, "InvalidInput", "Invalid input for operation: %s." % message)


def denied(rule: str) -> NoReturn:
    """oslo.policy's refusal, as neutron words it."""
    fault(403, "PolicyNotAuthorized", "%s is disallowed by policy" % rule)


def not_found() -> NoReturn:
    """What neutron answers when policy hides an object from the caller."""
    fault(404, "HTTPNotFound", "The resource could not be found.")


async def read_body(request: web.Request) -> Json:
    return await wire.read_json(request, lambda status, message: bad_request(message))


# -- request bodies -------------------------------------------------------------------


def resource_body(body: Json, resource: str) -> Json:
    """The ``{"security_group": {...}}`` part of a request, or neutron's 400."""
    if not body:
        bad_request("Resource body required")
    item = body.get(resource)
    if item is None:
        bad_request("Unable to find '%s' in request body" % resource)
    if not isinstance(item, dict):
        bad_request("Object '%s' contains invalid data" % resource)
    return item


def set_owner(ctx: auth.Context, item: Json) -> str:
    """populate_project_id: the owner of a new object, and who may pick it."""
    tenant, project = item.get("tenant_id"), item.get("project_id")
    if tenant is not None and project is not None and tenant != project:
        bad_request("'project_id' and 'tenant_id' do not match")
    owner = project if project is not None else tenant
    if owner is not None and owner != ctx.project_id and not ctx.is_admin:
        bad_request(
            "Specifying 'project_id' other than the authenticated project in request is not allowed for the "
            "current user."
        )
    item["project_id"] = item["tenant_id"] = owner if owner is not None else ctx.project_id
    return str(item["project_id"])


def verify(item: Json, known: Iterable[str]) -> None:
    extra = [key for key in item if key not in set(known)]
    if extra:
        bad_request("Unrecognized attribute(s) '%s'" % ", ".join(extra))


def read_only(item: Json, writable: Iterable[str]) -> None:
    for key in item:
        if key not in set(writable):
            bad_request("Cannot update read-only attribute %s" % key)


def required(item: Json, *keys: str) -> None:
    for key in keys:
        if key not in item:
            bad_request("Failed to parse request. Required attribute '%s' not specified" % key)


def string(item: Json, key: str, limit: int = 255, default: str = "") -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        bad_request("Invalid input for %s. Reason: '%s' is not a valid string." % (key, value))
    if len(value) > limit:
        bad_request("Invalid input for %s. Reason: '%s' exceeds maximum length of %d." % (key, value, limit))
    return value


def boolean(item: Json, key: str, default: bool) -> bool:
    if key not in item:
        return default
    value = wire.parse_bool(item[key])
    if value is None:
        invalid_input("'%s' cannot be converted to boolean" % item[key])
    return value


def integer(key: str, value: Any, low: int, high: int) -> int:
    """convert_to_int then type:range, with their texts."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        invalid_input("'%s' is not an integer" % value)
    if number < low:
        bad_request("Invalid input for %s. Reason: '%d' is too small - must be at least '%d'." % (key, number, low))
    if number > high:
        bad_request(
            "Invalid input for %s. Reason: '%d' is too large - must be no larger than '%d'." % (key, number, high)
        )
    return number


# -- list queries -----------------------------------------------------------------------


def filters(request: web.Request, known: Iterable[str]) -> dict[str, list[str]]:
    """The query's filters (neutron validates their names: filter-validation)."""
    allowed = set(known)
    found: dict[str, list[str]] = {}
    invalid = []
    for key in dict.fromkeys(request.query):
        if key in _NOT_FILTERS:
            continue
        if key not in allowed:
            invalid.append(key)
            continue
        found[key] = request.query.getall(key)
    if invalid:
        bad_request("%s is invalid attribute for filtering" % invalid)
    if "tenant_id" in found:
        found.setdefault("project_id", found.pop("tenant_id"))
    return found


def matches(obj: Json, wanted: dict[str, list[str]]) -> bool:
    return all(_match_one(obj.get(key), values) for key, values in wanted.items())


def _match_one(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, bool):
        return any(wire.parse_bool(w) is value for w in wanted)
    if isinstance(value, list):
        return any(w in [str(v) for v in value] for w in wanted)
    if value is None:
        return False
    return str(value) in wanted


def listing(request: web.Request, collection: str, items: list[Json]) -> web.Response:
    """A list answer: sorted (by id unless ``sort_key``), paged by ``limit``
    and ``marker`` with neutron's next/previous links, cut to ``fields``."""
    _sort(request, items)
    page = _after_marker(items, request.query.get("marker"))
    links: list[Json] = []
    if request.query.get("limit") is not None:
        limit = integer("limit", request.query["limit"], 0, 2147483647)
        page = page[:limit] if limit else page
        links = _links(request, page, limit)
    body: Json = {collection: wire.select_fields(page, request.query.getall("fields", []))}
    if links:
        body[collection + "_links"] = links
    return wire.json_response(body)


def _sort(request: web.Request, items: list[Json]) -> None:
    items.sort(key=lambda o: str(o.get("id")))
    directions = request.query.getall("sort_dir", [])
    for index, key in reversed(list(enumerate(request.query.getall("sort_key", [])))):
        descending = index < len(directions) and directions[index] == "desc"
        items.sort(key=lambda o: (o.get(key) is not None, str(o.get(key))), reverse=descending)


def _after_marker(items: list[Json], marker: str | None) -> list[Json]:
    if not marker:
        return items
    for index, item in enumerate(items):
        if item.get("id") == marker:
            return items[index + 1 :]
    # an unknown marker is a position in id order, not an error
    return [item for item in items if str(item.get("id")) > marker]


def _links(request: web.Request, page: list[Json], limit: int) -> list[Json]:
    """api_common.get_pagination_links for a forward page."""
    if not limit or not page:
        return []
    base = [(k, v) for k, v in request.query.items() if k != "marker"]
    links = []
    if len(page) >= limit:
        links.append({"rel": "next", "href": str(request.url.with_query([*base, ("marker", str(page[-1]["id"]))]))})
    previous = [*base, ("marker", str(page[0]["id"])), ("page_reverse", "True")]
    links.append({"rel": "previous", "href": str(request.url.with_query(previous))})
    return links


def shown(request: web.Request, resource: str, obj: Json, status: int = 200) -> web.Response:
    fields = request.query.getall("fields", [])
    return wire.json_response({resource: wire.select_fields([obj], fields)[0]}, status=status)
