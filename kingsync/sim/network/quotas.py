"""/v2.0/quotas: limits, details (limit/used/reserved), defaults, update and
reset, as neutron 29's quota extensions serve them.

Since quota-check-limit-default (2025.1) an update below current usage is
refused unless the body says ``"force": true``; ``check_limit`` is ignored;
-1 is never checked. Neutron accepts any project id. A member reads its own
quotas; reading another project's needs admin (or the manager role), and
changing any needs admin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.network import api
from kingsync.sim.network.state import QUOTA_DEFAULTS, State
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

_MAX = 2147483647


class Quotas:
    def __init__(self, region: Region) -> None:
        self.region = region

    @property
    def state(self) -> State:
        state: State = self.region.network
        return state

    def routes(self, app: web.Application) -> None:
        base = "/v2.0/quotas"
        app.router.add_get(base, self.list_quotas)
        # the "whoami" actions of the quota collection come before {project_id}
        app.router.add_get(base + "/project", self.project)
        app.router.add_get(base + "/tenant", self.tenant)
        app.router.add_get(base + "/{project_id}", self.show)
        app.router.add_get(base + "/{project_id}/details", self.details)
        app.router.add_get(base + "/{project_id}/default", self.defaults)
        app.router.add_put(base + "/{project_id}", self.update)
        app.router.add_delete(base + "/{project_id}", self.delete)

    @staticmethod
    def _readable(request: web.Request) -> str:
        ctx = auth.context(request)
        project_id = request.match_info["project_id"]
        if project_id != ctx.project_id and not ctx.is_admin:
            api.denied("rule:get_quota")
        return project_id

    async def list_quotas(self, request: web.Request) -> web.Response:
        if not auth.context(request).is_admin:
            api.denied("rule:get_quota")
        body = [{**self.state.limits(p), "project_id": p, "tenant_id": p} for p in self.state.quotas]
        return wire.json_response({"quotas": body})

    async def project(self, request: web.Request) -> web.Response:
        return wire.json_response({"project": {"project_id": auth.context(request).project_id}})

    async def tenant(self, request: web.Request) -> web.Response:
        return wire.json_response({"tenant": {"tenant_id": auth.context(request).project_id}})

    async def show(self, request: web.Request) -> web.Response:
        return wire.json_response({"quota": self.state.limits(self._readable(request))})

    async def defaults(self, request: web.Request) -> web.Response:
        self._readable(request)
        return wire.json_response({"quota": dict(QUOTA_DEFAULTS)})

    async def details(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        project_id = request.match_info["project_id"]
        if project_id != ctx.project_id and not ctx.is_admin:
            api.fault(
                403,
                "AdminRequired",
                "User does not have admin privileges: Only admin is authorized to access quotas for another project.",
            )
        limits = self.state.limits(project_id)
        body = {
            r: {"limit": limits[r], "used": self.state.used(self.region, project_id, r), "reserved": 0}
            for r in QUOTA_DEFAULTS
        }
        return wire.json_response({"quota": body})

    async def update(self, request: web.Request) -> web.Response:
        if not auth.context(request).is_admin:
            api.denied("rule:update_quota")
        project_id = request.match_info["project_id"]
        item = api.resource_body(await api.read_body(request), "quota")
        force = item.pop("force", None)
        item.pop("check_limit", None)
        api.verify(item, QUOTA_DEFAULTS)
        values = {key: api.integer(key, value, -1, _MAX) for key, value in item.items()}
        if force is not True:
            self._check_usage(project_id, values)
        self.state.quotas.setdefault(project_id, {}).update(values)
        return wire.json_response({"quota": self.state.limits(project_id)})

    def _check_usage(self, project_id: str, values: Json) -> None:
        for key, value in values.items():
            used = self.state.used(self.region, project_id, key)
            if value != -1 and used > value:
                api.bad_request(
                    "Quota limit %d for %s must be greater than or equal to already used %d" % (value, key, used)
                )

    async def delete(self, request: web.Request) -> web.Response:
        if not auth.context(request).is_admin:
            api.denied("rule:delete_quota")
        project_id = request.match_info["project_id"]
        if self.state.quotas.pop(project_id, None) is None:
            api.fault(404, "TenantQuotaNotFound", "Quota for project %s could not be found." % project_id)
        return wire.empty()
