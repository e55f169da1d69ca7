"""Simulated Keystone v3: password and token auth, token validation as
keystonemiddleware does it, the catalog, and projects, users, roles and role
assignments. One Keystone serves every region, as in a real multi-region
deployment with a shared Keystone.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kingsync.sim import wire
from kingsync.sim.wire import Json, keystone_fault

if TYPE_CHECKING:
    from kingsync.sim.cloud import SimCloud

TOKEN_TTL = datetime.timedelta(hours=4)
DEFAULT_DOMAIN = "default"
# Demo accounts the simulator creates, as devcloud does (user -> password).
DEMO_PASSWORDS = {"admin": "admin-secret", "demo": "demo-secret", "demo2": "demo2-secret", "kingsync": "service-secret"}
# Keystone's default implied roles: admin implies member implies reader.
IMPLIES = {"admin": ("member", "reader"), "member": ("reader",)}


def stable_id(*parts: str) -> str:
    """A deterministic 32-hex id, so catalog ids survive restarts."""
    return hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()


def new_id() -> str:
    return uuid.uuid4().hex


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "000Z"


@dataclasses.dataclass
class Token:
    id: str
    user_id: str
    project_id: str | None
    roles: list[str]
    methods: list[str]
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    audit_id: str


@dataclasses.dataclass
class State:
    projects: dict[str, Json] = dataclasses.field(default_factory=dict)
    users: dict[str, Json] = dataclasses.field(default_factory=dict)
    roles: dict[str, Json] = dataclasses.field(default_factory=dict)
    # project id -> user id -> role ids
    assignments: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    tokens: dict[str, Token] = dataclasses.field(default_factory=dict)
    _project_names: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)

    # -- construction and persistence ----------------------------------------------

    @classmethod
    def bootstrap(cls) -> State:
        state = cls()
        for role in ("admin", "member", "reader", "service"):
            state.roles[stable_id("role", role)] = {
                "id": stable_id("role", role),
                "name": role,
                "domain_id": None,
                "description": None,
                "options": {},
            }
        for name in ("admin", "service", "demo", "demo2"):
            state.create_project(name, project_id=stable_id("project", name))
        state.create_user("admin", DEMO_PASSWORDS["admin"], "admin", ["admin"])
        state.create_user("demo", DEMO_PASSWORDS["demo"], "demo", ["member", "reader"])
        state.create_user("demo2", DEMO_PASSWORDS["demo2"], "demo2", ["member", "reader"])
        state.create_user("kingsync", DEMO_PASSWORDS["kingsync"], "service", ["admin", "service"])
        admin = state.user_by_name("admin")
        assert admin is not None
        state.grant(admin["id"], state.project_id_by_name("demo") or "", "member")
        return state

    def to_json(self) -> Json:
        return {"projects": self.projects, "users": self.users, "roles": self.roles, "assignments": self.assignments}

    @classmethod
    def from_json(cls, doc: Json) -> State:
        state = cls(projects=doc["projects"], users=doc["users"], roles=doc["roles"], assignments=doc["assignments"])
        for project in state.projects.values():
            state._project_names[(project["domain_id"], project["name"])] = project["id"]
        return state

    # -- projects, users, roles ------------------------------------------------------

    def create_project(
        self,
        name: str,
        description: str = "",
        project_id: str | None = None,
        domain_id: str = DEFAULT_DOMAIN,
        enabled: bool = True,
    ) -> Json:
        if (domain_id, name) in self._project_names:
            raise KeyError(name)
        pid = project_id or new_id()
        project = {
            "id": pid,
            "name": name,
            "domain_id": domain_id,
            "description": description,
            "enabled": enabled,
            "is_domain": False,
            "parent_id": domain_id,
            "tags": [],
            "options": {},
        }
        self.projects[pid] = project
        self._project_names[(domain_id, name)] = pid
        return project

    def delete_project(self, project_id: str) -> None:
        project = self.projects.pop(project_id)
        self._project_names.pop((project["domain_id"], project["name"]), None)
        self.assignments.pop(project_id, None)

    def project_id_by_name(self, name: str, domain_id: str = DEFAULT_DOMAIN) -> str | None:
        return self._project_names.get((domain_id, name))

    def create_user(self, name: str, password: str, project: str | None = None, roles: list[str] | None = None) -> Json:
        uid = stable_id("user", name) if name in DEMO_PASSWORDS else new_id()
        project_id = self.project_id_by_name(project) if project else None
        user = {
            "id": uid,
            "name": name,
            "domain_id": DEFAULT_DOMAIN,
            "enabled": True,
            "default_project_id": project_id,
            "password_expires_at": None,
            "options": {},
            "password_sha256": _hash(password),
        }
        self.users[uid] = user
        for role in roles or []:
            if project_id:
                self.grant(uid, project_id, role)
        return user

    def user_by_name(self, name: str, domain_id: str = DEFAULT_DOMAIN) -> Json | None:
        for user in self.users.values():
            if user["name"] == name and user["domain_id"] == domain_id:
                return user
        return None

    def role_by_name(self, name: str) -> Json | None:
        for role in self.roles.values():
            if role["name"] == name:
                return role
        return None

    def grant(self, user_id: str, project_id: str, role_name_or_id: str) -> None:
        role = self.roles.get(role_name_or_id) or self.role_by_name(role_name_or_id)
        if role is None:
            raise KeyError(role_name_or_id)
        held = self.assignments.setdefault(project_id, {}).setdefault(user_id, [])
        if role["id"] not in held:
            held.append(role["id"])

    def revoke(self, user_id: str, project_id: str, role_id: str) -> bool:
        held = self.assignments.get(project_id, {}).get(user_id, [])
        if role_id in held:
            held.remove(role_id)
            return True
        return False

    def effective_roles(self, user_id: str, project_id: str) -> list[str]:
        """Role names the user holds on the project, implied roles included."""
        names: list[str] = []
        for role_id in self.assignments.get(project_id, {}).get(user_id, []):
            role = self.roles.get(role_id)
            if role is None:
                continue
            for name in (role["name"], *IMPLIES.get(role["name"], ())):
                if name not in names:
                    names.append(name)
        return names

    # -- tokens -------------------------------------------------------------------------

    def issue(
        self,
        user_id: str,
        project_id: str | None,
        methods: list[str],
        expires_at: datetime.datetime | None = None,
        audit_id: str | None = None,
    ) -> Token:
        now = _now()
        roles = self.effective_roles(user_id, project_id) if project_id else []
        token = Token(
            id="gAAAAA" + secrets.token_urlsafe(48),
            user_id=user_id,
            project_id=project_id,
            roles=roles,
            methods=methods,
            issued_at=now,
            expires_at=expires_at or now + TOKEN_TTL,
            audit_id=audit_id or secrets.token_urlsafe(16)[:22],
        )
        self._prune(now)
        self.tokens[token.id] = token
        return token

    def _prune(self, now: datetime.datetime) -> None:
        if len(self.tokens) > 20000:
            for key in [k for k, t in self.tokens.items() if t.expires_at <= now]:
                del self.tokens[key]

    def validate(self, token_id: str | None) -> Token | None:
        """The live token with this id, or None (unknown, expired or its user gone)."""
        if not token_id:
            return None
        token = self.tokens.get(token_id)
        if token is None or token.expires_at <= _now():
            return None
        user = self.users.get(token.user_id)
        if user is None or not user["enabled"]:
            return None
        if token.project_id is not None:
            project = self.projects.get(token.project_id)
            if project is None or not project["enabled"]:
                return None
        return token

    def token_body(self, token: Token, catalog: list[Json] | None) -> Json:
        user = self.users[token.user_id]
        body: Json = {
            "methods": token.methods,
            "user": {
                "id": user["id"],
                "name": user["name"],
                "domain": {"id": user["domain_id"], "name": "Default"},
                "password_expires_at": None,
            },
            "audit_ids": [token.audit_id],
            "expires_at": _iso(token.expires_at),
            "issued_at": _iso(token.issued_at),
        }
        if token.project_id is not None:
            project = self.projects[token.project_id]
            body["project"] = {
                "id": project["id"],
                "name": project["name"],
                "domain": {"id": project["domain_id"], "name": "Default"},
            }
            body["is_domain"] = False
            body["roles"] = [
                {"id": (self.role_by_name(r) or {"id": stable_id("role", r)})["id"], "name": r} for r in token.roles
            ]
            if catalog is not None:
                body["catalog"] = catalog
        return {"token": body}


# ---------------------------------------------------------------------------------
# HTTP


def make_app(cloud: SimCloud) -> web.Application:
    app = web.Application()
    api = _IdentityAPI(cloud)
    app.router.add_get("/identity", api.versions)
    app.router.add_get("/identity/", api.versions)
    app.router.add_get("/identity/v3", api.version)
    app.router.add_get("/identity/v3/", api.version)
    v3 = "/identity/v3"
    app.router.add_post(v3 + "/auth/tokens", api.authenticate)
    app.router.add_get(v3 + "/auth/tokens", api.check_token)
    app.router.add_delete(v3 + "/auth/tokens", api.revoke_token)
    app.router.add_get(v3 + "/auth/catalog", api.auth_catalog)
    app.router.add_get(v3 + "/auth/projects", api.auth_projects)
    app.router.add_get(v3 + "/regions", api.list_regions)
    app.router.add_get(v3 + "/regions/{region_id}", api.show_region)
    app.router.add_get(v3 + "/services", api.list_services)
    app.router.add_get(v3 + "/endpoints", api.list_endpoints)
    app.router.add_get(v3 + "/domains", api.list_domains)
    app.router.add_get(v3 + "/domains/{domain_id}", api.show_domain)
    app.router.add_get(v3 + "/projects", api.list_projects)
    app.router.add_post(v3 + "/projects", api.create_project)
    app.router.add_get(v3 + "/projects/{project_id}", api.show_project)
    app.router.add_patch(v3 + "/projects/{project_id}", api.update_project)
    app.router.add_delete(v3 + "/projects/{project_id}", api.delete_project)
    app.router.add_get(v3 + "/users", api.list_users)
    app.router.add_post(v3 + "/users", api.create_user)
    app.router.add_get(v3 + "/users/{user_id}", api.show_user)
    app.router.add_delete(v3 + "/users/{user_id}", api.delete_user)
    app.router.add_get(v3 + "/users/{user_id}/projects", api.user_projects)
    app.router.add_get(v3 + "/roles", api.list_roles)
    app.router.add_get(v3 + "/roles/{role_id}", api.show_role)
    app.router.add_get(v3 + "/role_assignments", api.list_assignments)
    grant = v3 + "/projects/{project_id}/users/{user_id}/roles/{role_id}"
    app.router.add_put(grant, api.grant)
    app.router.add_route("HEAD", grant, api.check_grant)
    app.router.add_delete(grant, api.revoke)
    app.router.add_get(v3 + "/projects/{project_id}/users/{user_id}/roles", api.list_grants)
    return app


def _user_view(user: Json) -> Json:
    return {k: v for k, v in user.items() if k != "password_sha256"}


class _IdentityAPI:
    def __init__(self, cloud: SimCloud) -> None:
        self.cloud = cloud

    @property
    def state(self) -> State:
        return self.cloud.identity

    def _links(self, request: web.Request, path: str) -> Json:
        return {"self": self.cloud.auth_url + path}

    def _caller(self, request: web.Request) -> Token:
        token = self.state.validate(request.headers.get("X-Auth-Token"))
        if token is None:
            keystone_fault(401, "The request you have made requires authentication.")
        return token

    def _admin(self, request: web.Request) -> Token:
        token = self._caller(request)
        if "admin" not in token.roles:
            keystone_fault(403, "You are not authorized to perform the requested action: admin required.")
        return token

    # -- versions ----------------------------------------------------------------------

    def _version_doc(self) -> Json:
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": self.cloud.auth_url + "/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
        }

    async def versions(self, request: web.Request) -> web.Response:
        return wire.json_response({"versions": {"values": [self._version_doc()]}}, status=300)

    async def version(self, request: web.Request) -> web.Response:
        return wire.json_response({"version": self._version_doc()})

    # -- tokens --------------------------------------------------------------------------

    async def authenticate(self, request: web.Request) -> web.Response:
        body = await wire.read_json(request, keystone_fault)
        auth = body.get("auth")
        if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
            keystone_fault(400, "Invalid input for field 'identity': 'identity' is a required property")
        ident = auth["identity"]
        methods = ident.get("methods")
        if not isinstance(methods, list) or not methods:
            keystone_fault(400, "Invalid input for field 'identity/methods'")
        user_id, expires, audit = self._identify(ident, methods)
        project_id = self._scope(auth.get("scope"), user_id)
        token = self.state.issue(user_id, project_id, methods, expires, audit)
        catalog = None if "nocatalog" in request.query else self.cloud.catalog()
        return wire.json_response(
            self.state.token_body(token, catalog), status=201, headers={"X-Subject-Token": token.id}
        )

    def _identify(self, ident: Json, methods: list[str]) -> tuple[str, datetime.datetime | None, str | None]:
        if "password" in methods:
            user_ref = (ident.get("password") or {}).get("user") or {}
            user = self._find_user(user_ref)
            if user is None or user["password_sha256"] != _hash(str(user_ref.get("password", ""))):
                keystone_fault(401, "The request you have made requires authentication.")
            if not user["enabled"]:
                keystone_fault(401, "The request you have made requires authentication.")
            return user["id"], None, None
        if "token" in methods:
            old = self.state.validate((ident.get("token") or {}).get("id"))
            if old is None:
                keystone_fault(404, "Could not find token.")
            return old.user_id, old.expires_at, old.audit_id
        keystone_fault(401, "Attempted to authenticate with an unsupported method.")

    def _find_user(self, ref: Json) -> Json | None:
        if ref.get("id"):
            return self.state.users.get(ref["id"])
        domain = ref.get("domain") or {}
        domain_id = domain.get("id") or (DEFAULT_DOMAIN if domain.get("name", "Default") == "Default" else "")
        return self.state.user_by_name(str(ref.get("name", "")), domain_id)

    def _scope(self, scope: Any, user_id: str) -> str | None:
        if not scope:
            user = self.state.users[user_id]
            project_id = user.get("default_project_id")
            if project_id and self.state.effective_roles(user_id, project_id):
                return str(project_id)
            return None
        if not isinstance(scope, dict) or "project" not in scope:
            keystone_fault(401, "The request you have made requires authentication.")
        ref = scope["project"] or {}
        if ref.get("id"):
            project_id = ref["id"]
        else:
            domain = ref.get("domain") or {}
            domain_id = domain.get("id") or (DEFAULT_DOMAIN if domain.get("name") == "Default" else "")
            project_id = self.state.project_id_by_name(str(ref.get("name", "")), domain_id)
        if not project_id or project_id not in self.state.projects:
            keystone_fault(401, "The request you have made requires authentication.")
        if not self.state.effective_roles(user_id, project_id):
            keystone_fault(401, "The request you have made requires authentication.")
        return str(project_id)

    async def check_token(self, request: web.Request) -> web.Response:
        self._caller(request)
        subject = self.state.validate(request.headers.get("X-Subject-Token"))
        if subject is None:
            keystone_fault(404, "Could not find token: %s." % request.headers.get("X-Subject-Token", ""))
        headers = {"X-Subject-Token": subject.id}
        if request.method == "HEAD":
            return web.Response(status=200, headers=headers)
        catalog = None if "nocatalog" in request.query else self.cloud.catalog()
        return wire.json_response(self.state.token_body(subject, catalog), headers=headers)

    async def revoke_token(self, request: web.Request) -> web.Response:
        self._caller(request)
        subject = self.state.validate(request.headers.get("X-Subject-Token"))
        if subject is None:
            keystone_fault(404, "Could not find token.")
        del self.state.tokens[subject.id]
        return wire.empty()

    async def auth_catalog(self, request: web.Request) -> web.Response:
        self._caller(request)
        return wire.json_response({"catalog": self.cloud.catalog(), "links": self._links(request, "/auth/catalog")})

    async def auth_projects(self, request: web.Request) -> web.Response:
        token = self._caller(request)
        projects = [p for pid, p in self.state.projects.items() if self.state.effective_roles(token.user_id, pid)]
        return wire.json_response({"projects": projects, "links": self._links(request, "/auth/projects")})

    # -- catalog resources ------------------------------------------------------------

    async def list_regions(self, request: web.Request) -> web.Response:
        self._caller(request)
        regions = [self._region(name) for name in self.cloud.regions]
        return wire.json_response({"regions": regions, "links": self._links(request, "/regions")})

    def _region(self, name: str) -> Json:
        return {
            "id": name,
            "description": "",
            "parent_region_id": None,
            "links": {"self": f"{self.cloud.auth_url}/regions/{name}"},
        }

    async def show_region(self, request: web.Request) -> web.Response:
        self._caller(request)
        name = request.match_info["region_id"]
        if name not in self.cloud.regions:
            keystone_fault(404, "Could not find region: %s." % name)
        return wire.json_response({"region": self._region(name)})

    async def list_services(self, request: web.Request) -> web.Response:
        self._caller(request)
        services = [
            {"id": s["id"], "type": s["type"], "name": s["name"], "enabled": True, "description": ""}
            for s in self.cloud.catalog()
        ]
        stype = request.query.get("type")
        if stype:
            services = [s for s in services if s["type"] == stype]
        return wire.json_response({"services": services, "links": self._links(request, "/services")})

    async def list_endpoints(self, request: web.Request) -> web.Response:
        self._caller(request)
        rows = []
        for service in self.cloud.catalog():
            for ep in service["endpoints"]:
                rows.append(
                    {
                        "id": ep["id"],
                        "interface": ep["interface"],
                        "region": ep["region"],
                        "region_id": ep["region_id"],
                        "url": ep["url"],
                        "service_id": service["id"],
                        "enabled": True,
                    }
                )
        for key in ("interface", "service_id", "region_id"):
            if key in request.query:
                rows = [r for r in rows if r[key] == request.query[key]]
        return wire.json_response({"endpoints": rows, "links": self._links(request, "/endpoints")})

    def _domain(self) -> Json:
        return {
            "id": DEFAULT_DOMAIN,
            "name": "Default",
            "description": "The default domain",
            "enabled": True,
            "tags": [],
            "options": {},
        }

    async def list_domains(self, request: web.Request) -> web.Response:
        self._caller(request)
        return wire.json_response({"domains": [self._domain()], "links": self._links(request, "/domains")})

    async def show_domain(self, request: web.Request) -> web.Response:
        self._caller(request)
        if request.match_info["domain_id"] != DEFAULT_DOMAIN:
            keystone_fault(404, "Could not find domain: %s." % request.match_info["domain_id"])
        return wire.json_response({"domain": self._domain()})

    # -- projects --------------------------------------------------------------------------

    async def list_projects(self, request: web.Request) -> web.Response:
        self._admin(request)
        projects = list(self.state.projects.values())
        query = request.query
        if "name" in query:
            pid = self.state.project_id_by_name(query["name"], query.get("domain_id", DEFAULT_DOMAIN))
            projects = [self.state.projects[pid]] if pid else []
        if "domain_id" in query:
            projects = [p for p in projects if p["domain_id"] == query["domain_id"]]
        if "enabled" in query:
            want = wire.parse_bool(query["enabled"])
            projects = [p for p in projects if p["enabled"] == want]
        return wire.json_response({"projects": projects, "links": self._links(request, "/projects")})

    async def create_project(self, request: web.Request) -> web.Response:
        self._admin(request)
        body = await wire.read_json(request, keystone_fault)
        ref = body.get("project")
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
            keystone_fault(400, "Invalid input for field 'name': 'name' is a required property")
        domain_id = ref.get("domain_id") or DEFAULT_DOMAIN
        if domain_id != DEFAULT_DOMAIN:
            keystone_fault(400, "Could not find domain: %s." % domain_id)
        try:
            project = self.state.create_project(
                ref["name"], str(ref.get("description") or ""), enabled=bool(ref.get("enabled", True))
            )
        except KeyError:
            keystone_fault(
                409,
                "Conflict occurred attempting to store project - it is not permitted to have "
                "two projects with the same name in the same domain : %s." % ref["name"],
            )
        return wire.json_response({"project": project}, status=201)

    def _project(self, request: web.Request) -> Json:
        project = self.state.projects.get(request.match_info["project_id"])
        if project is None:
            keystone_fault(404, "Could not find project: %s." % request.match_info["project_id"])
        return project

    async def show_project(self, request: web.Request) -> web.Response:
        token = self._caller(request)
        project = self._project(request)
        if "admin" not in token.roles and token.project_id != project["id"]:
            keystone_fault(403, "You are not authorized to perform the requested action: identity:get_project.")
        return wire.json_response({"project": project})

    async def update_project(self, request: web.Request) -> web.Response:
        self._admin(request)
        project = self._project(request)
        body = await wire.read_json(request, keystone_fault)
        ref = body.get("project") or {}
        for key in ("description", "enabled"):
            if key in ref:
                project[key] = ref[key]
        return wire.json_response({"project": project})

    async def delete_project(self, request: web.Request) -> web.Response:
        self._admin(request)
        project = self._project(request)
        self.state.delete_project(project["id"])
        return wire.empty()

    # -- users and roles ---------------------------------------------------------------------

    async def list_users(self, request: web.Request) -> web.Response:
        self._admin(request)
        users = [_user_view(u) for u in self.state.users.values()]
        if "name" in request.query:
            users = [u for u in users if u["name"] == request.query["name"]]
        return wire.json_response({"users": users, "links": self._links(request, "/users")})

    async def create_user(self, request: web.Request) -> web.Response:
        self._admin(request)
        body = await wire.read_json(request, keystone_fault)
        ref = body.get("user")
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
            keystone_fault(400, "Invalid input for field 'name': 'name' is a required property")
        if self.state.user_by_name(ref["name"]):
            keystone_fault(
                409,
                "Conflict occurred attempting to store user - Duplicate entry found with name %s at "
                "domain ID default." % ref["name"],
            )
        user = self.state.create_user(ref["name"], str(ref.get("password") or secrets.token_hex(8)))
        if ref.get("default_project_id") in self.state.projects:
            user["default_project_id"] = ref["default_project_id"]
        return wire.json_response({"user": _user_view(user)}, status=201)

    def _user(self, request: web.Request) -> Json:
        user = self.state.users.get(request.match_info["user_id"])
        if user is None:
            keystone_fault(404, "Could not find user: %s." % request.match_info["user_id"])
        return user

    async def show_user(self, request: web.Request) -> web.Response:
        token = self._caller(request)
        user = self._user(request)
        if "admin" not in token.roles and token.user_id != user["id"]:
            keystone_fault(403, "You are not authorized to perform the requested action: identity:get_user.")
        return wire.json_response({"user": _user_view(user)})

    async def delete_user(self, request: web.Request) -> web.Response:
        self._admin(request)
        user = self._user(request)
        del self.state.users[user["id"]]
        for holders in self.state.assignments.values():
            holders.pop(user["id"], None)
        return wire.empty()

    async def user_projects(self, request: web.Request) -> web.Response:
        token = self._caller(request)
        user = self._user(request)
        if "admin" not in token.roles and token.user_id != user["id"]:
            keystone_fault(403, "You are not authorized to perform the requested action: identity:list_user_projects.")
        projects = [p for pid, p in self.state.projects.items() if self.state.effective_roles(user["id"], pid)]
        return wire.json_response({"projects": projects, "links": self._links(request, "/users/x/projects")})

    async def list_roles(self, request: web.Request) -> web.Response:
        self._caller(request)
        roles = list(self.state.roles.values())
        if "name" in request.query:
            roles = [r for r in roles if r["name"] == request.query["name"]]
        return wire.json_response({"roles": roles, "links": self._links(request, "/roles")})

    async def show_role(self, request: web.Request) -> web.Response:
        self._caller(request)
        role = self.state.roles.get(request.match_info["role_id"])
        if role is None:
            keystone_fault(404, "Could not find role: %s." % request.match_info["role_id"])
        return wire.json_response({"role": role})

    def _grant_target(self, request: web.Request) -> tuple[Json, Json, Json]:
        project = self._project(request)
        user = self._user(request)
        role = self.state.roles.get(request.match_info["role_id"])
        if role is None:
            keystone_fault(404, "Could not find role: %s." % request.match_info["role_id"])
        return project, user, role

    async def grant(self, request: web.Request) -> web.Response:
        self._admin(request)
        project, user, role = self._grant_target(request)
        self.state.grant(user["id"], project["id"], role["id"])
        return wire.empty()

    async def check_grant(self, request: web.Request) -> web.Response:
        self._admin(request)
        project, user, role = self._grant_target(request)
        if role["id"] not in self.state.assignments.get(project["id"], {}).get(user["id"], []):
            keystone_fault(404, "Could not find role assignment.")
        return wire.empty()

    async def revoke(self, request: web.Request) -> web.Response:
        self._admin(request)
        project, user, role = self._grant_target(request)
        if not self.state.revoke(user["id"], project["id"], role["id"]):
            keystone_fault(404, "Could not find role assignment.")
        return wire.empty()

    async def list_grants(self, request: web.Request) -> web.Response:
        self._admin(request)
        project = self._project(request)
        user = self._user(request)
        roles = [self.state.roles[r] for r in self.state.assignments.get(project["id"], {}).get(user["id"], [])]
        return wire.json_response({"roles": roles, "links": self._links(request, "/roles")})

    async def list_assignments(self, request: web.Request) -> web.Response:
        self._admin(request)
        query = request.query
        rows = []
        for project_id, holders in self.state.assignments.items():
            if query.get("scope.project.id", project_id) != project_id:
                continue
            for user_id, role_ids in holders.items():
                if query.get("user.id", user_id) != user_id:
                    continue
                for role_id in role_ids:
                    if query.get("role.id", role_id) != role_id:
                        continue
                    rows.append(
                        {
                            "role": {"id": role_id},
                            "user": {"id": user_id},
                            "scope": {"project": {"id": project_id}},
                            "links": {
                                "assignment": f"{self.cloud.auth_url}/projects/{project_id}"
                                f"/users/{user_id}/roles/{role_id}"
                            },
                        }
                    )
        return wire.json_response({"role_assignments": rows, "links": self._links(request, "/role_assignments")})
