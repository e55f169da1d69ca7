"""kingsync.db.jobs on every database: the API's rules and the work queue's."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from kingsync.db import jobs
from kingsync.db.models import FAILURE, IN_PROGRESS, SUCCESS, SyncItem
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock

PROJECT = "p" * 32
USER = "u" * 32
KEYPAIRS = jobs.Entry("keypair", ["key1", "key2"], "RegionOne", ["RegionTwo", "RegionThree"])


def _create(url: str, entries: list[jobs.Entry] | None = None, project: str = PROJECT, user: str = USER) -> jobs.Job:
    with transaction(url) as s:
        return jobs.create_job(s, project, user, entries or [KEYPAIRS])


def _claim(url: str, engine: str, limit: int = 100, lease: int = 60) -> list[jobs.Item]:
    with transaction(url) as s:
        return jobs.claim_items(s, engine, limit, lease)


def _finish(url: str, item: jobs.Item, engine: str, status: str = SUCCESS, result: str = "created") -> bool:
    with transaction(url) as s:
        return jobs.finish_item(s, item.id, engine, status, result, target_id=f"id-{item.resource}")


def _job(url: str, job_id: str) -> jobs.Job:
    with transaction(url) as s:
        return jobs.get_job(s, job_id, jobs.Owner(PROJECT, USER))


# -- the API side --------------------------------------------------------------------


def test_create_job_makes_one_item_per_resource_and_target(db_url: str) -> None:
    job = _create(db_url)
    pairs = {(i.resource, i.target_region) for i in _job(db_url, job.id).items}
    assert pairs == {(k, r) for k in ("key1", "key2") for r in ("RegionTwo", "RegionThree")}


def test_new_job_and_its_items_are_in_progress(db_url: str) -> None:
    job = _job(db_url, _create(db_url).id)
    assert job.status == IN_PROGRESS
    assert {i.status for i in job.items} == {IN_PROGRESS}
    assert {i.source_region for i in job.items} == {"RegionOne"}


def test_list_jobs_shows_only_the_callers_own_jobs(db_url: str) -> None:
    mine = _create(db_url)
    _create(db_url, project="other-project")
    _create(db_url, user="other-user")
    with transaction(db_url) as s:
        assert [j.id for j in jobs.list_jobs(s, jobs.Owner(PROJECT, USER))] == [mine.id]


def test_list_active_jobs_leaves_finished_ones_out(db_url: str) -> None:
    done = _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a")
    _finish(db_url, item, "engine-a")
    running = _create(db_url)
    with transaction(db_url) as s:
        assert [j.id for j in jobs.list_jobs(s, jobs.Owner(PROJECT, USER), active_only=True)] == [running.id]
        assert {j.id for j in jobs.list_jobs(s, jobs.Owner(PROJECT, USER))} == {done.id, running.id}


def test_get_job_of_another_project_is_not_found(db_url: str) -> None:
    job = _create(db_url)
    with transaction(db_url) as s, pytest.raises(jobs.JobNotFound):
        jobs.get_job(s, job.id, jobs.Owner("other-project", USER))


def test_get_unknown_job_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(jobs.JobNotFound):
        jobs.get_job(s, "4f1c1b39-0000-4000-8000-000000000000", jobs.Owner(PROJECT, USER))


def test_delete_job_in_progress_is_refused_and_keeps_it(db_url: str) -> None:
    job = _create(db_url)
    with pytest.raises(jobs.JobInProgress), transaction(db_url) as s:
        jobs.delete_job(s, job.id, jobs.Owner(PROJECT, USER))
    assert len(_job(db_url, job.id).items) == 4


def test_delete_finished_job_removes_it_and_its_items(db_url: str) -> None:
    job = _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a")
    _finish(db_url, item, "engine-a")
    with transaction(db_url) as s:
        jobs.delete_job(s, job.id, jobs.Owner(PROJECT, USER))
    with transaction(db_url) as s:
        assert jobs.list_jobs(s, jobs.Owner(PROJECT, USER)) == []
        assert _claim(db_url, "engine-b") == []
    with pytest.raises(jobs.JobNotFound):
        _job(db_url, job.id)


def test_delete_job_of_another_user_is_not_found(db_url: str) -> None:
    job = _create(db_url)
    with pytest.raises(jobs.JobNotFound), transaction(db_url) as s:
        jobs.delete_job(s, job.id, jobs.Owner(PROJECT, "other-user"))


def test_an_admin_view_lists_every_project_or_one(db_url: str) -> None:
    mine = _create(db_url)
    theirs = _create(db_url, project="q" * 32, user="v" * 32)
    with transaction(db_url) as s:
        everyone = {j.id for j in jobs.list_jobs(s, jobs.Owner(None, None))}
        one_project = [j.id for j in jobs.list_jobs(s, jobs.Owner("q" * 32, None))]
        shown = jobs.get_job(s, theirs.id, jobs.Owner(None, None))
    assert everyone == {mine.id, theirs.id}
    assert one_project == [theirs.id]
    assert (shown.project_id, len(shown.items)) == ("q" * 32, 4)


def test_purge_deletes_only_jobs_that_ended_before_the_cutoff(db_url: str, clock: Clock) -> None:
    old = _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    for item in _claim(db_url, "engine-a"):
        _finish(db_url, item, "engine-a")
    clock.advance(3600)
    running = _create(db_url, [jobs.Entry("keypair", ["key2"], "RegionOne", ["RegionTwo"])])
    recent = _create(db_url, [jobs.Entry("keypair", ["key3"], "RegionOne", ["RegionTwo"])])
    (item,) = [i for i in _claim(db_url, "engine-a") if i.job_id == recent.id] or [None]
    assert item is not None
    _finish(db_url, item, "engine-a")
    cutoff = clock.now - datetime.timedelta(seconds=60)
    with transaction(db_url) as s:
        assert jobs.purge_jobs(s, cutoff) == 1
        left = {j.id for j in jobs.list_jobs(s, jobs.Owner(None, None))}
        items = s.scalar(sa.select(sa.func.count()).select_from(SyncItem).where(SyncItem.job_id == old.id))
    assert left == {running.id, recent.id}
    assert items == 0


# -- the engine side ------------------------------------------------------------------


def test_claimed_item_is_not_handed_to_a_second_engine(db_url: str) -> None:
    _create(db_url)
    first = _claim(db_url, "engine-a")
    assert len(first) == 4
    assert _claim(db_url, "engine-b") == []


def test_a_claim_counts_as_an_attempt(db_url: str, clock: Clock) -> None:
    _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (first,) = _claim(db_url, "engine-a", lease=10)
    clock.advance(11)  # engine-a died without a word
    (second,) = _claim(db_url, "engine-b")
    assert (first.attempts, second.attempts) == (1, 2)


def test_a_loop_claims_only_its_kinds(db_url: str) -> None:
    _create(
        db_url,
        [
            jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"]),
            jobs.Entry("image", ["img1", "img2"], "RegionOne", ["RegionTwo"]),
        ],
    )
    with transaction(db_url) as s:
        transfers = jobs.claim_items(s, "engine-a", 10, 60, only=["image"])
        others = jobs.claim_items(s, "engine-a", 10, 60, excluding=["image"])
        none = jobs.claim_items(s, "engine-a", 10, 60, only=[])
    assert sorted(item.resource for item in transfers) == ["img1", "img2"]
    assert [item.resource for item in others] == ["key1"]
    assert none == []


def test_claim_leaves_what_a_busy_region_cannot_take(db_url: str) -> None:
    _create(db_url, [jobs.Entry("keypair", ["k1", "k2", "k3"], "RegionOne", ["RegionTwo", "RegionThree"])])
    with transaction(db_url) as s:
        claimed = jobs.claim_items(s, "engine-a", 10, 60, per_region=2, busy={"RegionTwo": 1})
    regions = sorted(item.target_region for item in claimed)
    assert regions == ["RegionThree", "RegionThree", "RegionTwo"]


def test_claim_takes_no_more_than_the_limit(db_url: str) -> None:
    _create(db_url)
    assert len(_claim(db_url, "engine-a", limit=3)) == 3
    assert len(_claim(db_url, "engine-b", limit=3)) == 1


def test_expired_lease_is_reclaimed_by_another_engine(db_url: str, clock: Clock) -> None:
    _create(db_url)
    lost = _claim(db_url, "engine-a", lease=60)
    clock.advance(61)
    taken = _claim(db_url, "engine-b", lease=60)
    assert {i.id for i in taken} == {i.id for i in lost}


def test_live_lease_is_not_reclaimed(db_url: str, clock: Clock) -> None:
    _create(db_url)
    _claim(db_url, "engine-a", lease=60)
    clock.advance(50)
    assert _claim(db_url, "engine-b") == []


def test_renewed_lease_outlives_its_first_expiry(db_url: str, clock: Clock) -> None:
    _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a", lease=60)
    clock.advance(50)
    with transaction(db_url) as s:
        assert jobs.renew_lease(s, item.id, "engine-a", 60)
    clock.advance(50)
    assert _claim(db_url, "engine-b") == []


def test_renewing_a_lost_lease_fails(db_url: str, clock: Clock) -> None:
    _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a", lease=60)
    clock.advance(61)
    _claim(db_url, "engine-b")
    with transaction(db_url) as s:
        assert not jobs.renew_lease(s, item.id, "engine-a", 60)


def test_finish_after_losing_the_lease_writes_nothing(db_url: str, clock: Clock) -> None:
    job = _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a", lease=60)
    clock.advance(61)
    _claim(db_url, "engine-b")
    assert not _finish(db_url, item, "engine-a", FAILURE, "error")
    (after,) = _job(db_url, job.id).items
    # Still engine-b's to finish; each claim counted as an attempt.
    assert (after.status, after.result, after.target_id, after.attempts) == (IN_PROGRESS, None, None, 2)


def test_finishing_the_last_item_marks_the_job_success(db_url: str) -> None:
    job = _create(db_url)
    for item in _claim(db_url, "engine-a"):
        assert _finish(db_url, item, "engine-a")
    done = _job(db_url, job.id)
    assert done.status == SUCCESS
    assert {(i.status, i.result) for i in done.items} == {(SUCCESS, "created")}
    assert all(i.finished_at is not None and i.target_id for i in done.items)


def test_one_failed_item_marks_the_job_failure(db_url: str) -> None:
    job = _create(db_url)
    first, *rest = _claim(db_url, "engine-a")
    _finish(db_url, first, "engine-a", FAILURE, "conflict")
    for item in rest:
        _finish(db_url, item, "engine-a")
    assert _job(db_url, job.id).status == FAILURE


def test_job_stays_in_progress_while_an_item_is_unfinished(db_url: str) -> None:
    job = _create(db_url)
    *done, _last = _claim(db_url, "engine-a")
    for item in done:
        _finish(db_url, item, "engine-a")
    assert _job(db_url, job.id).status == IN_PROGRESS


def test_retried_item_waits_for_its_delay(db_url: str, clock: Clock) -> None:
    _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    (item,) = _claim(db_url, "engine-a")
    with transaction(db_url) as s:
        assert jobs.retry_item(s, item.id, "engine-a", "503 from nova", delay_seconds=10)
    clock.advance(5)
    assert _claim(db_url, "engine-b") == []
    clock.advance(6)
    (again,) = _claim(db_url, "engine-b")
    # The second claim is the second attempt; the first one's error is still shown.
    assert (again.id, again.attempts, again.error) == (item.id, 2, "503 from nova")


def test_sweep_finalizes_a_job_whose_items_all_ended(db_url: str) -> None:
    job = _create(db_url, [jobs.Entry("keypair", ["key1"], "RegionOne", ["RegionTwo"])])
    # An item ended without finish_item's own finalize (as after a crash between the two).
    with transaction(db_url) as s:
        s.execute(sa.update(SyncItem).values(status=FAILURE, result="error"))
    with transaction(db_url) as s:
        assert jobs.finalize_jobs(s) == 1
    assert _job(db_url, job.id).status == FAILURE
