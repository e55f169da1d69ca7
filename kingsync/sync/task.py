"""What a kind's sync is given (a task) and what it gives back (an outcome)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Protocol

import openstack.connection

from kingsync.db import jobs
from kingsync.db.models import FAILURE, SUCCESS

# region name -> that region's Connection (kingsync.regions.connection, or a stand-in in tests)
Connect = Callable[[str], openstack.connection.Connection]


@dataclasses.dataclass(frozen=True)
class Copy:
    """One entry of the id record: a source resource and the target resource it became."""

    source_region: str
    source_id: str
    target_region: str
    target_id: str
    complete: bool  # False: an attempt made the target object and stopped before it was finished


class Record(Protocol):
    """The id record, as one item sees it: its kind and owner (scope) are fixed;
    the regions default to the item's source and target.

    ``keep`` is called as soon as a target object exists, before anything else
    is done to it, so a retried item (or another engine that took it over)
    finds its half-made work instead of making a second one.
    """

    def find(
        self, source_id: str, *, source_region: str | None = None, target_region: str | None = None
    ) -> Copy | None: ...

    def keep(
        self,
        source_id: str,
        target_id: str,
        *,
        complete: bool,
        source_region: str | None = None,
        target_region: str | None = None,
    ) -> None: ...

    def forget(self, source_id: str, *, source_region: str | None = None, target_region: str | None = None) -> None: ...


# name -> a context in which this item alone, of all items of all engines, holds the name
# (kingsync.sync.exclusive.DbExclusive; raises RetryLater when another item keeps it).
Exclusive = Callable[[str], contextlib.AbstractContextManager[None]]


def _alone(name: str) -> contextlib.AbstractContextManager[None]:
    """Exclusive for a task that is the only one running (unit tests)."""
    return contextlib.nullcontext()


# (bytes done, bytes in all) of a transfer, for the job's view; the engine
# writes it at most every few seconds, however often it is called.
Progress = Callable[[int, int], None]


def _unseen(done: int, total: int) -> None:
    """Progress nobody shows (unit tests)."""


@dataclasses.dataclass(frozen=True)
class Task:
    """One item to run: the resource, the ids of the user and project the job
    was made for, the regions, the id record, and locks across engines."""

    item: jobs.Item
    project_id: str
    user_id: str
    connect: Connect
    record: Record
    exclusive: Exclusive = _alone
    progress: Progress = _unseen

    @property
    def source(self) -> openstack.connection.Connection:
        return self.connect(self.item.source_region)

    @property
    def target(self) -> openstack.connection.Connection:
        return self.connect(self.item.target_region)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How an item ended: SUCCESS or FAILURE, a result word and, maybe, error text."""

    status: str
    result: str
    target_id: str | None = None
    error: str | None = None

    @classmethod
    def success(cls, result: str, target_id: str | None) -> Outcome:
        return cls(SUCCESS, result, target_id)

    @classmethod
    def failure(cls, result: str, error: str, target_id: str | None = None) -> Outcome:
        return cls(FAILURE, result, target_id, error)
