"""``/flavors`` with extra specs (``os-extra_specs``) and project access
(``os-flavor-access``, ``addTenantAccess``/``removeTenantAccess`` actions).

Flavors are global to the region; a private flavor is visible to admins and
to the projects on its access list. Microversions: 2.55 adds ``description``
(and ``PUT``), 2.61 puts ``extra_specs`` in the flavor, 2.75 makes ``swap``
an integer and rejects unknown query parameters, 2.86 validates extra-spec
values (``extra_specs.validate``), 2.102 drops ``rxtx_factor`` and
``OS-FLV-DISABLED:disabled`` and adds a ``name`` filter.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.compute import api, extra_specs, schema
from kingsync.sim.compute.api import fault
from kingsync.sim.wire import Json

_POSITIVE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 0x7FFFFFFF}
_NON_NEGATIVE = {**_POSITIVE, "minimum": 0}
_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535, "pattern": schema.DESCRIPTION_PATTERN}


def _create_schema(description: bool, rxtx: bool) -> schema.Schema:
    properties: Json = {
        "name": schema.NAME,
        "id": {
            "type": ["string", "number", "null"],
            "minLength": 1,
            "maxLength": 255,
            "pattern": "^(?! )[a-zA-Z0-9. _-]+(?<! )$",
        },
        "ram": _POSITIVE,
        "vcpus": _POSITIVE,
        "disk": _NON_NEGATIVE,
        "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE,
        "swap": _NON_NEGATIVE,
        "rxtx_factor": {
            "type": ["number", "string"],
            "pattern": r"^[0-9]+(\.[0-9]+)?$",
            "exclusiveMinimum": 0,
            "maximum": 3.40282e38,
        },
        "os-flavor-access:is_public": schema.BOOLEAN,
    }
    if not rxtx:
        del properties["rxtx_factor"]
    if description:
        properties["description"] = _DESCRIPTION
    return {
        "type": "object",
        "properties": {
            "flavor": {
                "type": "object",
                "properties": properties,
                "required": ["name", "ram", "vcpus", "disk"],
                "additionalProperties": False,
            }
        },
        "required": ["flavor"],
        "additionalProperties": False,
    }


_CREATE = [
    ("2.1", _create_schema(False, True)),
    ("2.55", _create_schema(True, True)),
    ("2.102", _create_schema(True, False)),
]
_UPDATE: schema.Schema = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {"description": _DESCRIPTION},
            "required": ["description"],
            "additionalProperties": False,
        }
    },
    "required": ["flavor"],
    "additionalProperties": False,
}
_SPECS: schema.Schema = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "number"], "maxLength": 255}},
    "additionalProperties": False,
}
_SPECS_CREATE: schema.Schema = {
    "type": "object",
    "properties": {"extra_specs": _SPECS},
    "required": ["extra_specs"],
    "additionalProperties": False,
}
_SPECS_UPDATE: schema.Schema = {**_SPECS, "minProperties": 1, "maxProperties": 1}


def _access_schema(action: str) -> schema.Schema:
    tenant = {"type": "string", "minLength": 1, "maxLength": 255}
    return {
        "type": "object",
        "properties": {
            action: {
                "type": "object",
                "properties": {"tenant": tenant},
                "required": ["tenant"],
                "additionalProperties": False,
            }
        },
        "required": [action],
        "additionalProperties": False,
    }


SORT_KEYS = [
    "created_at",
    "description",
    "disabled",
    "ephemeral_gb",
    "flavorid",
    "id",
    "is_public",
    "memory_mb",
    "name",
    "root_gb",
    "rxtx_factor",
    "swap",
    "updated_at",
    "vcpu_weight",
    "vcpus",
]


def _list_query(request: web.Request) -> Json:
    keys = [k for k in SORT_KEYS if k != "rxtx_factor"] if api.at_least(request, "2.102") else SORT_KEYS
    properties: Json = {
        "limit": schema.multi(schema.NON_NEGATIVE_INTEGER),
        "marker": schema.multi({"type": "string"}),
        "is_public": schema.multi({"type": "string"}),
        "minRam": schema.multi({"type": "string"}),
        "minDisk": schema.multi({"type": "string"}),
        "sort_key": schema.multi({"type": "string", "enum": keys}),
        "sort_dir": schema.multi({"type": "string", "enum": ["asc", "desc"]}),
    }
    if api.at_least(request, "2.102"):
        properties["name"] = schema.multi({"type": "string"})
    return properties


def _sort_value(value: Any) -> tuple[bool, Any]:
    # MySQL puts NULL first and compares strings without case.
    return value is not None, value.lower() if isinstance(value, str) else value


class Flavors(api.Service):
    def routes(self, app: web.Application) -> None:
        router = app.router
        router.add_get("/v2.1/flavors", self.index)
        router.add_get("/v2.1/flavors/detail", self.detail)
        router.add_post("/v2.1/flavors", self.create)
        router.add_get("/v2.1/flavors/{flavor_id}", self.show)
        router.add_put("/v2.1/flavors/{flavor_id}", self.update)
        router.add_delete("/v2.1/flavors/{flavor_id}", self.delete)
        router.add_post("/v2.1/flavors/{flavor_id}/action", self.action)
        router.add_get("/v2.1/flavors/{flavor_id}/os-flavor-access", self.access_list)
        specs = "/v2.1/flavors/{flavor_id}/os-extra_specs"
        router.add_get(specs, self.specs_index)
        router.add_post(specs, self.specs_create)
        router.add_get(specs + "/{key}", self.specs_show)
        router.add_put(specs + "/{key}", self.specs_update)
        router.add_delete(specs + "/{key}", self.specs_delete)

    # -- lookups and views -------------------------------------------------------------

    @staticmethod
    def _visible(ctx: auth.Context, flavor: Json) -> bool:
        return ctx.is_admin or flavor["is_public"] or ctx.project_id in flavor["projects"]

    def _get(self, request: web.Request, flavor_id: str | None = None) -> Json:
        """``common.get_flavor``: 404 for a flavor the caller may not see."""
        flavor_id = flavor_id or request.match_info["flavor_id"]
        flavor = self.state.flavors.get(api.fold(flavor_id))
        if flavor is None or not self._visible(api.caller(request), flavor):
            fault(404, "Flavor %s could not be found." % flavor_id)
        return flavor

    def _basic(self, request: web.Request, flavor: Json) -> Json:
        out = {"id": flavor["flavorid"], "name": flavor["name"], "links": self.links("flavors", flavor["flavorid"])}
        if api.at_least(request, "2.55"):
            out["description"] = flavor["description"]
        return out

    def _full(self, request: web.Request, flavor: Json) -> Json:
        out = {
            "id": flavor["flavorid"],
            "name": flavor["name"],
            "ram": flavor["memory_mb"],
            "disk": flavor["root_gb"],
            "swap": flavor["swap"] or ("" if not api.at_least(request, "2.75") else 0),
            "OS-FLV-EXT-DATA:ephemeral": flavor["ephemeral_gb"],
            "OS-FLV-DISABLED:disabled": flavor["disabled"],
            "vcpus": flavor["vcpus"],
            "os-flavor-access:is_public": flavor["is_public"],
            "rxtx_factor": flavor["rxtx_factor"] or "",
            "links": self.links("flavors", flavor["flavorid"]),
        }
        if api.at_least(request, "2.55"):
            out["description"] = flavor["description"]
        if api.at_least(request, "2.61"):
            out["extra_specs"] = dict(flavor["extra_specs"])
        if api.at_least(request, "2.102"):
            del out["OS-FLV-DISABLED:disabled"], out["rxtx_factor"]
        return out

    # -- flavors -------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        return self._list(request, self._basic, "flavors")

    async def detail(self, request: web.Request) -> web.Response:
        return self._list(request, self._full, "flavors/detail")

    def _list(self, request: web.Request, view: Any, collection: str) -> web.Response:
        api.check_query(request, _list_query(request))
        page = self._filtered(request)
        out: Json = {"flavors": [view(request, f) for f in page]}
        links = self.next_link(request, collection, len(page), page[-1]["flavorid"] if page else None)
        if links:
            out["flavors_links"] = links
        return wire.json_response(out)

    def _filtered(self, request: web.Request) -> list[Json]:
        ctx = api.caller(request)
        flavors = [f for f in self.state.flavors.values() if self._visible(ctx, f)]
        for predicate in self._filters(request, ctx):
            flavors = [f for f in flavors if predicate(f)]
        key = api.param(request, "sort_key") or "flavorid"
        reverse = (api.param(request, "sort_dir") or "asc") == "desc"

        def order(flavor: Json) -> tuple[Any, ...]:
            return _sort_value(flavor.get(key)), flavor["id"]

        flavors.sort(key=order, reverse=reverse)
        limit = api.parse_limit(request)
        marker = api.param(request, "marker")
        if marker is not None:
            anchor = self.state.flavors.get(api.fold(marker))
            if anchor is None or not self._visible(ctx, anchor):
                fault(400, "marker [%s] not found" % marker)
            flavors = [f for f in flavors if (order(f) < order(anchor) if reverse else order(f) > order(anchor))]
        return flavors[: min(api.MAX_LIMIT, limit if limit is not None else api.MAX_LIMIT)]

    def _filters(self, request: web.Request, ctx: auth.Context) -> list[Any]:
        filters: list[Any] = []
        is_public: bool | None = True
        if ctx.is_admin:
            is_public = _parse_is_public(api.param(request, "is_public"))
        else:
            filters.append(lambda f: not f["disabled"])
        if is_public is not None:
            wanted = is_public
            # Public flavors, plus (when asking for public ones) those shared with the caller's project.
            filters.append(lambda f: f["is_public"] == wanted or (wanted and ctx.project_id in f["projects"]))
        for name, field in (("minRam", "memory_mb"), ("minDisk", "root_gb")):
            value = api.param(request, name)
            if value is not None:
                try:
                    bound = int(value)
                except ValueError:
                    fault(400, "Invalid %s filter [%s]" % (name, value))
                filters.append(lambda f, field=field, bound=bound: f[field] >= bound)
        name_filter = api.param(request, "name")
        if name_filter is not None:
            # nova matches the name as a regular expression (MySQL REGEXP).
            filters.append(lambda f: re.search(name_filter, f["name"], re.IGNORECASE) is not None)
        return filters

    async def show(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        return wire.json_response({"flavor": self._full(request, self._get(request))})

    async def create(self, request: web.Request) -> web.Response:
        data = await api.body(request, api.pick(request, _CREATE))
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-manage:create")
        vals = data["flavor"]
        flavor_id = str(vals.get("id") or uuid.uuid4())
        name = vals["name"].strip()
        # nova finds duplicates by trying the INSERT, which uses up an
        # auto-increment id even when it fails.
        db_id = self.state.next_id("flavors")
        if api.fold(flavor_id) in self.state.flavors:
            fault(409, "Flavor with ID %s already exists." % flavor_id)
        if any(api.fold(f["name"]) == api.fold(name) for f in self.state.flavors.values()):
            fault(409, "Flavor with name %s already exists." % name)
        flavor = {
            "id": db_id,
            "flavorid": flavor_id,
            "name": name,
            "memory_mb": int(vals["ram"]),
            "vcpus": int(vals["vcpus"]),
            "root_gb": int(vals["disk"]),
            "ephemeral_gb": int(vals.get("OS-FLV-EXT-DATA:ephemeral", 0)),
            "swap": int(vals.get("swap", 0)),
            "rxtx_factor": float(vals.get("rxtx_factor", 1.0)),
            "is_public": schema.truthy(vals.get("os-flavor-access:is_public", True)),
            "disabled": False,
            "vcpu_weight": None,
            "description": vals.get("description") if api.at_least(request, "2.55") else None,
            "extra_specs": {},
            "projects": [],
            "created_at": api.timestamp(),
            "updated_at": None,
        }
        self.state.flavors[api.fold(flavor_id)] = flavor
        return wire.json_response({"flavor": self._full(request, flavor)})

    async def update(self, request: web.Request) -> web.Response:
        if not api.at_least(request, "2.55"):
            fault(404, "The resource could not be found.")
        data = await api.body(request, _UPDATE)
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-manage:update")
        flavor = self._get(request)
        flavor["description"] = data["flavor"]["description"]
        flavor["updated_at"] = api.timestamp()
        return wire.json_response({"flavor": self._full(request, flavor)})

    async def delete(self, request: web.Request) -> web.Response:
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-manage:delete")
        flavor_id = request.match_info["flavor_id"]
        if self.state.flavors.pop(api.fold(flavor_id), None) is None:
            fault(404, "Flavor %s could not be found." % flavor_id)
        return wire.empty(202)

    # -- extra specs ------------------------------------------------------------------------

    async def specs_index(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        return wire.json_response({"extra_specs": dict(self._get(request)["extra_specs"])})

    async def specs_show(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        flavor = self._get(request)
        key = request.match_info["key"]
        if key not in flavor["extra_specs"]:
            fault(404, "Flavor %s has no extra specs with key %s." % (request.match_info["flavor_id"], key))
        return wire.json_response({key: flavor["extra_specs"][key]})

    async def specs_create(self, request: web.Request) -> web.Response:
        data = await api.body(request, _SPECS_CREATE)
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-extra-specs:create")
        _check_values(request, data["extra_specs"])
        # The database keeps strings; the answer echoes the request as sent.
        self._get(request)["extra_specs"].update({k: str(v) for k, v in data["extra_specs"].items()})
        return wire.json_response(data)

    async def specs_update(self, request: web.Request) -> web.Response:
        data = await api.body(request, _SPECS_UPDATE)
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-extra-specs:update")
        _check_values(request, data)
        if request.match_info["key"] not in data:
            fault(400, "Request body and URI mismatch")
        self._get(request)["extra_specs"].update({k: str(v) for k, v in data.items()})
        return wire.json_response(data)

    async def specs_delete(self, request: web.Request) -> web.Response:
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-extra-specs:delete")
        flavor = self._get(request)
        key = request.match_info["key"]
        if key not in flavor["extra_specs"]:
            fault(404, "Flavor %s has no extra specs with key %s." % (request.match_info["flavor_id"], key))
        del flavor["extra_specs"][key]
        return wire.empty(200)

    # -- access ---------------------------------------------------------------------------------

    @staticmethod
    def _access(flavor: Json) -> web.Response:
        rows = [{"flavor_id": flavor["flavorid"], "tenant_id": p} for p in flavor["projects"]]
        return wire.json_response({"flavor_access": rows})

    async def access_list(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-access")
        flavor = self._get(request)
        if flavor["is_public"]:
            fault(404, "Access list not available for public flavors.")
        return self._access(flavor)

    async def action(self, request: web.Request) -> web.Response:
        data = await api.body(request, None)
        if not isinstance(data, dict) or len(data) != 1:
            fault(400, "Malformed request body")
        name = next(iter(data))
        if name == "addTenantAccess":
            return self._add_access(request, data)
        if name == "removeTenantAccess":
            return self._remove_access(request, data)
        fault(400, "There is no such action: %s" % name)

    def _add_access(self, request: web.Request, data: Json) -> web.Response:
        schema.validate_body(_access_schema("addTenantAccess"), data)
        ctx = api.caller(request)
        api.authorize(ctx.is_admin, "os_compute_api:os-flavor-access:add_tenant_access")
        tenant = data["addTenantAccess"]["tenant"]
        api.verify_project(self.cloud, ctx, tenant)
        flavor = self._get(request)
        if api.at_least(request, "2.7") and flavor["is_public"]:
            fault(409, "Can not add access to a public flavor.")
        if tenant in flavor["projects"]:
            # nova names the flavor by its database id here, not its flavor id.
            fault(
                409, "Flavor access already exists for flavor %s and project %s combination." % (flavor["id"], tenant)
            )
        flavor["projects"].append(tenant)
        return self._access(flavor)

    def _remove_access(self, request: web.Request, data: Json) -> web.Response:
        schema.validate_body(_access_schema("removeTenantAccess"), data)
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-flavor-access:remove_tenant_access")
        tenant = data["removeTenantAccess"]["tenant"]
        # An unknown project is fine here: nova removes it from the list either way.
        flavor = self._get(request)
        if tenant not in flavor["projects"]:
            fault(404, "Flavor access not found for %s / %s combination." % (flavor["id"], tenant))
        flavor["projects"].remove(tenant)
        return self._access(flavor)


def _check_values(request: web.Request, specs: Json) -> None:
    """``_check_extra_specs_value``: from 2.86 the values are validated, after
    the policy check and before the flavor is looked up."""
    if api.at_least(request, "2.86"):
        message = extra_specs.validate(specs)
        if message is not None:
            fault(400, message)


def _parse_is_public(value: str | None) -> bool | None:
    """nova's ``_parse_is_public``: absent means public only, "none" means all."""
    if value is None:
        return True
    if value.lower() == "none":
        return None
    lowered = value.strip().lower()
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    fault(400, "Invalid is_public filter [%s]" % value)
