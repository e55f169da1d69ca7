"""Nova's legacy quota engine (``DbQuotaDriver``) and the APIs over it:
``/os-quota-sets``, ``/os-quota-class-sets`` and ``/limits``.

A limit is the first of: the user's own limit (user scope only), the
project's limit, the "default" quota class, nova.conf. Usage is counted, not
stored: server groups from this state, instances/cores/RAM from the usage the
control API stands in for servers, and ``key_pairs`` and
``server_group_members`` always 0 (nova treats them as per-user specials).
"""

from __future__ import annotations

from aiohttp import web

from kingsync.sim import wire
from kingsync.sim.compute import api, schema
from kingsync.sim.compute.api import fault
from kingsync.sim.wire import Json

# nova.conf [quota] defaults; the nova-network leftovers have no option and are -1.
CONFIG_DEFAULTS = {
    "cores": 20,
    "fixed_ips": -1,
    "floating_ips": -1,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
    "injected_files": 5,
    "instances": 10,
    "key_pairs": 100,
    "metadata_items": 128,
    "ram": 51200,
    "security_group_rules": -1,
    "security_groups": -1,
    "server_group_members": 10,
    "server_groups": 10,
}
RESOURCES = sorted(CONFIG_DEFAULTS)
NETWORK = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
# Counted from servers, which the simulator stands in with control-API usage.
SERVER_USAGE = ("instances", "cores", "ram")

_VALUE = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": 0x7FFFFFFF}


def _body_schema(key: str, names: list[str], force: bool) -> schema.Schema:
    properties: Json = {name: _VALUE for name in names}
    if force:
        properties["force"] = schema.BOOLEAN
    return {
        "type": "object",
        "properties": {key: {"type": "object", "properties": properties, "additionalProperties": False}},
        "required": [key],
        "additionalProperties": False,
    }


# The order of nova's ``_quota_resources`` (it decides which error comes first).
_SCHEMA_ORDER = [
    "instances",
    "cores",
    "ram",
    "floating_ips",
    "fixed_ips",
    "metadata_items",
    "key_pairs",
    "security_groups",
    "security_group_rules",
    *INJECTED,
    "server_groups",
    "server_group_members",
]


def _without(*groups: tuple[str, ...]) -> list[str]:
    dropped = {name for group in groups for name in group}
    return [name for name in _SCHEMA_ORDER if name not in dropped]


_QUOTA_SET_SCHEMAS = [
    ("2.1", _body_schema("quota_set", _SCHEMA_ORDER, force=True)),
    ("2.36", _body_schema("quota_set", _without(NETWORK), force=True)),
    ("2.57", _body_schema("quota_set", _without(NETWORK, INJECTED), force=True)),
]
_QUOTA_CLASS_SCHEMAS = [
    ("2.1", _body_schema("quota_class_set", _SCHEMA_ORDER, force=False)),
    ("2.50", _body_schema("quota_class_set", _without(NETWORK), force=False)),
    ("2.57", _body_schema("quota_class_set", _without(NETWORK, INJECTED), force=False)),
]
_USER_QUERY = {"user_id": schema.multi({"type": "string"})}

# /limits names (nova/api/openstack/compute/views/limits.py).
_ABSOLUTE = {
    "ram": ["maxTotalRAMSize"],
    "instances": ["maxTotalInstances"],
    "cores": ["maxTotalCores"],
    "key_pairs": ["maxTotalKeypairs"],
    "floating_ips": ["maxTotalFloatingIps"],
    "metadata_items": ["maxServerMeta", "maxImageMeta"],
    "injected_files": ["maxPersonality"],
    "injected_file_content_bytes": ["maxPersonalitySize"],
    "security_groups": ["maxSecurityGroups"],
    "security_group_rules": ["maxSecurityGroupRules"],
    "server_groups": ["maxServerGroups"],
    "server_group_members": ["maxServerGroupMembers"],
}
_USED = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


def _unlimited(value: int) -> bool:
    return value <= -1


def _plus(one: int, two: int) -> int:
    return -1 if _unlimited(one) or _unlimited(two) else one + two


def _minus(one: int, two: int) -> int:
    return -1 if _unlimited(one) or _unlimited(two) else one - two


def _infinite(value: int) -> float:
    return float("inf") if value == -1 else value


