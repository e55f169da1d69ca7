"""/v2.0/security-groups and /v2.0/security-group-rules.

Policy as neutron's defaults: a member sees and changes the groups of its own
project and the rules in them; admin sees everything. Listing groups or rules
creates the default group of the project listed (or of the caller) when the
caller may read that project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.network import api, groups, rules
from kingsync.sim.network.groups import Groups
from kingsync.sim.network.state import State
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

_GROUP_FILTERS = (
    "id",
    "name",
    "tenant_id",
    "project_id",
    "description",
    "stateful",
    "shared",
    "revision_number",
    "created_at",
    "updated_at",
    "tags",
)
# The attributes a create may set, and those an update may name (of which
# only name, description and stateful are writable).
_GROUP_POST = ("name", "tenant_id", "project_id", "description", "stateful")
_GROUP_ATTRIBUTES = (*_GROUP_POST, "id", "shared", "tags", "security_group_rules")
_RULE_FILTERS = rules.ATTRIBUTES + (
    "belongs_to_default_sg",
    "normalized_cidr",
    "revision_number",
    "created_at",
    "updated_at",
)


class SecurityGroups:
    def __init__(self, region: Region) -> None:
        self.region = region

    @property
    def state(self) -> State:
        state: State = self.region.network
        return state

    @property
    def groups(self) -> Groups:
        return Groups(self.state, self.region)

    def routes(self, app: web.Application) -> None:
        base = "/v2.0/security-groups"
        app.router.add_get(base, self.list_groups)
        app.router.add_post(base, self.create_group)
        app.router.add_get(base + "/{id}", self.show_group)
        app.router.add_put(base + "/{id}", self.update_group)
        app.router.add_delete(base + "/{id}", self.delete_group)
        base = "/v2.0/security-group-rules"
        app.router.add_get(base, self.list_rules)
        app.router.add_post(base, self.create_rules)
        app.router.add_get(base + "/{id}", self.show_rule)
        app.router.add_delete(base + "/{id}", self.delete_rule)

    # -- helpers -----------------------------------------------------------------------

    def _ensure_listed_default(self, ctx: auth.Context, wanted: dict[str, list[str]]) -> None:
        project_id = (wanted.get("project_id") or [ctx.project_id])[0]
        if ctx.can_act_on(project_id):
            self.groups.ensure_default(project_id)

    @staticmethod
    def _projects(ctx: auth.Context, wanted: dict[str, list[str]]) -> list[str] | None:
        """Projects whose objects the caller may list (None: all of them)."""
        if ctx.is_admin:
            return wanted.get("project_id")
        return [ctx.project_id] if ctx.project_id in wanted.get("project_id", [ctx.project_id]) else []

    def _group(self, ctx: auth.Context, group_id: str) -> Json:
        group = self.state.get("security_groups", group_id)
        if group is None or not ctx.can_act_on(group["project_id"]):
            api.fault(404, "SecurityGroupNotFound", "Security group %s does not exist" % group_id)
        return group

    def _rule(self, ctx: auth.Context, rule_id: str) -> Json:
        rule = self.state.get("rules", rule_id)
        if rule is None:
            api.fault(404, "SecurityGroupRuleNotFound", "Security group rule %s does not exist" % rule_id)
        if not ctx.can_act_on(self.state.owners.get(rule["security_group_id"], "")):
            api.not_found()
        return rule

    # -- groups -------------------------------------------------------------------------

    async def list_groups(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        wanted = api.filters(request, _GROUP_FILTERS)
        self._ensure_listed_default(ctx, wanted)
        found = self.state.of_projects("security_groups", self._projects(ctx, wanted))
        items = [self.groups.group_view(g, listed=True) for g in found if api.matches(g, wanted)]
        return api.listing(request, "security_groups", items)

    async def show_group(self, request: web.Request) -> web.Response:
        group = self._group(auth.context(request), request.match_info["id"])
        return api.shown(request, "security_group", self.groups.group_view(group))

    async def create_group(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        item = api.resource_body(await api.read_body(request), "security_group")
        project_id = api.set_owner(ctx, item)
        api.verify(item, _GROUP_POST)
        name = _group_name(item)
        description = api.string(item, "description")
        stateful = api.boolean(item, "stateful", True)
        group = self.groups.create(project_id, name, description, stateful)
        return api.shown(request, "security_group", self.groups.group_view(group), status=201)

    async def update_group(self, request: web.Request) -> web.Response:
        item = api.resource_body(await api.read_body(request), "security_group")
        api.verify(item, _GROUP_ATTRIBUTES)
        api.read_only(item, ("name", "description", "stateful"))
        name = _group_name(item) if "name" in item else None
        description = api.string(item, "description") if "description" in item else None
        group = self._group(auth.context(request), request.match_info["id"])
        if "stateful" in item:
            stateful = api.boolean(item, "stateful", group["stateful"])
            if stateful != group["stateful"] and self.state.group_ports.get(group["id"]):
                api.fault(409, "SecurityGroupInUse", "Security Group %s in use." % group["id"])
            group["stateful"] = stateful
        if name is not None:
            if group["name"] == "default":
                api.fault(409, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
            group["name"] = name
        if description is not None:
            group["description"] = description
        group["revision_number"] += 1
        group["updated_at"] = api.now()
        return api.shown(request, "security_group", self.groups.group_view(group))

    async def delete_group(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        group = self._group(ctx, request.match_info["id"])
        if self.state.group_ports.get(group["id"]):
            api.fault(409, "SecurityGroupInUse", "Security Group %s in use." % group["id"])
        if group["name"] == "default" and not ctx.is_admin:
            api.fault(
                409, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group."
            )
        self.groups.delete(group)
        return wire.empty()

    # -- rules ----------------------------------------------------------------------------

    async def list_rules(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        wanted = api.filters(request, _RULE_FILTERS)
        self._ensure_listed_default(ctx, wanted)
        if "security_group_id" in wanted:
            found = [r for gid in wanted["security_group_id"] for r in self._rules_of_id(gid)]
        elif ctx.is_admin:
            found = self.state.of_projects("rules", wanted.get("project_id"))
        else:
            # a member sees the rules in its own groups, whoever added them
            found = [
                r for g in self.state.of_project("security_groups", ctx.project_id) for r in self.groups.rules_of(g)
            ]
        visible = (r for r in found if ctx.can_act_on(self.state.owners.get(r["security_group_id"], "")))
        items = [view for view in (self.groups.rule_view(r) for r in visible) if api.matches(view, wanted)]
        return api.listing(request, "security_group_rules", items)

    def _rules_of_id(self, group_id: str) -> list[Json]:
        group = self.state.get("security_groups", group_id)
        return self.groups.rules_of(group) if group is not None else []

    async def show_rule(self, request: web.Request) -> web.Response:
        rule = self._rule(auth.context(request), request.match_info["id"])
        return api.shown(request, "security_group_rule", self.groups.rule_view(rule))

    async def create_rules(self, request: web.Request) -> web.Response:
        ctx = auth.context(request)
        body = await api.read_body(request)
        if "security_group_rules" in body:
            items = body["security_group_rules"]
            if not isinstance(items, list) or not items:
                api.bad_request("Resources required")
            wrapped = [
                i if isinstance(i, dict) and "security_group_rule" in i else {"security_group_rule": i} for i in items
            ]
            asked = [rules.from_request(ctx, api.resource_body(w, "security_group_rule")) for w in wrapped]
            created = self._create(ctx, asked)
            views = [self.groups.rule_view(r) for r in created]
            return wire.json_response({"security_group_rules": views}, status=201)
        asked = [rules.from_request(ctx, api.resource_body(body, "security_group_rule"))]
        created = self._create(ctx, asked)
        return api.shown(request, "security_group_rule", self.groups.rule_view(created[0]), status=201)

    def _create(self, ctx: auth.Context, asked: list[Json]) -> list[Json]:
        """Policy, quota, validation, duplicates, then the rules: neutron's order."""
        for rule in asked:
            group = self.state.get("security_groups", rule["security_group_id"])
            if group is not None and not ctx.can_act_on(group["project_id"]):
                api.denied("rule:create_security_group_rule")
        if len(asked) > 1:
            _single_project_and_group(asked)
        self.state.check_quota(self.region, asked[0]["project_id"], {"security_group_rule": len(asked)})
        for rule in asked:
            self._validate(ctx, rule)
        group = self.state.get("security_groups", asked[0]["security_group_id"])
        assert group is not None  # checked by _validate
        self._check_duplicates(group, asked)
        created = []
        for rule in asked:
            fields = {k: v for k, v in rule.items() if k not in ("project_id", "security_group_id")}
            created.append(self.groups.add_rule(group, fields, rule["project_id"], bump=False))
        # One transaction, so the group's revision goes up once however many rules it got.
        groups.bump_revision(group)
        return created

    def _validate(self, ctx: auth.Context, rule: Json) -> None:
        rules.validate(rule)
        for group_id in (rule["remote_group_id"], rule["security_group_id"]):
            group = self.state.get("security_groups", group_id) if group_id else None
            if group_id and (group is None or not (ctx.is_admin or group["project_id"] == rule["project_id"])):
                api.fault(404, "SecurityGroupNotFound", "Security group %s does not exist" % group_id)
            if rule["remote_address_group_id"]:
                api.fault(
                    404,
                    "AddressGroupNotFound",
                    "Address group %s could not be found." % rule["remote_address_group_id"],
                )

    def _check_duplicates(self, group: Json, asked: list[Json]) -> None:
        seen: set[tuple[str, ...]] = set()
        for rule in asked:
            key = rules.duplicate_key(rule)
            if key in seen:
                api.fault(409, "DuplicateSecurityGroupRuleInPost", "Duplicate Security Group Rule in POST.")
            seen.add(key)
        for existing in sorted(self.groups.rules_of(group), key=lambda r: str(r["id"])):
            if rules.duplicate_key(existing) in seen:
                api.fault(
                    409,
                    "SecurityGroupRuleExists",
                    "Security group rule already exists. Rule id is %s." % existing["id"],
                )

    async def delete_rule(self, request: web.Request) -> web.Response:
        rule = self._rule(auth.context(request), request.match_info["id"])
        self.groups.delete_rule(rule)
        return wire.empty()


def _single_project_and_group(asked: list[Json]) -> None:
    """_validate_single_project_and_group: rule by rule, the group first."""
    seen_groups, seen_projects = set(), set()
    for rule in asked:
        seen_groups.add(rule["security_group_id"])
        if len(seen_groups) > 1:
            api.fault(
                400,
                "SecurityGroupNotSingleGroupRules",
                "Only allowed to update rules for one security profile at a time",
            )
        seen_projects.add(rule["project_id"])
        if len(seen_projects) > 1:
            api.fault(
                400,
                "SecurityGroupRulesNotSingleProject",
                "Multiple project_ids in bulk security group rule create not allowed",
            )


def _group_name(item: Json) -> str:
    name = api.string(item, "name")
    if name.lower() == "default":
        api.fault(409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
    return name
