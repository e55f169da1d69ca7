"""Image members: sharing a ``shared`` image with other projects, which
accept or reject it (``glance.api.v2.image_members``)."""

from __future__ import annotations

from aiohttp import web

from kingsync.sim.auth import Context
from kingsync.sim.image.policy import enforce, fail, may_get, may_modify, visible
from kingsync.sim.image.service import Service, json_response, read_body
from kingsync.sim.image.state import Json, now

STATUSES = ("pending", "accepted", "rejected")


def member_view(record: Json) -> Json:
    return {**record, "schema": "/v2/schemas/member"}


class Members:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    def _image(self, ctx: Context, image_id: str) -> Json:
        image = self.svc.state.images.get(image_id)
        if image is None or not visible(self.svc.state, ctx, image):
            fail(404, "Image %s not found." % image_id)
        return image

    def _member(self, image: Json, member_id: str) -> Json:
        record = self.svc.state.member(image["id"], member_id)
        if record is None:
            fail(404, "%s not found in the member list of the image %s." % (member_id, image["id"]))
        return record

    @staticmethod
    def _may_see(ctx: Context, image: Json, member_id: str) -> bool:
        """get_member: admin, a reader of the owner, or the member itself."""
        return ctx.is_admin or (may_get(ctx, image) and ctx.project_id in (image["owner"], member_id))

    async def create(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image_id = request.match_info["image_id"]
        body = await read_body(request)
        if not isinstance(body, dict):
            fail(400, 'Expected a member in the form: {"member": "image_id"}')
        if "member" not in body:
            fail(400, "Member to be added not specified")
        member_id = body["member"]
        if not member_id:
            fail(400, "Member can't be empty")
        image = self._image(ctx, image_id)
        if image["visibility"] != "shared":
            fail(403, "Not allowed to create members for image %s." % image_id)
        enforce(may_modify(ctx, image), ctx, image, "add_member")
        if self.svc.state.member(image_id, str(member_id)) is not None:
            fail(409, "Member %s is duplicated for image %s" % (member_id, image_id))
        return json_response(member_view(self.svc.state.add_member(image_id, str(member_id))))

    async def index(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image = self._image(ctx, request.match_info["image_id"])
        if image["visibility"] != "shared":
            fail(403, "Not allowed to list members for image %s: Only shared images have members." % image["id"])
        members = self.svc.state.members.get(image["id"], {})
        shown = [member_view(r) for m, r in members.items() if self._may_see(ctx, image, m)]
        return json_response({"members": shown, "schema": "/v2/schemas/members"})

    async def show(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image = self._image(ctx, request.match_info["image_id"])
        if image["visibility"] != "shared":
            fail(404, "Only shared images have members.")
        member_id = request.match_info["member_id"]
        record = self._member(image, member_id)
        if not self._may_see(ctx, image, member_id):
            fail(404, "You are not authorized to lookup the members of the image %s." % image["id"])
        return json_response(member_view(record))

    async def update(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image_id, member_id = request.match_info["image_id"], request.match_info["member_id"]
        body = await read_body(request)
        if not isinstance(body, dict):
            fail(400, 'Expected a status in the form: {"status": "status"}')
        if "status" not in body:
            fail(400, "Status not specified")
        image = self._image(ctx, image_id)
        if image["visibility"] != "shared":
            fail(403, "Not allowed to update members for image %s." % image_id)
        record = self._member(image, member_id)
        # modify_member: admin, or the member project itself (not the owner).
        enforce(ctx.is_admin or ("member" in ctx.roles and ctx.project_id == member_id), ctx, image, "modify_member")
        if body["status"] not in STATUSES:
            fail(400, 'Incorrect request: Status must be "pending", "accepted" or "rejected".')
        record.update(status=body["status"], updated_at=now())
        return json_response(member_view(record))

    async def delete(self, request: web.Request) -> web.Response:
        ctx = self.svc.context(request)
        image_id, member_id = request.match_info["image_id"], request.match_info["member_id"]
        image = self._image(ctx, image_id)
        if image["visibility"] != "shared":
            fail(403, "Not allowed to delete members for image %s." % image_id)
        self._member(image, member_id)
        enforce(may_modify(ctx, image), ctx, image, "delete_member")
        self.svc.state.remove_member(image_id, member_id)
        # glance returns this 204 itself, without webob's text/html label.
        return web.Response(status=204)