class Limits(api.Service):
    """The quota engine: limits, usage and the range a new limit may take."""

    def defaults(self) -> dict[str, int]:
        return {**CONFIG_DEFAULTS, **self.state.quota_classes.get("default", {})}

    def class_limits(self, name: str) -> dict[str, int]:
        # nova reads a class over nova.conf, not over the "default" class.
        return {**CONFIG_DEFAULTS, **self.state.quota_classes.get(name, {})}

    def project_limits(self, project_id: str) -> dict[str, int]:
        return {**self.defaults(), **self.state.quotas.get(project_id, {})}

    def user_limits(self, project_id: str, user_id: str) -> dict[str, int]:
        own = self.state.user_quotas.get(project_id, {}).get(user_id, {})
        return {**self.project_limits(project_id), **own}

    def user_limit(self, project_id: str, user_id: str, resource: str) -> int:
        """The limit a per-user count (keypairs) is checked against: the
        lower of the project's and the user's."""
        project = self.project_limits(project_id)[resource]
        user = self.user_limits(project_id, user_id)[resource]
        if _unlimited(project):
            return user
        return project if _unlimited(user) else min(project, user)

    def server_groups(self, project_id: str, user_id: str | None = None) -> int:
        groups = self.state.server_groups.get(project_id, {})
        if user_id is None:
            return len(groups)
        return sum(1 for group in groups.values() if group["user_id"] == user_id)

    def usage(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        used = dict.fromkeys(RESOURCES, 0)
        if user_id is None:
            # Servers are not modelled per user: user-scope usage of these is 0.
            for resource in SERVER_USAGE:
                used[resource] = self.region.usage_of("compute", project_id, resource)
        used["server_groups"] = self.server_groups(project_id, user_id)
        return used

    def remains(self, project_id: str) -> dict[str, int]:
        """The project limit minus every user limit handed out in it (nova
        subtracts even a -1 user limit, and so does this)."""
        left = self.project_limits(project_id)
        for own in self.state.user_quotas.get(project_id, {}).values():
            for resource, value in own.items():
                left[resource] -= value
        return left

    def settable(self, project_id: str, user_id: str | None) -> dict[str, tuple[int, int]]:
        """(minimum, maximum) for each resource, as ``get_settable_quotas``."""
        remains = self.remains(project_id)
        if user_id is None:
            limits, used = self.project_limits(project_id), self.usage(project_id)
            return {r: (max(_minus(limits[r], remains[r]), used[r]), -1) for r in RESOURCES}
        own = self.state.user_quotas.get(project_id, {}).get(user_id, {})
        used = self.usage(project_id, user_id)
        return {r: (used[r], _plus(remains[r], own.get(r, 0))) for r in RESOURCES}


def _filtered(request: web.Request, since_network: str) -> tuple[str, ...]:
    if api.at_least(request, "2.57"):
        return NETWORK + INJECTED
    if api.at_least(request, since_network):
        return NETWORK
    return ()


class QuotaSets(Limits):
    def routes(self, app: web.Application) -> None:
        base = "/v2.1/os-quota-sets/{project_id}"
        app.router.add_get(base, self.show)
        app.router.add_put(base, self.update)
        app.router.add_delete(base, self.delete)
        app.router.add_get(base + "/detail", self.detail)
        app.router.add_get(base + "/defaults", self.defaults_view)
        app.router.add_get("/v2.1/os-quota-class-sets/{class_name}", self.show_class)
        app.router.add_put("/v2.1/os-quota-class-sets/{class_name}", self.update_class)
        app.router.add_get("/v2.1/limits", self.limits)

    def _format(self, request: web.Request, values: Json, project_id: str | None) -> web.Response:
        hidden = _filtered(request, "2.36")
        out: Json = {"id": project_id} if project_id is not None else {}
        out.update({r: values[r] for r in RESOURCES if r not in hidden})
        return wire.json_response({"quota_set": out})

    def _target(self, request: web.Request, action: str) -> tuple[str, str | None]:
        """The project (policy checked, existence verified) and the optional
        ``user_id`` query (nova takes its first value)."""
        api.check_query(request, _USER_QUERY)
        project_id = request.match_info["project_id"]
        ctx = api.caller(request)
        allowed = api.is_project_reader(ctx, project_id) if action in ("show", "detail") else ctx.is_admin
        api.authorize(allowed, "os_compute_api:os-quota-sets:%s" % action)
        if action != "delete":
            api.verify_project(self.cloud, ctx, project_id)
        users = request.query.getall("user_id", [])
        return project_id, (users[0] if users else None)

    def _limits(self, project_id: str, user_id: str | None) -> dict[str, int]:
        return self.user_limits(project_id, user_id) if user_id else self.project_limits(project_id)

    async def show(self, request: web.Request) -> web.Response:
        project_id, user_id = self._target(request, "show")
        return self._format(request, self._limits(project_id, user_id), project_id)

    async def detail(self, request: web.Request) -> web.Response:
        project_id, user_id = self._target(request, "detail")
        limits, used = self._limits(project_id, user_id), self.usage(project_id, user_id)
        values = {r: {"limit": limits[r], "in_use": used[r], "reserved": 0} for r in RESOURCES}
        return self._format(request, values, project_id)

    async def defaults_view(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since=None)
        project_id = request.match_info["project_id"]
        api.verify_project(self.cloud, api.caller(request), project_id)
        return self._format(request, self.defaults(), project_id)

    async def update(self, request: web.Request) -> web.Response:
        data = await api.body(request, api.pick(request, _QUOTA_SET_SCHEMAS))
        project_id, user_id = self._target(request, "update")
        wanted = data["quota_set"]
        force = schema.truthy(wanted.get("force", "False"))
        settable = self.settable(project_id, user_id)
        # Every value is checked before any is written: no partial updates.
        valid: dict[str, int] = {}
        for key, value in wanted.items():
            if key == "force" or (not value and value != 0):
                continue
            value = int(value)
            if not force:
                _check_range(key, value, *settable[key])
            valid[key] = value
        if user_id:
            self.state.user_quotas.setdefault(project_id, {}).setdefault(user_id, {}).update(valid)
        elif valid:
            self.state.quotas.setdefault(project_id, {}).update(valid)
        return self._format(request, self._limits(project_id, user_id), None)

    async def delete(self, request: web.Request) -> web.Response:
        project_id, user_id = self._target(request, "delete")
        if user_id:
            users = self.state.user_quotas.get(project_id, {})
            users.pop(user_id, None)
            if not users:
                self.state.user_quotas.pop(project_id, None)
        else:
            self.state.quotas.pop(project_id, None)
            self.state.user_quotas.pop(project_id, None)
        return wire.empty(202)

    # -- quota classes -----------------------------------------------------------------

    def _format_class(self, request: web.Request, values: Json, name: str | None) -> web.Response:
        hidden = _filtered(request, "2.50")
        if not api.at_least(request, "2.50"):
            # Before 2.50 the class API forgot the server group quotas.
            hidden = (*hidden, "server_groups", "server_group_members")
        out: Json = {"id": name} if name is not None else {}
        out.update({r: values[r] for r in RESOURCES if r not in hidden})
        return wire.json_response({"quota_class_set": out})

    async def show_class(self, request: web.Request) -> web.Response:
        api.check_query(request, {}, strict_since="2.102")
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-quota-class-sets:show")
        name = request.match_info["class_name"]
        return self._format_class(request, self.class_limits(name), name)

    async def update_class(self, request: web.Request) -> web.Response:
        data = await api.body(request, api.pick(request, _QUOTA_CLASS_SCHEMAS))
        api.authorize(api.caller(request).is_admin, "os_compute_api:os-quota-class-sets:update")
        name = request.match_info["class_name"]
        values = {key: int(value) for key, value in data["quota_class_set"].items()}
        self.state.quota_classes.setdefault(name, {}).update(values)
        return self._format_class(request, self.class_limits(name), None)

    # -- limits ----------------------------------------------------------------------------

    async def limits(self, request: web.Request) -> web.Response:
        api.check_query(request, {"tenant_id": schema.multi({"type": "string"})})
        ctx = api.caller(request)
        project_id = ctx.project_id
        tenant = api.param(request, "tenant_id")
        if tenant is not None:
            project_id = tenant
            api.authorize(ctx.is_admin, "os_compute_api:limits:other_project")
        hidden: tuple[str, ...] = ()
        if api.at_least(request, "2.57"):
            hidden = (
                "floating_ips",
                "security_groups",
                "security_group_rules",
                "injected_files",
                "injected_file_content_bytes",
            )
        elif api.at_least(request, "2.36"):
            hidden = ("floating_ips", "security_groups", "security_group_rules")
        limits, used = self.project_limits(project_id), self.usage(project_id)
        absolute: Json = {}
        for resource, names in _ABSOLUTE.items():
            if resource in hidden:
                continue
            for name in names:
                if name != "maxImageMeta" or not api.at_least(request, "2.39"):
                    absolute[name] = limits[resource]
        absolute.update({name: used[r] for name, r in _USED.items() if r not in hidden})
        return wire.json_response({"limits": {"rate": [], "absolute": absolute}})


def _check_range(resource: str, value: int, minimum: int, maximum: int) -> None:
    if _infinite(value) < _infinite(minimum):
        fault(
            400,
            "Quota limit %s for %s must be greater than or equal to already used and reserved %s."
            % (value, resource, minimum),
        )
    if _infinite(value) > _infinite(maximum):
        fault(400, "Quota limit %s for %s must be less than or equal to %s." % (value, resource, maximum))
