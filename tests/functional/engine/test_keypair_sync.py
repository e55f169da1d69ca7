"""The engine syncs keypairs between simulated regions, over real HTTP."""

from __future__ import annotations

from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, REPLACED, SUCCESS, UNCHANGED
from tests.functional.engine.conftest import EngineFactory, Env, new_public_key

TARGETS = ["RegionTwo", "RegionThree"]


def test_keypair_appears_in_every_target_region_for_the_requesting_user(env: Env, engine: EngineFactory) -> None:
    public_key = new_public_key()
    name = env.create_keypair("RegionOne", public_key=public_key)
    job_id = env.create_job([name], TARGETS)

    with engine():
        job = env.wait_for(job_id)

    assert job.status == SUCCESS
    for region, item in env.items_by_target(job).items():
        assert (item.status, item.result, item.target_id, item.error) == (SUCCESS, CREATED, name, None)
        copied = env.keypair(region, name)  # as user demo: it is demo's keypair
        assert (copied.public_key, copied.type) == (public_key, "ssh")
        assert item.finished_at is not None and item.started_at is not None


def test_an_identical_keypair_in_the_target_is_unchanged(env: Env, engine: EngineFactory) -> None:
    public_key = new_public_key()
    name = env.create_keypair("RegionOne", public_key=public_key)
    # The same key with another comment is the same key.
    env.create_keypair("RegionTwo", name, public_key.rsplit(" ", 1)[0] + " laptop")
    job_id = env.create_job([name], ["RegionTwo"])

    with engine():
        job = env.wait_for(job_id)

    (item,) = job.items
    assert (job.status, item.status, item.result, item.target_id) == (SUCCESS, SUCCESS, UNCHANGED, name)


def test_a_different_keypair_in_the_target_is_a_conflict_and_stays(env: Env, engine: EngineFactory) -> None:
    name = env.create_keypair("RegionOne")
    theirs = new_public_key()
    env.create_keypair("RegionTwo", name, theirs)
    job_id = env.create_job([name], ["RegionTwo"])

    with engine():
        job = env.wait_for(job_id)

    (item,) = job.items
    assert (job.status, item.status, item.result) == (FAILURE, FAILURE, CONFLICT)
    assert item.error is not None and "force" in item.error
    assert env.keypair("RegionTwo", name).public_key == theirs
    assert item.attempts == 1  # a conflict is not retried


def test_force_replaces_a_different_keypair_in_the_target(env: Env, engine: EngineFactory) -> None:
    ours = new_public_key()
    name = env.create_keypair("RegionOne", public_key=ours)
    env.create_keypair("RegionTwo", name, new_public_key())
    job_id = env.create_job([name], ["RegionTwo"], force=True)

    with engine():
        job = env.wait_for(job_id)

    (item,) = job.items
    assert (job.status, item.status, item.result, item.target_id) == (SUCCESS, SUCCESS, REPLACED, name)
    assert env.keypair("RegionTwo", name).public_key == ours


def test_force_leaves_an_identical_keypair_alone(env: Env, engine: EngineFactory) -> None:
    public_key = new_public_key()
    name = env.create_keypair("RegionOne", public_key=public_key)
    env.create_keypair("RegionTwo", name, public_key)
    before = env.keypair("RegionTwo", name).created_at
    job_id = env.create_job([name], ["RegionTwo"], force=True)

    with engine():
        job = env.wait_for(job_id)

    (item,) = job.items
    assert (item.status, item.result) == (SUCCESS, UNCHANGED)
    assert env.keypair("RegionTwo", name).created_at == before  # not deleted and made again


def test_a_keypair_deleted_from_the_source_after_the_job_was_made_fails_clearly(
    env: Env, engine: EngineFactory
) -> None:
    name = env.create_keypair("RegionOne")
    job_id = env.create_job([name], ["RegionTwo"])
    env.member("RegionOne").compute.delete_keypair(name)

    with engine():
        job = env.wait_for(job_id)

    (item,) = job.items
    assert (job.status, item.status, item.result, item.attempts) == (FAILURE, FAILURE, ERROR, 1)
    assert item.error is not None and "no longer exists in the source region RegionOne" in item.error
