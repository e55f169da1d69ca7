"""os-quota-sets, os-quota-class-sets and limits, as cinder 29 serves them.

An update validates every key first (unknown keys: "Bad key(s) in quota
set"; values -1 ... DB max int), then refuses a limit below in_use +
reserved, but only for keys the project already has a limit of its own for:
cinder compares against the project's own quota rows, so lowering a key
that still follows the defaults is never refused. per_volume_gigabytes and
-1 are never checked. There is no force. Cinder accepts any project id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.volume import api
from kingsync.sim.volume.state import State
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

# Keys a quota set body may carry that are not resources.
_NON_QUOTA_KEYS = ("tenant_id", "id")


class QuotaSets:
    def __init__(self, region: Region) -> None:
        self.region = region

    @property
    def state(self) -> State:
        state: State = self.region.volume
        return state

    def paths(self) -> list[tuple[str, str, auth.Handler]]:
        return [
            ("GET", "/os-quota-sets", self.no_index),
            ("GET", "/os-quota-sets/{id}", self.show),
            ("GET", "/os-quota-sets/{id}/defaults", self.defaults),
            ("PUT", "/os-quota-sets/{id}", self.update),
            ("DELETE", "/os-quota-sets/{id}", self.delete),
            ("GET", "/os-quota-class-sets/{id}", self.show_class),
            ("PUT", "/os-quota-class-sets/{id}", self.update_class),
            ("GET", "/limits", self.limits),
        ]

    # -- quota sets --------------------------------------------------------------------

    async def no_index(self, request: web.Request) -> web.Response:
        """The collection is routed but has no index action."""
        api.fault(404, "The resource could not be found.")

    @staticmethod
    def _target(request: web.Request, rule: str) -> str:
        """The project of the URL, if the caller may apply ``rule`` to it: a
        member may only show its own project's quotas."""
        ctx = api.caller(request)
        project_id = request.match_info["id"]
        allowed = ctx.is_admin or (rule == "show" and project_id == ctx.project_id)
        if not allowed:
            api.denied("volume_extension:quotas:%s" % rule)
        return project_id

    async def show(self, request: web.Request) -> web.Response:
        project_id = self._target(request, "show")
        usage = "usage" in request.query and api.boolean_param("usage", request.query["usage"])
        limits = self.state.limits(project_id)
        body: Json
        if usage:
            used = self.state.in_use(self.region, project_id)
            body = {r: {"limit": limit, "in_use": used[r], "reserved": 0} for r, limit in limits.items()}
        else:
            body = dict(limits)
        return wire.json_response({"quota_set": {**body, "id": project_id}})

    async def defaults(self, request: web.Request) -> web.Response:
        project_id = self._target(request, "show")
        return wire.json_response({"quota_set": {**self.state.defaults(), "id": project_id}})

    async def update(self, request: web.Request) -> web.Response:
        project_id = self._target(request, "update")
        wanted = _quota_body(await api.read_body(request), "quota_set", self.state.resources())
        own = self.state.quotas.get(project_id, {})
        used = self.state.in_use(self.region, project_id)
        for key, value in wanted.items():
            if key in own and key != "per_volume_gigabytes" and value != -1 and value < used[key]:
                api.fault(
                    400,
                    "Quota %s limit must be equal or greater than existing resources. Current usage is %d and the "
                    "requested limit is %d." % (key, used[key], value),
                )
        self.state.quotas.setdefault(project_id, {}).update(wanted)
        return wire.json_response({"quota_set": self.state.limits(project_id)})

    async def delete(self, request: web.Request) -> web.Response:
        project_id = self._target(request, "delete")
        self.state.quotas.pop(project_id, None)
        return web.Response(status=200, content_type="application/json")

    # -- quota classes -----------------------------------------------------------------

    async def show_class(self, request: web.Request) -> web.Response:
        if not api.caller(request).is_admin:
            api.denied("volume_extension:quota_classes:get")
        name = request.match_info["id"]
        return wire.json_response({"quota_class_set": {**self.state.class_limits(name), "id": name}})

    async def update_class(self, request: web.Request) -> web.Response:
        if not api.caller(request).is_admin:
            api.denied("volume_extension:quota_classes:update")
        name = request.match_info["id"]
        wanted = _quota_body(await api.read_body(request), "quota_class_set", self.state.resources())
        self.state.quota_classes.setdefault(name, {}).update(wanted)
        return wire.json_response({"quota_class_set": self.state.class_limits(name)})

    # -- limits ------------------------------------------------------------------------

    async def limits(self, request: web.Request) -> web.Response:
        project_id = api.caller(request).project_id
        limits = self.state.limits(project_id)
        used = self.state.in_use(self.region, project_id)
        absolute = {
            "maxTotalVolumes": limits["volumes"],
            "maxTotalSnapshots": limits["snapshots"],
            "maxTotalVolumeGigabytes": limits["gigabytes"],
            "maxTotalBackups": limits["backups"],
            "maxTotalBackupGigabytes": limits["backup_gigabytes"],
            "totalVolumesUsed": used["volumes"],
            "totalGigabytesUsed": used["gigabytes"],
            "totalSnapshotsUsed": used["snapshots"],
            "totalBackupsUsed": used["backups"],
            "totalBackupGigabytesUsed": used["backup_gigabytes"],
        }
        return wire.json_response({"limits": {"rate": [], "absolute": absolute}})


def _quota_body(body: Json, wrapper: str, resources: list[str]) -> dict[str, int]:
    """The body checked as cinder's JSON schema and format checker do, in
    their order: a value error stops at once, bad keys are reported together."""
    extra = [key for key in body if key != wrapper]
    if wrapper not in body:
        api.fault(400, "'%s' is a required property" % wrapper)
    if extra:
        api.fault(400, "Additional properties are not allowed (%s was unexpected)" % ", ".join(map(repr, extra)))
    item = body[wrapper]
    if not isinstance(item, dict):
        api.fault(400, "Invalid input for field/attribute %s. Value: %s. %r is not of type 'object'"
                  % (wrapper, item, item))  # fmt: skip
    if not item:
        api.fault(400, "Invalid input for field/attribute %s. Value: {}. {} should be non-empty" % wrapper)
    known = set(resources)
    bad = []
    values = {}
    for key, value in item.items():
        if key in _NON_QUOTA_KEYS and wrapper == "quota_set":
            continue
        if key not in known:
            bad.append(key)
            continue
        if wrapper == "quota_set":
            values[key] = api.integer(key, value, -1, api.DB_MAX_INT)
        else:
            values[key] = _class_value(key, value)
    if bad:
        kind = "quota set" if wrapper == "quota_set" else "quota class set"
        api.fault(400, "Invalid input received: Bad key(s) in %s: %s" % (kind, ", ".join(bad)))
    return values


def _class_value(key: str, value: object) -> int:
    """A quota class value as its JSON schema checks it."""
    prefix = "Invalid input for field/attribute %s. Value: %s." % (key, value)
    if isinstance(value, str):
        if not value.isdigit():
            api.fault(400, "%s %r does not match '^[0-9]*$'" % (prefix, value))
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        api.fault(400, "%s %r is not of type 'integer', 'string'" % (prefix, value))
    if number < -1:
        api.fault(400, "%s %d is less than the minimum of -1" % (prefix, number))
    if number > api.DB_MAX_INT:
        api.fault(400, "%s %d is greater than the maximum of %d" % (prefix, number, api.DB_MAX_INT))
    return number
