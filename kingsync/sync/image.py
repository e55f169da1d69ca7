"""Image sync: an image's data and metadata, copied to target regions under
the same id, verified, and hidden until verified.

One transfer is one image from one source region to every target of a job
that is due at once (the engine's transfer loop hands them over together,
kingsync.engine.transfer). Per target, the data takes one of two paths
(kingsync.sync.image_paths):

    glance-download  where the target's glance offers it (GET /v2/info/import)
                     and [images] glance_download is on: the target's glance
                     pulls the data from the source's itself; no byte passes
                     through the engine. kingsync follows the import through
                     the image and its tasks.
    stream           otherwise: the engine reads the source once and sends each
                     chunk to every such target at once (kingsync.sync.image_stream),
                     in memory bounded by a few chunks.

Either way the copy is made hidden (os_hidden) with the source's id and
metadata, checked on arrival (size and hash equal to the source's), and only
then shown and protected as the source is. A copy that fails the check is
deleted, never left usable. An image that names a kernel and a ramdisk
brings them first. Which decision is taken for which target is pure
(kingsync.sync.image_plan); the facts are in ../shared/reference/sync-facts.md,
sections 1 and 2.

Images are read and written with kingsync's own admin credentials: a copy
belongs to the source image's owner. A tenant may sync only the images its
project owns (kingsync.sync.image_source, the API's check); an admin any image, by id.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any

import openstack.connection
from oslo_log import log as logging

from kingsync.db.models import CONFLICT, ERROR, SUCCESS
from kingsync.sync import errors, glance, image_source
from kingsync.sync import image_paths as paths
from kingsync.sync import image_plan as plan
from kingsync.sync.image_plan import Decision, Image
from kingsync.sync.task import Copy, Outcome, Task

LOG = logging.getLogger(__name__)

Result = Outcome | Exception


# -- the engine: one transfer -----------------------------------------------------------------


def sync(task: Task) -> Outcome:
    """One image to one target (a transfer of one)."""
    result = transfer([task])[0]
    if isinstance(result, Exception):
        raise result
    return result


def transfer(tasks: Sequence[Task]) -> list[Result]:
    """One image (the tasks' resource, from their source region) to each task's
    target region. Returns how each ended, in order: an Outcome, or the error
    that stopped it (the engine retries the transient ones)."""
    first = tasks[0]
    item = first.item
    try:
        body = image_source.locate(first.source, item.resource, first.project_id)
    except errors.SourceAmbiguous as exc:
        return [Outcome.failure(ERROR, exc.message) for _ in tasks]
    if body is None:
        return [
            _failed("Image %s no longer exists in the source region %s." % (item.resource, item.source_region))
        ] * len(tasks)
    if body.get("status") != plan.ACTIVE:
        return [
            _failed(
                "Image %s in %s is %s: only an active image can be synced."
                % (item.resource, item.source_region, body["status"])
            )
        ] * len(tasks)
    source = plan.read(body)
    targets = [_Target(task) for task in tasks]
    with contextlib.ExitStack() as held:
        for target in targets:
            try:
                held.enter_context(target.task.exclusive("image/%s/%s" % (target.region, source.id)))
            except errors.RetryLater as exc:
                target.end = exc
        live = [target for target in targets if target.end is None]
        _bring_references(first, source, live)
        _copy(first.source, source, [target for target in live if target.end is None])
    return [
        target.end if target.end is not None else _failed("kingsync lost track of this copy.") for target in targets
    ]


@dataclasses.dataclass(eq=False)
class _Target:
    """One target region of a transfer, as the copy goes on."""

    task: Task
    references: dict[str, str] = dataclasses.field(default_factory=dict)  # source id -> target id
    decision: Decision | None = None
    image_id: str | None = None  # the copy's id in the target
    path: str = ""
    known_tasks: frozenset[str] = frozenset()  # glance tasks there before this import
    end: Result | None = None

    @property
    def region(self) -> str:
        return self.task.item.target_region

    @property
    def conn(self) -> openstack.connection.Connection:
        return self.task.target


class _Burnt(Exception):
    """The source's id is a deleted image's in the target, and the job has no force."""


class _Exists(Exception):
    """A create found an image under the id: decide on it."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("id"))
        self.body = body


def _failed(message: str) -> Outcome:
    return Outcome.failure(ERROR, message)


def _quiet(done: int, total: int) -> None:
    """A kernel's or ramdisk's progress is not the item's."""


def _bring_references(first: Task, source: Image, targets: list[_Target]) -> None:
    """The kernel and ramdisk the image names, copied to each target first
    (their target ids go into the copy's kernel_id/ramdisk_id)."""
    for key, image_id in source.references().items():
        live = [target for target in targets if target.end is None]
        if not live:
            return
        what = key.removesuffix("_id")
        body = glance.get(first.source, image_id)
        if body is None or body.get("status") != plan.ACTIVE:
            state = "does not exist" if body is None else "is %s" % body.get("status")
            for target in live:
                target.end = _failed(
                    "Image %s names %s %s, which %s in %s."
                    % (source.id, what, image_id, state, first.item.source_region)
                )
            continue
        reference = plan.read(body)
        if reference.fields.get("owner") != source.fields.get("owner"):
            for target in live:
                _guard(target, functools.partial(_adopt_foreign, what), reference)
            continue
        helpers = [_Target(dataclasses.replace(target.task, progress=_quiet)) for target in live]
        _copy(first.source, reference, helpers)
        for target, helper in zip(live, helpers, strict=True):
            if isinstance(helper.end, Outcome) and helper.end.status == SUCCESS and helper.end.target_id:
                target.references[image_id] = helper.end.target_id
            elif isinstance(helper.end, Exception):
                target.end = helper.end
            else:
                error = helper.end.error if helper.end is not None else "it did not end"
                target.end = _failed("Its %s %s could not be copied to %s: %s" % (what, image_id, target.region, error))


def _adopt_foreign(what: str, reference: Image, target: _Target) -> None:
    """Another project's kernel or ramdisk is not this job's to copy: it must be there already."""
    copy = target.task.record.find(reference.id)
    found = glance.get(target.conn, copy.target_id if copy else reference.id)
    there = plan.read(found) if found is not None else None
    if there is not None and plan.verify(reference, there) is None:
        target.references[reference.id] = there.id
        return
    target.end = _failed(
        "Its %s %s belongs to project %s, not to the image's; it must be synced to %s first "
        "(an admin can sync it)." % (what, reference.id, reference.fields.get("owner"), target.region)
    )


def _copy(source_conn: openstack.connection.Connection, source: Image, targets: list[_Target]) -> None:
    """Copy ``source`` to every target: decide, make the records, move the data
    by each target's path, verify, finish. Sets each target's ``end``."""
    _each(targets, _prepare, source)
    moving = [target for target in targets if target.end is None]
    starting = [t for t in moving if t.path == paths.DOWNLOAD and t.decision is not None and not t.decision.follow]
    _each(starting, _start_import, source)
    streamed = [target for target in moving if target.end is None and target.path == paths.STREAM]
    if streamed:
        _stream(source_conn, source, streamed)
    _each([target for target in moving if target.end is None and target.path == paths.DOWNLOAD], _await_import, source)
    _each([target for target in moving if target.end is None], _finish, source)


def _each(targets: list[_Target], step: Callable[[Image, _Target], None], source: Image) -> None:
    """One step for every target: side by side when there are several (each
    talks to its own region), so two targets take hardly longer than one."""
    if len(targets) == 1:
        _guard(targets[0], step, source)
    elif targets:
        with futures.ThreadPoolExecutor(max_workers=len(targets), thread_name_prefix="image-target") as pool:
            list(pool.map(functools.partial(_guard, step=step, source=source), targets))


def _guard(target: _Target, step: Callable[[Image, _Target], None], source: Image) -> None:
    """Run one step of copying ``source`` for one target; its error ends that target only."""
    try:
        step(source, target)
    except _Burnt as exc:
        target.end = Outcome.failure(CONFLICT, str(exc))
    except Exception as exc:
        # A copy whose data did not arrive stays hidden, without data and on
        # record: nothing can use it, and the next attempt (or job) finishes it
        # under the same id, which deleting it would burn.
        target.end = exc


def _prepare(source: Image, target: _Target) -> None:
    """Decide; for a copy, make the hidden record in the target and keep it on record."""
    copy = target.task.record.find(source.id)
    if copy is None:
        # Nothing on record: most likely a first copy. Create it at once (one
        # call, not two); glance's 409 says when the id is taken after all.
        try:
            _decide(source, target, copy, None, looked=False)
            return
        except _Exists as exc:
            found: dict[str, Any] | None = exc.body
    else:
        found = glance.get(target.conn, copy.target_id)
    _decide(source, target, copy, found, looked=True)


def _decide(source: Image, target: _Target, copy: Copy | None, found: dict[str, Any] | None, looked: bool) -> None:
    """Decide on the image found under the copy's id; ``looked``: it was looked
    for (else the target is taken to have none, and a create finds out)."""
    want = plan.wanted(source, target.references)
    there = plan.read(found) if found is not None else None
    own = copy is not None and not copy.complete and there is not None and copy.target_id == there.id
    decision = plan.decide(want, there, own, target.task.item.force)
    target.decision = decision
    target.image_id = there.id if there is not None else None
    if decision.result == CONFLICT:
        assert there is not None
        target.end = Outcome.failure(
            CONFLICT,
            "Image %s (%s) in %s differs from the one in %s: %s; sync with force to replace it."
            % (there.id, there.name, target.region, target.task.item.source_region, decision.reason),
            target_id=there.id,
        )
        return
    if not decision.copy and not decision.follow:
        assert there is not None
        if decision.update:
            glance.update(target.conn, there.id, plan.patch(want, there))
        target.task.record.keep(source.id, there.id, complete=True)
        target.end = Outcome.success(decision.result, there.id)
        return
    target.path = paths.DOWNLOAD if decision.follow else paths.choose(target.conn)
    for image_id in decision.discard_before:
        LOG.info("Deleting kingsync's unfinished copy %s in %s: its data can no longer arrive", image_id, target.region)
        glance.delete(target.conn, image_id)
        target.task.record.forget(source.id)
        target.image_id = None
    if decision.into is None and not decision.follow:
        target.image_id = _create(source, want, target, decision.new_id, looked)


def _create(source: Image, want: Image, target: _Target, new_id: bool, looked: bool) -> str:
    """The copy's hidden record in the target, under the source's id unless a new one is due."""
    made: dict[str, Any] | None = None
    if not new_id:
        try:
            made = glance.create(target.conn, plan.create_body(want, source.id))
        except glance.IdTaken:
            existing = glance.get(target.conn, source.id)
            if existing is not None and not looked:
                raise _Exists(existing) from None
            if existing is not None:
                # Made since it was looked for (another job copying the same kernel, say).
                raise errors.RetryLater("Image %s appeared in %s meanwhile." % (source.id, target.region)) from None
            if not target.task.item.force:
                raise _Burnt(
                    "Image id %s cannot be used in %s: Glance keeps the id of a deleted image for good "
                    "(until glance-manage db purge_images_table); sync with force to copy the image under "
                    "a new id." % (source.id, target.region)
                ) from None
            LOG.info(
                "Image id %s is taken in %s (by a deleted image); copying under a new id", source.id, target.region
            )
    if made is None:
        made = glance.create(target.conn, plan.create_body(want, None))
    image_id = str(made["id"])
    target.task.record.keep(source.id, image_id, complete=False)
    return image_id


def _start_import(source: Image, target: _Target) -> None:
    assert target.image_id is not None
    try:
        target.known_tasks = paths.start_import(target.conn, target.image_id, source, target.task.item.source_region)
    except paths.ImportLocked as exc:
        # An earlier import that failed mid-copy keeps the copy locked for an hour:
        # send the data through the engine instead.
        LOG.info("%s; streaming image %s to %s instead", exc, source.id, target.region)
        target.path = paths.STREAM
        return
    target.task.progress(0, int(source.size or 0))


def _await_import(source: Image, target: _Target) -> None:
    assert target.image_id is not None
    paths.await_import(target.conn, target.image_id, source, target.known_tasks)


def _stream(source_conn: openstack.connection.Connection, source: Image, targets: list[_Target]) -> None:
    sinks = {target.region: (target.conn, str(target.image_id), target.task.progress) for target in targets}
    ends = paths.stream(source_conn, source, sinks)
    for target in targets:
        target.end = ends[target.region]


# -- the end ------------------------------------------------------------------------------------


def _finish(source: Image, target: _Target) -> None:
    """Check the copy; show it (and protect it) as the source is; drop what it replaced."""
    assert target.image_id is not None and target.decision is not None
    body = glance.get(target.conn, target.image_id)
    if body is None:
        raise errors.RetryLater(
            "The copy %s in %s disappeared before it was checked." % (target.image_id, target.region)
        )
    copy = plan.read(body)
    why = plan.verify(source, copy)
    if why is not None:
        glance.delete(target.conn, copy.id)
        target.task.record.forget(source.id)
        burnt = " (the id is now held by the deleted copy: sync again with force)" if copy.id == source.id else ""
        target.end = _failed(
            "The copy of image %s in %s was not the source's: %s. kingsync deleted it%s."
            % (source.id, target.region, why, burnt)
        )
        return
    ops = plan.patch(plan.wanted(source, target.references), copy)
    if ops:
        glance.update(target.conn, copy.id, ops)
    for image_id in target.decision.discard_after:
        LOG.info("Deleting image %s in %s: replaced by %s (force)", image_id, target.region, copy.id)
        glance.delete(target.conn, image_id)
    target.task.record.keep(source.id, copy.id, complete=True)
    target.task.progress(int(source.size or 0), int(source.size or 0))
    target.end = Outcome.success(target.decision.result, copy.id)
