"""Keypair sync: copy a user's keypair (name, public key, type) to a target region.

Keypairs belong to a user, not a project: kingsync reads and writes them with
its own admin credentials, naming the job's user (nova's ``user_id``, API
microversion 2.10, which openstacksdk negotiates for keypairs). The public
key is always sent, so nova never generates a key of its own.

``decide`` is the pure part; ``sync`` is the I/O around it, and
``find_sources`` the check the API makes before a job is created.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

import openstack.connection
from openstack import exceptions as sdk_exceptions
from oslo_log import log as logging

from kingsync.context import RequestContext
from kingsync.db.models import CONFLICT, CREATED, ERROR, REPLACED, UNCHANGED
from kingsync.sync import errors
from kingsync.sync.task import Connect, Outcome, Task

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Keypair:
    name: str
    public_key: str
    type: str = "ssh"


class Action(enum.Enum):
    CREATE = "create"  # nothing by that name in the target
    UNCHANGED = "unchanged"  # the same key is there already
    CONFLICT = "conflict"  # a different key has the name, and no force
    REPLACE = "replace"  # a different key has the name: delete it, then create


def key_material(keypair: Keypair) -> str:
    """What makes two keys the same key.

    For SSH keys, the algorithm and the base64 key: the comment after them
    ("user@host") is a label, not part of the key (nova's fingerprint ignores
    it too). For x509 certificates, the PEM text without its whitespace.
    """
    if keypair.type == "ssh":
        return " ".join(keypair.public_key.split()[:2])
    return "".join(keypair.public_key.split())


def same_key(a: Keypair, b: Keypair) -> bool:
    return a.type == b.type and key_material(a) == key_material(b)


def decide(source: Keypair, target: Keypair | None, force: bool) -> Action:
    if target is None:
        return Action.CREATE
    if same_key(source, target):
        return Action.UNCHANGED
    return Action.REPLACE if force else Action.CONFLICT


# -- the I/O shell ------------------------------------------------------------------------


def find_sources(ctxt: RequestContext, connect: Connect, region: str, names: Sequence[str]) -> None:
    """Each keypair must exist in ``region`` for the caller.

    kingsync asks with its own service credentials, naming the caller's user
    id; the caller's token is not involved (nor kept: it is gone by now).
    """
    for name in names:
        try:
            connect(region).compute.get_keypair(name, user_id=ctxt.user_id)
        except sdk_exceptions.NotFoundException:
            raise errors.SourceNotFound(
                "Keypair %r of user %s not found in region %s." % (name, ctxt.user_id, region)
            ) from None
        except errors.UNREACHABLE as exc:
            LOG.warning("Could not look up keypair %s of user %s in region %s: %s", name, ctxt.user_id, region, exc)
            raise errors.SourceUnavailable(
                "Region %s could not be asked whether keypair %r exists (%s); try again later."
                % (region, name, type(exc).__name__)
            ) from None


# A create answered 409 means someone made the keypair between our look and
# our create (a user, or an engine that took over an expired lease): look
# again and decide again, once.
_DECISIONS = 2


def sync(task: Task) -> Outcome:
    item, user_id = task.item, task.user_id
    source = _read(task.source, item.resource, user_id)
    if source is None:
        return Outcome.failure(
            ERROR,
            "Keypair %s of user %s no longer exists in the source region %s; nothing to copy."
            % (item.resource, user_id, item.source_region),
        )
    target_conn = task.target
    for _ in range(_DECISIONS):
        target = _read(target_conn, item.resource, user_id)
        action = decide(source, target, item.force)
        if action is Action.UNCHANGED:
            task.record.keep(source.name, source.name, complete=True)
            return Outcome.success(UNCHANGED, source.name)
        if action is Action.CONFLICT:
            return Outcome.failure(
                CONFLICT,
                "Keypair %s of user %s in %s holds a different key than in %s; sync with force to replace it."
                % (item.resource, user_id, item.target_region, item.source_region),
                target_id=target.name if target else None,
            )
        if action is Action.REPLACE:
            LOG.info("Replacing keypair %s of user %s in %s (force)", item.resource, user_id, item.target_region)
            target_conn.compute.delete_keypair(item.resource, ignore_missing=True, user_id=user_id)
        try:
            created = _create(target_conn, source, user_id)
        except sdk_exceptions.ConflictException:
            LOG.info("Keypair %s of user %s appeared in %s meanwhile", item.resource, user_id, item.target_region)
            continue
        task.record.keep(source.name, created, complete=True)
        return Outcome.success(REPLACED if action is Action.REPLACE else CREATED, created)
    return Outcome.failure(
        ERROR,
        "Keypair %s of user %s in %s kept changing while kingsync copied it; run the sync again."
        % (item.resource, user_id, item.target_region),
    )


def _read(conn: openstack.connection.Connection, name: str, user_id: str) -> Keypair | None:
    try:
        found = conn.compute.get_keypair(name, user_id=user_id)
    except sdk_exceptions.NotFoundException:
        return None
    return Keypair(name=str(found.name), public_key=str(found.public_key or ""), type=str(found.type or "ssh"))


def _create(conn: openstack.connection.Connection, keypair: Keypair, user_id: str) -> str:
    created = conn.compute.create_keypair(
        name=keypair.name, public_key=keypair.public_key, type=keypair.type, user_id=user_id
    )
    return str(created.name)
