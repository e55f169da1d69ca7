"""kingsync.db.copies (the id record) on every database."""

from __future__ import annotations

import threading

from kingsync.db import copies
from kingsync.db.session import transaction

PROJECT = "p" * 32


def _key(source_id: str = "sg-1", target: str = "RegionTwo", scope: str = PROJECT) -> copies.Key:
    return copies.Key("security_group", scope, "RegionOne", source_id, target)


def test_a_copy_is_found_by_its_five_parts(db_url: str) -> None:
    with transaction(db_url) as s:
        copies.keep(s, _key(), "sg-2", False, "item-1")
    with transaction(db_url) as s:
        found = copies.find(s, _key())
        elsewhere = copies.find(s, _key(target="RegionThree"))
        other_project = copies.find(s, _key(scope="q" * 32))
    assert found is not None
    assert (found.target_id, found.complete, found.item_id) == ("sg-2", False, "item-1")
    assert (elsewhere, other_project) == (None, None)


def test_keeping_again_updates_the_copy_in_place(db_url: str) -> None:
    with transaction(db_url) as s:
        copies.keep(s, _key(), "sg-2", False, "item-1")
    with transaction(db_url) as s:
        copies.keep(s, _key(), "sg-2", True, "item-2")
    with transaction(db_url) as s:
        found = copies.find(s, _key())
        listed = copies.in_scope(s, "security_group", PROJECT)
    assert found is not None and (found.complete, found.item_id) == (True, "item-2")
    assert len(listed) == 1
    assert found.created_at <= found.updated_at


def test_in_scope_lists_one_owners_copies_of_one_kind(db_url: str) -> None:
    with transaction(db_url) as s:
        copies.keep(s, _key("sg-1", "RegionTwo"), "a", True, None)
        copies.keep(s, _key("sg-1", "RegionThree"), "b", True, None)
        copies.keep(s, _key("sg-9", "RegionTwo", scope="q" * 32), "c", True, None)
        copies.keep(s, copies.Key("keypair", PROJECT, "RegionOne", "k", "RegionTwo"), "k", True, None)
    with transaction(db_url) as s:
        listed = copies.in_scope(s, "security_group", PROJECT)
    assert [(c.key.target_region, c.target_id) for c in listed] == [("RegionThree", "b"), ("RegionTwo", "a")]


def test_forget_removes_one_copy(db_url: str) -> None:
    with transaction(db_url) as s:
        copies.keep(s, _key("sg-1"), "a", True, None)
        copies.keep(s, _key("sg-2"), "b", True, None)
    with transaction(db_url) as s:
        copies.forget(s, _key("sg-1"))
    with transaction(db_url) as s:
        assert [c.key.source_id for c in copies.in_scope(s, "security_group", PROJECT)] == ["sg-2"]


def test_long_names_fit(db_url: str) -> None:
    # Region names and ids of 255 characters: the digest key keeps the primary key short on MySQL.
    key = copies.Key("keypair", "u" * 64, "R" * 255, "k" * 255, "T" * 255)
    with transaction(db_url) as s:
        copies.keep(s, key, "k" * 255, True, None)
    with transaction(db_url) as s:
        found = copies.find(s, key)
    assert found is not None and found.key == key


def test_two_engines_keeping_one_copy_at_once_both_succeed(server_db_url: str) -> None:
    # An engine that took over an expired lease may record the same copy as the old one.
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def keep(n: int) -> None:
        try:
            barrier.wait()
            with transaction(server_db_url) as s:
                copies.keep(s, _key(), f"sg-{n}", n % 2 == 0, f"item-{n}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=keep, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(server_db_url) as s:
        assert len(copies.in_scope(s, "security_group", PROJECT)) == 1
