"""``/os-server-groups``: counted by the ``server_groups`` quota, which makes
them the one compute object whose usage the simulator really models (no
servers, so a group never has members).

Microversions: 2.13 adds ``project_id``/``user_id``, 2.15 the soft policies,
2.64 replaces the ``policies`` list with ``policy`` and ``rules``.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from kingsync.sim import wire
from kingsync.sim.compute import api, quotas, schema
from kingsync.sim.compute.api import fault
from kingsync.sim.wire import Json

_POLICIES = ["anti-affinity", "affinity"]
_SOFT = ["soft-anti-affinity", "soft-affinity"]


def _create_schema(group: Json, required: list[str]) -> schema.Schema:
    return {
        "type": "object",
        "properties": {
            "server_group": {
                "type": "object",
                "properties": {"name": schema.NAME, **group},
                "required": ["name", *required],
                "additionalProperties": False,
            }
        },
        "required": ["server_group"],
        "additionalProperties": False,
    }


def _policies(names: list[str]) -> Json:
    return {
        "policies": {
            "type": "array",
            "prefixItems": [{"type": "string", "enum": names}],
            "uniqueItems": True,
            "minItems": 1,
            "maxItems": 1,
        }
    }


_CREATE = [
    ("2.1", _create_schema(_policies(_POLICIES), ["policies"])),
    ("2.15", _create_schema(_policies(_POLICIES + _SOFT), ["policies"])),
    (
        "2.64",
        _create_schema(
            {
                "policy": {"type": "string", "enum": _POLICIES + _SOFT},
                "rules": {
                    "type": "object",
                    "properties": {"max_server_per_host": schema.POSITIVE_INTEGER},
                    "additionalProperties": False,
                },
            },
            ["policy"],
        ),
    ),
]


class ServerGroups(api.Service):
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v2.1/os-server-groups", self.index)
        app.router.add_post("/v2.1/os-server-groups", self.create)
        app.router.add_get("/v2.1/os-server-groups/{group_id}", self.show)
        app.router.add_delete("/v2.1/os-server-groups/{group_id}", self.delete)

    def _view(self, request: web.Request, group: Json) -> Json:
        out: Json = {"id": group["id"], "name": group["name"]}
        if api.at_least(request, "2.64"):
            out.update(policy=group["policy"], rules=dict(group["rules"]))
        else:
            out.update(policies=[group["policy"]], metadata={})
        out["members"] = []
        if api.at_least(request, "2.13"):
            out.update(project_id=group["project_id"], user_id=group["user_id"])
        return out

    def _get(self, request: web.Request, action: str) -> Json:
        group_id = request.match_info["group_id"]
        project_id = self.state.server_group_projects.get(group_id)
        ctx = api.caller(request)
        # nova looks a group up within the caller's project unless it is an admin.
        if project_id is None or not (ctx.is_admin or project_id == ctx.project_id):
            fault(404, "Instance group %s could not be found." % group_id)
        allowed = (api.is_project_reader if action == "show" else api.is_project_member)(ctx, project_id)
        api.authorize(allowed, "os_compute_api:os-server-groups:%s" % action)
        group: Json = self.state.server_groups[project_id][group_id]
        return group

    async def index(self, request: web.Request) -> web.Response:
        api.check_query(
            request,
            {
                "all_projects": schema.multi({"type": "string"}),
                "limit": schema.multi(schema.NON_NEGATIVE_INTEGER),
                "offset": schema.multi(schema.NON_NEGATIVE_INTEGER),
            },
        )
        ctx = api.caller(request)
        api.authorize(api.is_project_reader(ctx, ctx.project_id), "os_compute_api:os-server-groups:index")
        if "all_projects" in request.query and ctx.is_admin:
            groups = [g for project in self.state.server_groups.values() for g in project.values()]
            groups.sort(key=lambda g: g["seq"])
        else:
            groups = list(self.state.server_groups.get(ctx.project_id, {}).values())
        # common.limited: a limit of 0 (or none) means the longest page.
        offset = api.parse_limit(request, "offset") or 0
        limit = min(api.MAX_LIMIT, api.parse_limit(request) or api.MAX_LIMIT)
        page = groups[offset : offset + limit]
        return wire.json_response({"server_groups": [self._view(request, g) for g in page]})

    async def create(self, request: web.Request) -> web.Response:
        data = await api.body(request, api.pick(request, _CREATE))
        ctx = api.caller(request)
        api.authorize(api.is_project_member(ctx, ctx.project_id), "os_compute_api:os-server-groups:create")
        self._check_quota(ctx.project_id, ctx.user_id)
        vals = data["server_group"]
        if api.at_least(request, "2.64"):
            policy, rules = vals["policy"], {k: int(v) for k, v in vals.get("rules", {}).items()}
            if policy != "anti-affinity" and rules:
                fault(400, "Only anti-affinity policy supports rules.")
            if rules.get("max_server_per_host", 1) > 1:
                # nova allows this only once every nova-compute is new enough;
                # like the devcloud, the simulator has no compute services.
                fault(409, "Creating an anti-affinity group with rule max_server_per_host > 1 is not yet supported.")
        else:
            policy, rules = vals["policies"][0], {}
        group_id = str(uuid.uuid4())
        group = {
            "id": group_id,
            "name": vals["name"],
            "policy": policy,
            "rules": rules,
            "project_id": ctx.project_id,
            "user_id": ctx.user_id,
            "seq": self.state.next_id("server_groups"),
        }
        self.state.server_groups.setdefault(ctx.project_id, {})[group_id] = group
        self.state.server_group_projects[group_id] = ctx.project_id
        return wire.json_response({"server_group": self._view(request, group)})

    def _check_quota(self, project_id: str, user_id: str) -> None:
        """``Quotas.check_deltas({"server_groups": 1})``: counted for the
        project and for the user, each against its own limit."""
        engine = quotas.Limits(self.cloud, self.region)
        project_limit = engine.project_limits(project_id)["server_groups"]
        user_limit = engine.user_limits(project_id, user_id)["server_groups"]
        over_project = 0 <= project_limit < engine.server_groups(project_id) + 1
        over_user = 0 <= user_limit < engine.server_groups(project_id, user_id) + 1
        if over_project or over_user:
            fault(403, "Quota exceeded, too many server groups.")

    async def show(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        return wire.json_response({"server_group": self._view(request, self._get(request, "show"))})

    async def delete(self, request: web.Request) -> web.Response:
        group = self._get(request, "delete")
        project_groups = self.state.server_groups[group["project_id"]]
        del project_groups[group["id"]]
        if not project_groups:
            del self.state.server_groups[group["project_id"]]
        del self.state.server_group_projects[group["id"]]
        return wire.empty(204)
