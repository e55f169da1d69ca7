"""What every compute handler needs: the caller, the negotiated microversion,
nova's policy and error texts, request bodies checked against nova's schemas,
and the links nova puts in its answers."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.compute import schema
from kingsync.sim.compute.state import State
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region, SimCloud

VERSION_KEY = web.RequestKey("kingsync.sim.compute.version", tuple[int, int])
MIN_VERSION = "2.1"
# nova 34 (2026.2): the newest microversion the real devcloud reports.
MAX_VERSION = "2.104"
MICROVERSION = wire.Microversion("compute", MIN_VERSION, MAX_VERSION, legacy_header="X-OpenStack-Nova-API-Version")
# nova's [api] max_limit: the longest page a list call returns.
MAX_LIMIT = 1000

Version = tuple[int, int]


def fault(status: int, message: str) -> NoReturn:
    wire.nova_fault(status, message)


def mv(text: str) -> Version:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def version(request: web.Request) -> Version:
    return request[VERSION_KEY]


def at_least(request: web.Request, text: str) -> bool:
    return version(request) >= mv(text)


def pick(request: web.Request, by_version: list[tuple[str, Any]]) -> Any:
    """The entry of ``[("2.1", a), ("2.55", b), ...]`` that applies to the request."""
    chosen = None
    for since, value in by_version:
        if at_least(request, since):
            chosen = value
    return chosen


def caller(request: web.Request) -> auth.Context:
    return auth.context(request)


def authorize(allowed: bool, rule: str) -> None:
    """nova's PolicyNotAuthorized for a rule the caller does not pass."""
    if not allowed:
        fault(403, "Policy doesn't allow %s to be performed." % rule)


def is_project_member(ctx: auth.Context, project_id: str) -> bool:
    """``rule:project_member_or_admin``."""
    return ctx.is_admin or ("member" in ctx.roles and ctx.project_id == project_id)


def is_project_reader(ctx: auth.Context, project_id: str) -> bool:
    """``rule:project_reader_or_admin``."""
    return ctx.is_admin or ("reader" in ctx.roles and ctx.project_id == project_id)


def params(request: web.Request) -> dict[str, list[str]]:
    """The query string as nova's validators see it: name -> all values."""
    out: dict[str, list[str]] = {}
    for key, value in request.query.items():
        out.setdefault(key, []).append(value)
    return out


def param(request: web.Request, name: str) -> str | None:
    """One query parameter; webob's ``GET[name]`` is the last value given."""
    values = request.query.getall(name, [])
    return values[-1] if values else None


def check_query(request: web.Request, properties: Json, strict_since: str | None = "2.75") -> None:
    """Validate the query string; from ``strict_since`` unknown parameters are refused."""
    strict = strict_since is not None and at_least(request, strict_since)
    schema.validate_query(schema.query(properties, strict), params(request))


async def body(request: web.Request, body_schema: schema.Schema | None) -> Any:
    """The JSON body, validated against nova's schema for this microversion."""
    raw = await request.read()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        fault(400, "Malformed request body")
    if body_schema is not None:
        schema.validate_body(body_schema, data)
    return data


def parse_limit(request: web.Request, name: str = "limit") -> int | None:
    """A non-negative integer query parameter (``utils.validate_integer``)."""
    value = param(request, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        fault(400, "Invalid input received: %s must be an integer" % name)
    if number < 0:
        fault(400, "Invalid input received: %s must be >= 0" % name)
    return number


def verify_project(cloud: SimCloud, ctx: auth.Context, project_id: str) -> None:
    """nova asks keystone (with the caller's token) whether a project exists:
    404 there is 400 here; a 403 (a member asking about someone else's
    project) counts as "exists"."""
    if ctx.is_admin and project_id not in cloud.identity.projects:
        fault(400, "Project ID %s is not a valid project." % project_id)


def fold(name: str) -> str:
    """Names and ids as nova's MySQL/MariaDB database compares them: without case."""
    return name.lower()


def timestamp() -> str:
    """nova's datetimes on the wire: the database keeps whole seconds."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0, tzinfo=None)
    return now.isoformat() + ".000000"


class Service:
    """Base of the handler groups: the cloud, the region and its compute state."""

    def __init__(self, cloud: SimCloud, region: Region) -> None:
        self.cloud = cloud
        self.region = region

    @property
    def state(self) -> State:
        return self.region.compute

    @property
    def root(self) -> str:
        """What nova calls the application URL (the catalog endpoint)."""
        return self.region.url + "/compute/v2.1"

    def links(self, collection: str, identifier: str) -> list[Json]:
        return [
            {"rel": "self", "href": "%s/%s/%s" % (self.root, collection, identifier)},
            {"rel": "bookmark", "href": "%s/compute/%s/%s" % (self.region.url, collection, identifier)},
        ]

    def next_link(self, request: web.Request, collection: str, count: int, last: str | None) -> list[Json]:
        """nova's ``_get_collection_links``: a "next" link whenever the page is full."""
        limit = param(request, "limit")
        page = min(int(limit), MAX_LIMIT) if limit is not None else MAX_LIMIT
        if not page or page != count or last is None:
            return []
        query = {k: v for k, v in sorted(request.query.items())}
        query["marker"] = last
        return [{"rel": "next", "href": "%s/%s?%s" % (self.root, collection, urlencode(query))}]
