"""The keypair sync's I/O shell against a stand-in for nova: the races it must survive."""

from __future__ import annotations

import types
from typing import Any

import pytest
from openstack import exceptions as sdk_exceptions

from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, SUCCESS, UNCHANGED
from kingsync.sync import keypair
from kingsync.sync.task import Outcome, Task
from tests.unit.sync import items
from tests.unit.sync.record import MemoryRecord

USER = "u-1"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDfake me@host"
OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDother me@host"


class FakeCompute:
    """Keypairs of one region, per user, as nova's API shows them to openstacksdk."""

    def __init__(self) -> None:
        self.keypairs: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[str] = []
        self.before_create: list[Any] = []  # callables run just before a create lands

    def get_keypair(self, name: str, user_id: str) -> Any:
        self.calls.append("get")
        found = self.keypairs.get((user_id, name))
        if found is None:
            raise sdk_exceptions.NotFoundException("not found")
        return types.SimpleNamespace(**found)

    def create_keypair(self, name: str, public_key: str, type: str, user_id: str) -> Any:
        self.calls.append("create")
        if self.before_create:
            self.before_create.pop(0)()
        if (user_id, name) in self.keypairs:
            raise sdk_exceptions.ConflictException("exists")
        self.keypairs[(user_id, name)] = {"name": name, "public_key": public_key, "type": type}
        return types.SimpleNamespace(name=name)

    def delete_keypair(self, name: str, ignore_missing: bool, user_id: str) -> None:
        self.calls.append("delete")
        self.keypairs.pop((user_id, name), None)


class FakeConnection:
    def __init__(self) -> None:
        self.compute = FakeCompute()


@pytest.fixture
def clouds() -> dict[str, FakeConnection]:
    regions = {"RegionOne": FakeConnection(), "RegionTwo": FakeConnection()}
    regions["RegionOne"].compute.keypairs[(USER, "k")] = {"name": "k", "public_key": KEY, "type": "ssh"}
    return regions


def _run(clouds: dict[str, FakeConnection], force: bool = False, record: MemoryRecord | None = None) -> Outcome:
    item = items.item("keypair", "k", force)
    task = Task(item, "p-1", USER, clouds.__getitem__, record or MemoryRecord())  # type: ignore[arg-type]
    return keypair.sync(task)


def test_the_key_is_sent_so_nova_never_makes_one(clouds: dict[str, FakeConnection]) -> None:
    assert _run(clouds) == Outcome(SUCCESS, CREATED, "k")
    assert clouds["RegionTwo"].compute.keypairs[(USER, "k")] == {"name": "k", "public_key": KEY, "type": "ssh"}


def test_the_copy_is_on_record_once_made(clouds: dict[str, FakeConnection]) -> None:
    record = MemoryRecord()
    _run(clouds, record=record)
    assert record.writes == [("keep", "k", "k", True)]


def test_a_conflict_records_nothing(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute.keypairs[(USER, "k")] = {"name": "k", "public_key": OTHER, "type": "ssh"}
    record = MemoryRecord()
    assert _run(clouds, record=record).result == CONFLICT
    assert record.writes == []


def test_the_same_key_created_meanwhile_by_someone_else_is_unchanged(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.before_create.append(
        lambda: target.keypairs.update({(USER, "k"): {"name": "k", "public_key": KEY, "type": "ssh"}})
    )
    assert _run(clouds) == Outcome(SUCCESS, UNCHANGED, "k")


def test_a_different_key_created_meanwhile_is_a_conflict(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.before_create.append(
        lambda: target.keypairs.update({(USER, "k"): {"name": "k", "public_key": OTHER, "type": "ssh"}})
    )
    outcome = _run(clouds)
    assert (outcome.status, outcome.result) == (FAILURE, CONFLICT)


class Flickering(FakeCompute):
    """A name that is free whenever kingsync looks and taken whenever it creates."""

    def get_keypair(self, name: str, user_id: str) -> Any:
        self.calls.append("get")
        raise sdk_exceptions.NotFoundException("not found")

    def create_keypair(self, name: str, public_key: str, type: str, user_id: str) -> Any:
        self.calls.append("create")
        raise sdk_exceptions.ConflictException("exists")


def test_a_name_taken_at_every_create_yet_free_at_every_look_gives_up(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute = Flickering()
    outcome = _run(clouds)
    assert (outcome.status, outcome.result) == (FAILURE, ERROR)
    assert clouds["RegionTwo"].compute.calls == ["get", "create", "get", "create"]  # bounded: no endless loop


def test_replace_deletes_before_it_creates(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.keypairs[(USER, "k")] = {"name": "k", "public_key": OTHER, "type": "ssh"}
    outcome = _run(clouds, force=True)
    assert (outcome.status, outcome.result) == (SUCCESS, "replaced")
    assert target.calls == ["get", "delete", "create"]
    assert target.keypairs[(USER, "k")]["public_key"] == KEY
