"""Sync items run by kingsync.engine.worker.SyncWork on a real SQLite database,
with stand-in kinds instead of regions: how an item ends, whatever happens."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from kingsync.db import clock as db_clock
from kingsync.db import copies, jobs, migration
from kingsync.db.models import CREATED, ERROR, FAILURE, IN_PROGRESS, SUCCESS
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import projects
from kingsync.db.quota.audit import Actor
from kingsync.db.session import transaction
from kingsync.engine.loop import Lease
from kingsync.engine.worker import SyncWork
from kingsync.sync import errors as sync_errors
from kingsync.sync.kinds import Kind, Registry
from kingsync.sync.task import Outcome, Task

ENGINE = "engine-under-test"
PROJECT, USER = "p" * 32, "u" * 32


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    return url


def _kind(sync: Any) -> Registry:
    def nothing_to_check(*args: Any) -> None:
        return None

    return Registry([Kind("thing", nothing_to_check, sync, lambda project, user: project)])


def _work(db_url: str, kinds: Registry, max_attempts: int = 3) -> SyncWork:
    return SyncWork(
        "sync",
        ENGINE,
        kinds,
        connect=lambda region: None,  # type: ignore[arg-type,return-value]
        max_attempts=max_attempts,
        retry_backoff=1.0,
        lease_seconds=10,
        per_region=4,
        db_url=db_url,
    )


def _job(db_url: str, kind: str = "thing") -> jobs.Job:
    with transaction(db_url) as session:
        return jobs.create_job(session, PROJECT, USER, [jobs.Entry(kind, ["r1"], "RegionOne", ["RegionTwo"])])


def _claim(db_url: str, engine: str = ENGINE) -> jobs.Item:
    with transaction(db_url) as session:
        (item,) = jobs.claim_items(session, engine, 1, lease_seconds=10)
    return item


def _item(db_url: str, job_id: str) -> jobs.Item:
    with transaction(db_url) as session:
        (item,) = jobs.get_job(session, job_id, jobs.Owner(PROJECT, USER)).items
    return item


def _lease(item: jobs.Item) -> Lease:
    return Lease(item.id, lambda: True)


def test_an_item_whose_engines_kept_dying_ends_once_its_attempts_are_spent(db_url: str, monkeypatch: Any) -> None:
    now = [datetime.datetime(2026, 1, 1)]
    monkeypatch.setattr(db_clock, "utcnow", lambda: now[0])
    ran: list[str] = []
    work = _work(db_url, _kind(lambda task: ran.append(task.item.id)), max_attempts=2)
    job = _job(db_url)
    for engine in ("dies-1", "dies-2"):
        _claim(db_url, engine)
        now[0] += datetime.timedelta(seconds=11)  # its lease ran out: the engine died
    item = _claim(db_url)
    assert item.attempts == 3

    assert work.run(item, _lease(item)) is None

    ended = _item(db_url, job.id)
    assert (ended.status, ended.result) == (FAILURE, ERROR)
    assert ended.error is not None and "Gave up after 2 attempts" in ended.error
    assert ran == []  # not run a third time


def test_retry_later_puts_the_item_back_and_asks_for_a_quota_rebalance(db_url: str) -> None:
    with transaction(db_url) as session:
        global_limits.set_project_limits(session, PROJECT, {"security_group": 5}, Actor("admin", "admin"))
        (claimed,) = projects.claim_projects(session, "quota-engine", 1, 600)
        projects.release_project(
            session, claimed, "quota-engine", db_clock.utcnow() + datetime.timedelta(hours=1), "ok", None
        )

    def full(task: Task) -> Outcome:
        raise sync_errors.RetryLater("Quota exceeded for resources: ['security_group'].", rebalance=task.project_id)

    work = _work(db_url, _kind(full))
    job = _job(db_url)
    item = _claim(db_url)

    delay = work.run(item, _lease(item))

    assert delay == 1.0
    after = _item(db_url, job.id)
    assert (after.status, after.error) == (IN_PROGRESS, "Quota exceeded for resources: ['security_group'].")
    with transaction(db_url) as session:
        state = projects.get_project_state(session, PROJECT)
    assert state is not None and state.next_check_at <= db_clock.utcnow()


def test_a_permanent_error_ends_the_item_at_once(db_url: str) -> None:
    def broken(task: Task) -> Outcome:
        raise ValueError("no such thing")

    job = _job(db_url)
    item = _claim(db_url)
    assert _work(db_url, _kind(broken)).run(item, _lease(item)) is None
    ended = _item(db_url, job.id)
    assert (ended.status, ended.result, ended.error) == (FAILURE, ERROR, "ValueError: no such thing")


def test_an_unknown_kind_fails_its_item(db_url: str) -> None:
    job = _job(db_url, kind="teleporter")
    item = _claim(db_url)
    _work(db_url, _kind(lambda task: Outcome.success(CREATED, "x"))).run(item, _lease(item))
    ended = _item(db_url, job.id)
    assert (ended.status, ended.error) == (FAILURE, "kingsync cannot sync resources of type teleporter")


def test_the_kind_gets_the_job_owner_and_the_id_record_of_its_scope(db_url: str) -> None:
    def records(task: Task) -> Outcome:
        task.record.keep("src", "dst", complete=True)
        return Outcome.success(CREATED, "dst")

    job = _job(db_url)
    item = _claim(db_url)
    _work(db_url, _kind(records)).run(item, _lease(item))

    assert (_item(db_url, job.id).status, _item(db_url, job.id).target_id) == (SUCCESS, "dst")
    with transaction(db_url) as session:
        (copy,) = copies.in_scope(session, "thing", PROJECT)
    assert (copy.key.source_region, copy.key.target_region, copy.target_id, copy.item_id) == (
        "RegionOne",
        "RegionTwo",
        "dst",
        item.id,
    )
