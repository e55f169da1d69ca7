"""Transfers: an image's items claimed together (one read for every target), and their progress."""

from __future__ import annotations

from kingsync.db import jobs
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock

PROJECT = "p" * 32
USER = "u" * 32
REGIONS = ["RegionTwo", "RegionThree", "RegionFour"]


def _create(url: str, *entries: jobs.Entry) -> jobs.Job:
    with transaction(url) as s:
        return jobs.create_job(s, PROJECT, USER, list(entries))


def _transfers(url: str, engine: str, limit: int = 10, **kwargs: object) -> list[list[jobs.Item]]:
    with transaction(url) as s:
        return jobs.claim_transfers(s, engine, limit, 60, only=["image"], **kwargs)  # type: ignore[arg-type]


def _shape(transfers: list[list[jobs.Item]]) -> list[tuple[str, list[str]]]:
    return sorted((t[0].resource, sorted(item.target_region for item in t)) for t in transfers)


def test_an_images_targets_are_claimed_together_one_transfer_per_image(db_url: str) -> None:
    _create(db_url, jobs.Entry("image", ["img1", "img2"], "RegionOne", REGIONS))
    transfers = _transfers(db_url, "engine-a")
    assert _shape(transfers) == [("img1", sorted(REGIONS)), ("img2", sorted(REGIONS))]
    assert _transfers(db_url, "engine-b") == []  # every item is engine-a's


def test_a_transfer_takes_no_more_than_the_free_slots_and_the_region_bound(db_url: str) -> None:
    _create(db_url, jobs.Entry("image", ["img1", "img2", "img3"], "RegionOne", REGIONS))
    first = _transfers(db_url, "engine-a", limit=1, per_region=2, busy={"RegionFour": 2})
    assert _shape(first) == [(first[0][0].resource, ["RegionThree", "RegionTwo"])]  # RegionFour is full
    later = _transfers(db_url, "engine-a", limit=5, per_region=2, busy={"RegionTwo": 1, "RegionThree": 1})
    taken = [item.target_region for transfer in later for item in transfer]
    assert taken.count("RegionTwo") == 1 and taken.count("RegionThree") == 1 and taken.count("RegionFour") == 2


def test_siblings_of_other_jobs_sources_or_force_are_separate_transfers(db_url: str) -> None:
    _create(db_url, jobs.Entry("image", ["img1"], "RegionOne", ["RegionTwo"]))
    _create(
        db_url,
        jobs.Entry("image", ["img1"], "RegionOne", ["RegionThree"]),
        jobs.Entry("image", ["img1"], "RegionFour", ["RegionTwo"]),
        jobs.Entry("image", ["img1"], "RegionOne", ["RegionFour"], force=True),
    )
    transfers = _transfers(db_url, "engine-a")
    assert len(transfers) == 4 and all(len(transfer) == 1 for transfer in transfers)


def test_a_sibling_waiting_for_its_retry_stays_behind(db_url: str, clock: Clock) -> None:
    _create(db_url, jobs.Entry("image", ["img1"], "RegionOne", ["RegionTwo", "RegionThree"]))
    (transfer,) = _transfers(db_url, "engine-a")
    retried, done = transfer
    with transaction(db_url) as s:
        assert jobs.retry_item(s, retried.id, "engine-a", "503", delay_seconds=30)
        assert jobs.finish_item(s, done.id, "engine-a", "SUCCESS", "created")
    assert _transfers(db_url, "engine-a") == []
    clock.advance(31)
    assert [[item.id for item in t] for t in _transfers(db_url, "engine-a")] == [[retried.id]]


def test_progress_is_written_only_for_the_items_the_engine_holds(db_url: str) -> None:
    job = _create(db_url, jobs.Entry("image", ["img1"], "RegionOne", ["RegionTwo", "RegionThree"]))
    (transfer,) = _transfers(db_url, "engine-a")
    with transaction(db_url) as s:
        jobs.record_progress(s, "engine-a", {item.id: (5, 10) for item in transfer})
        jobs.record_progress(s, "engine-b", {item.id: (9, 10) for item in transfer})  # not engine-b's
        shown = jobs.get_job(s, job.id, jobs.Owner(PROJECT, USER))
    assert [(item.bytes_done, item.bytes_total) for item in shown.items] == [(5, 10), (5, 10)]
