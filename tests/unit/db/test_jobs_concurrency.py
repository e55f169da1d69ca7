"""Engines racing in parallel on a database server (SQLite serialises writers,
so these run on PostgreSQL and MariaDB/MySQL, where the races are real)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kingsync.db import jobs
from kingsync.db.models import IN_PROGRESS, SUCCESS, SyncItem
from kingsync.db.session import transaction

PROJECT, USER = "project", "user"


def _create(url: str, keypairs: int, targets: int) -> jobs.Job:
    entry = jobs.Entry("keypair", [f"key{n}" for n in range(keypairs)], "R0", [f"R{n + 1}" for n in range(targets)])
    with transaction(url) as s:
        return jobs.create_job(s, PROJECT, USER, [entry])


def _unclaimed(url: str) -> int:
    with transaction(url) as s:
        return s.scalar(sa.select(sa.func.count()).where(SyncItem.lease_owner.is_(None))) or 0


def test_eight_racing_engines_never_claim_the_same_item(server_db_url: str) -> None:
    job = _create(server_db_url, keypairs=40, targets=3)
    start = threading.Barrier(8)

    def engine(n: int) -> list[str]:
        start.wait()
        mine: list[str] = []
        while True:
            with transaction(server_db_url) as s:
                claimed = jobs.claim_items(s, f"engine-{n}", limit=3, lease_seconds=60)
            if not claimed and not _unclaimed(server_db_url):
                return mine
            mine.extend(item.id for item in claimed)

    with ThreadPoolExecutor(8) as pool:
        per_engine = list(pool.map(engine, range(8)))
    claims = collections.Counter(item for claimed in per_engine for item in claimed)
    assert sorted(claims.values()) == [1] * 120  # every item, each exactly once
    assert set(claims) == {item.id for item in job.items}
    assert sum(1 for claimed in per_engine if claimed) > 1  # the race really was one


def test_two_engines_finishing_the_last_two_items_together_finalize_the_job(
    server_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _create(server_db_url, keypairs=1, targets=2)
    with transaction(server_db_url) as s:
        first = jobs.claim_items(s, "engine-a", 1, 60)
    with transaction(server_db_url) as s:
        second = jobs.claim_items(s, "engine-b", 1, 60)
    # Both engines have marked their item done, neither has committed, and
    # only then do both look at the job: the interleaving that loses a finish.
    both_updated = threading.Barrier(2, timeout=30)
    finalize: Callable[[Session, str], None] = jobs._finalize

    def after_both(session: Session, job_id: str) -> None:
        both_updated.wait()
        finalize(session, job_id)

    monkeypatch.setattr(jobs, "_finalize", after_both)

    def finish(engine: str, item: jobs.Item) -> bool:
        with transaction(server_db_url) as s:
            return jobs.finish_item(s, item.id, engine, SUCCESS, "created")

    with ThreadPoolExecutor(2) as pool:
        done = [pool.submit(finish, "engine-a", first[0]), pool.submit(finish, "engine-b", second[0])]
        assert [f.result() for f in done] == [True, True]
    with transaction(server_db_url) as s:
        after = jobs.get_job(s, job.id, jobs.Owner(PROJECT, USER))
    assert {i.status for i in after.items} == {SUCCESS}
    assert after.status == SUCCESS, "the job stayed IN_PROGRESS" if after.status == IN_PROGRESS else after.status


def test_an_engine_claims_other_items_while_another_claim_is_uncommitted(server_db_url: str) -> None:
    _create(server_db_url, keypairs=4, targets=3)
    # The pool outside the transaction: should engine-b hang, engine-a's
    # transaction ends first (rolled back by the failure), which frees it.
    with ThreadPoolExecutor(1) as pool, transaction(server_db_url) as first:
        held = jobs.claim_items(first, "engine-a", 2, 60)
        # engine-a's transaction is still open: its rows are locked, not yet leased.
        second = pool.submit(lambda: _claim_in_own_transaction(server_db_url, "engine-b"))
        taken = second.result(timeout=15)  # without SKIP LOCKED: blocked behind engine-a
    assert len(taken) == 2
    assert not {i.id for i in taken} & {i.id for i in held}


def _claim_in_own_transaction(url: str, engine: str) -> list[jobs.Item]:
    with transaction(url) as s:
        return jobs.claim_items(s, engine, 2, 60)
