"""kingsync.db.locks on every database: one live item holds a name at a time."""

from __future__ import annotations

from kingsync.db import jobs, locks
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock


def _items(url: str, count: int) -> list[jobs.Item]:
    entry = jobs.Entry("security_group", [f"g{n}" for n in range(count)], "RegionOne", ["RegionTwo"])
    with transaction(url) as s:
        jobs.create_job(s, "p", "u", [entry])
    with transaction(url) as s:
        return jobs.claim_items(s, "engine-a", count, lease_seconds=60)


def _acquire(url: str, name: str, item: jobs.Item) -> bool:
    with transaction(url) as s:
        return locks.acquire(s, name, item.id)


def test_a_held_name_is_refused_to_another_item_until_released(db_url: str) -> None:
    first, second = _items(db_url, 2)
    assert _acquire(db_url, "security_group/p/RegionTwo", first)
    assert _acquire(db_url, "security_group/p/RegionTwo", first)  # again, by its holder
    assert not _acquire(db_url, "security_group/p/RegionTwo", second)
    assert _acquire(db_url, "security_group/p/RegionThree", second)  # another name
    with transaction(db_url) as s:
        locks.release(s, "security_group/p/RegionTwo", first.id)
    assert _acquire(db_url, "security_group/p/RegionTwo", second)


def test_a_name_held_by_an_item_whose_engine_died_is_free_once_its_lease_ran_out(db_url: str, clock: Clock) -> None:
    first, second = _items(db_url, 2)
    assert _acquire(db_url, "n", first)
    clock.advance(30)
    assert not _acquire(db_url, "n", second)
    clock.advance(31)  # first's lease (60 s) ran out: its engine stopped renewing it
    assert _acquire(db_url, "n", second)


def test_a_name_held_by_an_item_that_ended_is_free(db_url: str) -> None:
    first, second = _items(db_url, 2)
    assert _acquire(db_url, "n", first)
    with transaction(db_url) as s:
        jobs.finish_item(s, first.id, "engine-a", "SUCCESS", "created")
    assert _acquire(db_url, "n", second)


def test_releasing_a_name_held_by_another_item_leaves_it_held(db_url: str) -> None:
    first, second = _items(db_url, 2)
    assert _acquire(db_url, "n", first)
    with transaction(db_url) as s:
        locks.release(s, "n", second.id)
    assert not _acquire(db_url, "n", second)
