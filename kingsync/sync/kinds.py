"""The one registry of the kinds of resource kingsync syncs.

The API and the engine both read it: the API to check a request (is the
kind known, may this caller ask for it, does each resource exist in the
source region), the engine to run an item. A kind is:

    name          the ``resource_type`` of Kingbird's API
    find_sources  the API's check, before a job is made: raises
                  kingsync.sync.errors.SourceNotFound (404),
                  SourceAmbiguous (409) or SourceUnavailable (503)
    sync          one item, to its end: a pure decision that returns the
                  steps to take, and the I/O that takes them
    scope         whose resource it is, for the id record: a user id
                  (keypairs), a project id, or "" for global ones (flavors)
    admin_only    only admins may sync it (Kingbird's contract for flavors);
                  the default of its policy rule, kingsync:sync:create:<kind>
    transfer      for a kind that moves data (images): copies one resource to
                  several targets at once (the items of one job that share
                  the resource and source), so its data is read once; run on
                  the engine's transfer slots, apart from the API calls of
                  every other kind, so a long upload never holds a slot a
                  keypair needs
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from kingsync.context import RequestContext
from kingsync.sync import flavor, image, image_source, keypair, security_group
from kingsync.sync.task import Connect, Outcome, Task

FindSources = Callable[[RequestContext, Connect, str, Sequence[str]], None]
# Tasks of one resource from one source, one per target -> how each ended, in
# order: an Outcome, or the error that stopped it (retried if transient).
Transfer = Callable[[Sequence[Task]], Sequence[Outcome | Exception]]


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    find_sources: FindSources
    sync: Callable[[Task], Outcome]
    scope: Callable[[str, str], str]  # (project id, user id) -> the id record's scope
    admin_only: bool = False
    transfer: Transfer | None = None


class Registry:
    """Kinds by name. The engine and tests may build one of their own."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        self._kinds: Mapping[str, Kind] = {kind.name: kind for kind in kinds}

    def all(self) -> list[Kind]:
        return [self._kinds[name] for name in self.names()]

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def find(self, name: str) -> Kind | None:
        return self._kinds.get(name)

    def get(self, name: str) -> Kind:
        """The kind called ``name``, or UnknownKind with a message that says which kinds there are."""
        kind = self._kinds.get(name)
        if kind is not None:
            return kind
        supported = ", ".join(self.names())
        raise UnknownKind("Bad resource_type %r; supported: %s." % (name, supported))

    def transfers(self) -> list[str]:
        return sorted(kind.name for kind in self._kinds.values() if kind.transfer is not None)


class UnknownKind(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _user(project_id: str, user_id: str) -> str:
    return user_id


def _global(project_id: str, user_id: str) -> str:
    return ""


def _project(project_id: str, user_id: str) -> str:
    return project_id


KINDS = Registry(
    [
        Kind("keypair", keypair.find_sources, keypair.sync, _user),
        Kind("flavor", flavor.find_sources, flavor.sync, _global, admin_only=True),
        Kind("security_group", security_group.find_sources, security_group.sync, _project),
        # Image ids are UUIDs, the same copy whoever asks: one record for everyone.
        Kind("image", image_source.find_sources, image.sync, _global, transfer=image.transfer),
    ]
)
