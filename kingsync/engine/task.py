"""What a sync module is given (a task) and what it gives back (an outcome)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import openstack.connection

from kingsync.db import jobs
from kingsync.db.models import FAILURE, SUCCESS

# region name -> that region's Connection (kingsync.regions.connection, or a stand-in in tests)
Connect = Callable[[str], openstack.connection.Connection]


@dataclasses.dataclass(frozen=True)
class Task:
    """One item, with the ids of the user and project the job was made for."""

    item: jobs.Item
    project_id: str
    user_id: str


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
