"""Who may see and change an image: glance's DB visibility rule plus its
default (secure RBAC) policies, and the errors it answers with.

Glance first loads the image through a visibility filter (404 "No image
found" when the caller may not see it), then checks the policy rule of the
action: a caller who may see the image gets 403 from a failed rule, one who
may not gets 404, so private images do not leak.
"""

from __future__ import annotations

from typing import NoReturn

from aiohttp import web

from kingsync.sim.auth import Context
from kingsync.sim.image.state import EVERYONE, Json, State

# webob's default explanations, for errors raised without one.
NOT_FOUND = "The resource could not be found."
FORBIDDEN = "Access was denied to this resource."
CONFLICT = "There was a conflict when trying to complete your request."
SERVER_ERROR = "The server has either erred or is incapable of performing the requested operation."


class GlanceError(web.HTTPException):
    """A webob error page, rendered for the request's Accept header by the
    image app's middleware."""

    def __init__(
        self,
        status: int,
        explanation: str,
        detail: str = "",
        headers: dict[str, str] | None = None,
        template: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.status_code = status
        super().__init__()
        self.explanation = explanation
        self.detail = detail
        self.extra_headers = headers or {}
        self.template = template
        # Values for the ${...} names of a custom template.
        self.env = env or {}


def fail(status: int, explanation: str, detail: str = "") -> NoReturn:
    raise GlanceError(status, explanation, detail)


def not_found(image_id: str) -> NoReturn:
    fail(404, "No image found with ID %s" % image_id)


def visible(state: State, ctx: Context, image: Json) -> bool:
    """``glance.db.utils.is_image_visible``: admin, owner, public, community,
    or a member (any status) of a shared image."""
    if ctx.is_admin or image["owner"] is None or image["visibility"] in EVERYONE:
        return True
    if image["owner"] == ctx.project_id:
        return True
    return image["visibility"] == "shared" and state.member(image["id"], ctx.project_id) is not None


def lookup(state: State, ctx: Context, image_id: str) -> Json:
    """The image the caller may see, or glance's 404."""
    image = state.images.get(image_id)
    if image is None or not visible(state, ctx, image):
        not_found(image_id)
    return image


def _reader(ctx: Context) -> bool:
    return "reader" in ctx.roles or "member" in ctx.roles


def may_get(ctx: Context, image: Json) -> bool:
    """get_image: admin, or a reader of the owner project or of a non-private image."""
    return ctx.is_admin or (_reader(ctx) and (image["owner"] == ctx.project_id or image["visibility"] != "private"))


def may_modify(ctx: Context, image: Json) -> bool:
    """modify_image, upload_image, delete_image, add_member...: admin or a member of the owner project."""
    return ctx.is_admin or ("member" in ctx.roles and image["owner"] == ctx.project_id)


def may_download(ctx: Context, image: Json) -> bool:
    """download_image: admin, or a member of the owner project or of a non-private image."""
    return ctx.is_admin or (
        "member" in ctx.roles and (image["owner"] == ctx.project_id or image["visibility"] != "private")
    )


def enforce(allowed: bool, ctx: Context, image: Json, rule: str) -> None:
    """``ImageAPIPolicy._enforce``: 403 for an image the caller can see, 404 otherwise."""
    if allowed:
        return
    if rule == "get_image" or not may_get(ctx, image):
        fail(404, NOT_FOUND)
    fail(403, "You are not authorized to complete %s action." % rule)


def enforce_visibility(ctx: Context, visibility: object) -> None:
    """publicize_image is admin only; communitize_image any member."""
    if visibility == "public" and not ctx.is_admin:
        fail(403, "You are not authorized to complete publicize_image action.")
    if visibility == "community" and not (ctx.is_admin or "member" in ctx.roles):
        fail(403, "You are not authorized to complete communitize_image action.")
