"""GET /v2/images: glance's query parameters, filters, sort order and
marker/limit pagination (``images.RequestDeserializer.index``,
``ImagesController.index`` and ``db.sqlalchemy.api.image_get_all``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from urllib.parse import urlencode

from multidict import MultiMapping

from kingsync.sim.auth import Context
from kingsync.sim.image import filters
from kingsync.sim.image.policy import fail, may_get, visible
from kingsync.sim.image.state import Json, State

LIMIT_DEFAULT = 25  # [DEFAULT] limit_param_default
LIMIT_MAX = 1000  # [DEFAULT] api_limit_max
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at")
VISIBILITIES = ("community", "public", "private", "shared", "all")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")


@dataclasses.dataclass
class Query:
    limit: int
    marker: str | None
    member_status: str
    tags: list[str]
    filters: dict[str, str]
    sort: list[tuple[str, str]]


def parse(params: MultiMapping[str]) -> Query:
    """The query string as glance's deserializer and controller read it."""
    rest = {k: params.getall(k)[-1] for k in params if k not in ("limit", "marker", "member_status", "tag")}
    member_status = params.get("member_status", "accepted")
    visibility = rest.get("visibility")
    if visibility and visibility not in VISIBILITIES:
        fail(400, "Invalid visibility value: %s" % visibility)
    if rest.get("changes-since"):
        fail(400, 'The "changes-since" filter is no longer available on v2.')
    if member_status not in MEMBER_STATUSES:
        fail(400, "Invalid status: %s" % member_status)
    limit = LIMIT_DEFAULT
    if "limit" in params:
        limit = min(LIMIT_MAX, _limit(params.getall("limit")[-1]))
    sort = _sorting(params, rest)
    _check_bools(rest)
    return Query(
        limit=limit,
        marker=params.get("marker"),
        member_status=member_status,
        tags=[t.strip() for t in params.getall("tag", [])],
        filters=rest,
        sort=sort,
    )


def _limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        fail(400, "limit param must be an integer")
    if limit < 0:
        fail(400, "limit param must be positive")
    return limit


def _sorting(params: MultiMapping[str], rest: dict[str, str]) -> list[tuple[str, str]]:
    """``sort=name:asc,size`` or repeated ``sort_key``/``sort_dir``; then
    created_at and id, so the order is total."""
    keys: list[str] = []
    dirs: list[str] = []
    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            fail(400, "Old and new sorting syntax cannot be combined")
        for part in params.getall("sort")[-1].strip().split(","):
            key, _, direction = part.partition(":")
            keys.append(_sort_key(key.strip()))
            dirs.append(_sort_dir(direction.strip() or "desc"))
    else:
        keys = [_sort_key(k.strip()) for k in params.getall("sort_key", [])]
        dirs = [_sort_dir(d.strip()) for d in params.getall("sort_dir", [])]
        if len(dirs) > 1 and len(dirs) != len(keys):
            fail(400, "Number of sort dirs does not match the number of sort keys")
    for name in ("sort", "sort_key", "sort_dir"):
        rest.pop(name, None)
    keys = keys or ["created_at"]
    dirs = dirs or ["desc"]
    # One direction applies to every key, the tie-breakers included;
    # several directions leave the tie-breakers descending.
    default = dirs[0] if len(dirs) == 1 else "desc"
    dirs = dirs * len(keys) if len(dirs) == 1 else dirs
    for key in ("created_at", "id"):
        if key not in keys:
            keys.append(key)
            dirs.append(default)
    return list(zip(keys, dirs, strict=True))


def _sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        fail(400, "Invalid sort key: %s. It must be one of the following: %s." % (key, ", ".join(SORT_KEYS)))
    return key


def _sort_dir(direction: str) -> str:
    if direction not in ("asc", "desc"):
        fail(400, "Invalid sort direction: %s" % direction)
    return direction


def _check_bools(rest: dict[str, str]) -> None:
    hidden = rest.get("os_hidden", "false").lower()
    if hidden not in ("true", "false"):
        fail(400, "Invalid value '%s' for 'os_hidden' filter. Valid values are 'true' or 'false'." % hidden)
    rest["os_hidden"] = hidden
    protected = rest.get("protected")
    if protected is not None and protected not in ("true", "false"):
        fail(400, "Invalid value '%s' for 'protected' filter. Valid values are 'true' or 'false'." % protected)


# -- selecting --------------------------------------------------------------------------------


def candidates(state: State, ctx: Context, query: Query) -> Iterable[Json]:
    """The images the caller's listing draws from, before filters: all of
    them for an admin; otherwise its own, public and community ones, and
    shared ones it is a member of with the wanted member status."""
    owner = query.filters.get("owner")
    if ctx.is_admin:
        return state.owned_by(owner) if owner is not None else list(state.images.values())
    found: dict[str, Json] = {i["id"]: i for i in state.for_everyone()}
    found.update((i["id"], i) for i in state.owned_by(ctx.project_id))
    for image in state.shared_with(ctx.project_id):
        member = state.member(image["id"], ctx.project_id) or {}
        if image["visibility"] == "shared" and query.member_status in ("all", member.get("status")):
            found[image["id"]] = image
    return found.values()


def select(state: State, ctx: Context, query: Query) -> tuple[list[Json], bool]:
    """One page of the listing, and whether glance would link a next page."""
    match = filters.matcher(ctx, query.filters, query.tags)
    chosen = [i for i in candidates(state, ctx, query) if match(i)]
    marker = None
    if query.marker is not None:
        marker = state.images.get(query.marker)
        if marker is None or not visible(state, ctx, marker):
            fail(400, "No image found with ID %s" % query.marker)
        if all(i["id"] != marker["id"] for i in chosen):
            chosen.append(marker)
    ordered = filters.ordered(chosen, query.sort)
    if marker is not None:
        # The page starts after the marker's place in the sort order.
        ordered = ordered[[i["id"] for i in ordered].index(marker["id"]) + 1 :]
    page = [i for i in ordered[: query.limit] if may_get(ctx, i)]
    # glance links a next page whenever the DB page was full.
    return page, bool(page) and len(ordered[: query.limit]) == query.limit


def next_link(params: MultiMapping[str], marker: str) -> str:
    """glance's ``next``: the request's query (one value per name, marker last)."""
    query = {k: params.getall(k)[-1] for k in params if k != "marker"}
    query["marker"] = marker
    return "/v2/images?" + urlencode(query)


def first_link(params: MultiMapping[str]) -> str:
    query = {k: params.getall(k)[-1] for k in params if k != "marker"}
    return "/v2/images?" + urlencode(query) if query else "/v2/images"
