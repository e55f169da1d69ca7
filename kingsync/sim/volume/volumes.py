"""/v3/volumes, their os-reset_status action, and /v3/types.

The devcloud runs cinder-api alone: no scheduler takes a new volume, so it
stays ``creating`` and never gets a host. The simulator does the same. A
volume without a host is deleted straight from the database whatever its
status, so deleting works without resetting the status first; resetting it
(admin only) works too.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.volume import api
from kingsync.sim.volume.state import DEFAULT_TYPE, State, volume_deltas
from kingsync.sim.wire import Json

if TYPE_CHECKING:
    from kingsync.sim.cloud import Region

# cinder's VolumeStatus values, in its order (the reset_status error lists them).
STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
            "attaching", "in-use", "detaching", "maintenance", "restoring-backup", "error_restoring", "reserved",
            "awaiting-transfer", "backing-up", "error_backing-up", "error_extending", "downloading", "uploading",
            "retyping", "extending")  # fmt: skip
_GENERIC_400 = "The server could not comply with the request since it is either malformed or otherwise incorrect."


class Volumes:
    def __init__(self, region: Region) -> None:
        self.region = region

    @property
    def state(self) -> State:
        state: State = self.region.volume
        return state

    def paths(self) -> list[tuple[str, str, auth.Handler]]:
        return [
            ("GET", "/volumes", self.list_brief),
            ("GET", "/volumes/detail", self.list_detail),
            ("POST", "/volumes", self.create),
            ("GET", "/volumes/{id}", self.show),
            ("DELETE", "/volumes/{id}", self.delete),
            ("POST", "/volumes/{id}/action", self.action),
            ("GET", "/types", self.list_types),
            ("GET", "/types/{id}", self.show_type),
        ]

    # -- views ---------------------------------------------------------------------------

    def _links(self, request: web.Request, volume_id: str) -> list[Json]:
        project = request.match_info.get("project_id")
        path = f"{project}/volumes/{volume_id}" if project else f"volumes/{volume_id}"
        root = self.region.url + "/volume"
        return [{"rel": "self", "href": f"{root}/v3/{path}"}, {"rel": "bookmark", "href": f"{root}/{path}"}]

    def _detail(self, request: web.Request, volume: Json, created: bool = False) -> Json:
        """The detailed view at the request's microversion; the answer to a
        create lacks the os-vol-* attributes and shows unrounded times."""
        admin = api.caller(request).is_admin
        view: Json = {
            "id": volume["id"],
            "status": volume["status"],
            "size": volume["size"],
            "availability_zone": volume["availability_zone"],
            "created_at": volume["created_at"] if created else api.stored(volume["created_at"]),
            "updated_at": api.stored(volume["updated_at"]),
            "name": volume["name"],
            "description": volume["description"],
            "volume_type": volume["volume_type"],
            "snapshot_id": None,
            "source_volid": None,
            "metadata": volume["metadata"],
            "links": self._links(request, volume["id"]),
            "user_id": volume["user_id"],
            "bootable": "false",
            "encrypted": False,
            "replication_status": None,
            "consistencygroup_id": None,
            "multiattach": False,
            "attachments": [],
        }
        if admin:
            view["migration_status"] = None
        self._versioned(request, view, volume, admin)
        if not created:
            view["os-vol-tenant-attr:tenant_id"] = volume["project_id"]
            if admin:
                view.update({"os-vol-mig-status-attr:migstat": None, "os-vol-mig-status-attr:name_id": None,
                             "os-vol-host-attr:host": None})  # fmt: skip
        return view

    @staticmethod
    def _versioned(request: web.Request, view: Json, volume: Json, admin: bool) -> None:
        if api.at_least(request, "3.13"):
            view["group_id"] = None
        if admin and api.at_least(request, "3.21"):
            view["provider_id"] = None
        if api.at_least(request, "3.48"):
            view["shared_targets"] = True
            view["service_uuid"] = None
        if admin and api.at_least(request, "3.61"):
            view["cluster_name"] = None
        if api.at_least(request, "3.63"):
            view["volume_type_id"] = volume["volume_type_id"]
        if api.at_least(request, "3.65"):
            view["consumes_quota"] = True

    # -- listing ----------------------------------------------------------------------

    def _visible(self, request: web.Request) -> list[Json]:
        ctx = api.caller(request)
        query = request.query
        everyone = ctx.is_admin and api.boolean_param("all_tenants", query.get("all_tenants", "0"))
        if everyone and "project_id" not in query:
            found = [v for owned in self.state.volumes.values() for v in owned.values()]
        else:
            project_id = query.get("project_id", ctx.project_id) if everyone else ctx.project_id
            found = list(self.state.volumes.get(project_id, {}).values())
        for key in ("name", "status"):
            if key in query:
                found = [v for v in found if v[key] == query[key]]
        # cinder's default order: newest first
        found.sort(key=lambda v: (v["created_at"], v["id"]), reverse=True)
        marker = query.get("marker")
        if marker and self.state.get_volume(marker) is None:
            api.fault(404, "Volume %s could not be found." % marker)
        page, _ = wire.paginate(found, query.get("limit"), marker, "id", lambda s, m: api.fault(s, m))
        return page

    async def list_brief(self, request: web.Request) -> web.Response:
        items = [{"id": v["id"], "name": v["name"], "links": self._links(request, v["id"])}
                 for v in self._visible(request)]  # fmt: skip
        return wire.json_response({"volumes": items})

    async def list_detail(self, request: web.Request) -> web.Response:
        return wire.json_response({"volumes": [self._detail(request, v) for v in self._visible(request)]})

    def _volume(self, request: web.Request) -> Json:
        volume_id = request.match_info["id"]
        volume = self.state.get_volume(volume_id)
        if volume is None or not api.caller(request).can_act_on(volume["project_id"]):
            api.fault(404, "Volume %s could not be found." % volume_id)
        return volume

    async def show(self, request: web.Request) -> web.Response:
        return wire.json_response({"volume": self._detail(request, self._volume(request))})

    # -- create and delete ----------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        ctx = api.caller(request)
        item = _create_body(await api.read_body(request))
        volume_type = self._type_for(item.get("volume_type"))
        for key, what in (("snapshot_id", "Snapshot"), ("source_volid", "Volume")):
            if item.get(key) is not None:
                api.fault(404, "%s %s could not be found." % (what, item[key]))
        if item.get("size") is None:
            api.fault(400, _GENERIC_400)
        size = int(item["size"])
        self._check_quota(ctx.project_id, volume_type["name"], size)
        volume = {
            "id": str(uuid.uuid4()), "project_id": ctx.project_id, "user_id": ctx.user_id, "status": "creating",
            "size": size, "availability_zone": item.get("availability_zone") or "nova", "created_at": api.now(),
            "updated_at": None, "name": item.get("name", item.get("display_name")),
            "description": item.get("description", item.get("display_description")),
            "volume_type": volume_type["name"], "volume_type_id": volume_type["id"],
            "metadata": dict(item.get("metadata") or {}),
        }  # fmt: skip
        self.state.add_volume(volume)
        return wire.json_response({"volume": self._detail(request, volume, created=True)}, status=202)

    def _type_for(self, wanted: Any) -> Json:
        if not wanted:
            return self.state.types[DEFAULT_TYPE]
        for volume_type in self.state.types.values():
            if wanted in (volume_type["id"], volume_type["name"]):
                return volume_type
        if _uuid_like(str(wanted)):
            api.fault(404, "Volume type %s could not be found." % wanted)
        api.fault(404, "Volume type with name %s could not be found." % wanted)

    def _check_quota(self, project_id: str, type_name: str, size: int) -> None:
        """The volume API's checks: per volume size, then a reservation whose
        first resource over (in name order) names the error."""
        limits = self.state.limits(project_id)
        cap = limits["per_volume_gigabytes"]
        if cap != -1 and size > cap:
            api.over_limit(
                "VolumeSizeExceedsLimit",
                "Requested volume size %dG is larger than maximum allowed limit %dG." % (size, cap),
            )
        used = self.state.in_use(self.region, project_id)
        deltas = volume_deltas(type_name, size)
        overs = sorted(r for r, d in deltas.items() if limits.get(r, -1) >= 0 and used[r] + d > limits[r])
        for over in overs:
            if "gigabytes" in over:
                api.over_limit(
                    "VolumeSizeExceedsAvailableQuota",
                    "Requested volume or snapshot exceeds allowed %s quota. Requested %dG, quota is %dG and %dG has "
                    "been consumed." % (over, size, limits[over], used[over]),
                )
            api.over_limit(
                "VolumeLimitExceeded",
                "Maximum number of volumes allowed (%d) exceeded for quota '%s'." % (limits[over], over),
            )

    async def delete(self, request: web.Request) -> web.Response:
        volume = self._volume(request)
        self.state.remove_volume(volume)
        return web.Response(status=202, content_type="text/html", charset="UTF-8")

    # -- actions ------------------------------------------------------------------------

    async def action(self, request: web.Request) -> web.Response:
        volume = self._volume(request)
        body = await api.read_body(request)
        name = next(iter(body), "")
        if name != "os-reset_status":
            api.fault(
                400,
                "There is no such action: %s. Verify the request body and Content-Type header and try again." % name,
            )
        if not api.caller(request).is_admin:
            api.denied("volume_extension:volume_admin_actions:reset_status")
        _reset_status(volume, body[name])
        return web.Response(status=202, content_type="application/json")

    # -- types --------------------------------------------------------------------------

    def _type_view(self, request: web.Request, volume_type: Json, listed: bool) -> Json:
        view = dict(volume_type)
        if not api.caller(request).is_admin:
            view.pop("qos_specs_id")
        if listed:
            view["os-volume-type-access:is_public"] = volume_type["is_public"]
        return view

    async def list_types(self, request: web.Request) -> web.Response:
        types = [self._type_view(request, t, listed=True) for t in self.state.types.values()]
        return wire.json_response({"volume_types": types})

    async def show_type(self, request: web.Request) -> web.Response:
        wanted = request.match_info["id"]
        if wanted == "default":
            wanted = self.state.types[DEFAULT_TYPE]["id"]
        for volume_type in self.state.types.values():
            if volume_type["id"] == wanted:
                return wire.json_response({"volume_type": self._type_view(request, volume_type, listed=False)})
        api.fault(404, "Volume type %s could not be found." % wanted)


def _create_body(body: Json) -> Json:
    """The create body as cinder's JSON schema checks it (the parts used here)."""
    if "volume" not in body:
        api.fault(400, "'volume' is a required property")
    extra = [key for key in body if key not in ("volume", "OS-SCH-HNT:scheduler_hints")]
    if extra:
        api.fault(400, "Additional properties are not allowed (%s was unexpected)" % ", ".join(map(repr, extra)))
    item = body["volume"]
    if not isinstance(item, dict):
        api.fault(400, "Invalid input for field/attribute volume. Value: %s. %r is not of type 'object'" % (item, item))
    size = item.get("size")
    if size is not None:
        prefix = "Invalid input for field/attribute size. Value: %s." % size
        if isinstance(size, bool) or not isinstance(size, int | str):
            api.fault(400, "%s %r is not of type 'integer', 'string', 'null'" % (prefix, size))
        if isinstance(size, str) and not size.isdigit():
            api.fault(400, "%s %r does not match '^[0-9]+$'" % (prefix, size))
        if int(size) < 1:
            api.fault(400, "%s %s is less than the minimum of 1" % (prefix, size))
        if int(size) > api.DB_MAX_INT:
            api.fault(400, "%s %s is greater than the maximum of %d" % (prefix, size, api.DB_MAX_INT))
    for key in ("name", "description", "display_name", "display_description"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            api.fault(400, "Invalid input for field/attribute %s. Value: %s. %r is not of type 'string', 'null'"
                      % (key, value, value))  # fmt: skip
        entity = "description" if "description" in key else "name"
        if isinstance(value, str) and len(value.strip()) > 255:
            api.fault(
                400, "Invalid input received: %s has %d characters, more than 255." % (entity, len(value.strip()))
            )
    return item


def _reset_status(volume: Json, update: Any) -> None:
    if not isinstance(update, dict) or not any(k in update for k in ("status", "attach_status", "migration_status")):
        api.fault(400, "Must specify 'status', 'attach_status' or 'migration_status' for update.")
    status = update.get("status")
    if status is not None:
        if status not in STATUSES:
            api.fault(400, "Volume status: %s is invalid, valid statuses are: %s." % (status, STATUSES))
        volume["status"] = status
        volume["updated_at"] = api.now()


def _uuid_like(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
