"""Import tasks (``glance.domain.Task``) and ``GET /v2/images/{id}/tasks``
(API 2.12).

A task is created ``pending`` by the import call, goes ``processing`` when
its flow starts and ends ``success`` or ``failure``; only then does it get
an ``expires_at``, 48 hours on, after which glance no longer lists it.
Records are stored in the shape glance lists them, keys in its order.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from aiohttp import web

from kingsync.sim.auth import Context
from kingsync.sim.image.policy import NOT_FOUND, fail, may_get, visible
from kingsync.sim.image.service import Service, json_response
from kingsync.sim.image.state import Json

TIME_TO_LIVE = datetime.timedelta(hours=48)  # [task] task_time_to_live
# What glance's taskflow executor writes for any failure but an upload error
# (so for every glance-download failure); the reason is only in its log.
INTERNAL_ERROR = "Task failed due to Internal Error"
_FORMAT = "%Y-%m-%dT%H:%M:%S.000000"  # the DB keeps whole seconds


def stamp(moment: datetime.datetime | None = None) -> str:
    return (moment or datetime.datetime.now(datetime.UTC)).strftime(_FORMAT)


def age(task: Json) -> datetime.timedelta:
    """Time since the task last changed."""
    changed = datetime.datetime.strptime(task["updated_at"], _FORMAT).replace(tzinfo=datetime.UTC)
    return datetime.datetime.now(datetime.UTC) - changed


def new_task(ctx: Context, image_id: str, request_id: str, task_input: Json) -> Json:
    """``TaskFactory.new_task`` for an import: owned by the caller's project."""
    created = stamp()
    return {
        "id": str(uuid.uuid4()),
        "type": "api_image_import",
        "status": "pending",
        "owner": ctx.project_id,
        "expires_at": None,
        "created_at": created,
        "updated_at": created,
        "deleted_at": None,
        "deleted": False,
        "image_id": image_id,
        "request_id": request_id,
        "user_id": ctx.user_id,
        "input": task_input,
        "result": None,
        "message": "",
    }


def update(task: Json, **changes: Any) -> None:
    task.update(changes, updated_at=stamp())


def finish(task: Json, status: str, result: Json | None = None, message: str | None = None) -> None:
    """``Task.succeed`` / ``Task.fail``: a terminal status and an expiry."""
    now = datetime.datetime.now(datetime.UTC)
    task.update(status=status, result=result, updated_at=stamp(now), expires_at=stamp(now + TIME_TO_LIVE))
    if message is not None:
        task["message"] = message


class Tasks:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    async def index(self, request: web.Request) -> web.Response:
        """The image's tasks the caller's project owns (all of them for an
        admin), unexpired, in task id order as glance's query returns them."""
        ctx = self.svc.context(request)
        state = self.svc.state
        image = state.images.get(request.match_info["image_id"])
        if image is None or not visible(state, ctx, image) or not may_get(ctx, image):
            fail(404, NOT_FOUND)
        now = stamp()
        listed = [
            task
            for task in state.tasks.get(image["id"], ())
            if (ctx.is_admin or task["owner"] == ctx.project_id)
            and (task["expires_at"] is None or task["expires_at"] >= now)
        ]
        return json_response({"tasks": sorted(listed, key=lambda task: str(task["id"]))})
