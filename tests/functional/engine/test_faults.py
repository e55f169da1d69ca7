"""Faults in the target regions: retries with backoff, and failure when they run out."""

from __future__ import annotations

import time

import oslo_messaging as messaging

from kingsync.conf import CONF
from kingsync.context import RequestContext
from kingsync.db.models import CREATED, ERROR, FAILURE, IN_PROGRESS, SUCCESS
from kingsync.rpc import EngineClient
from tests.functional.engine.conftest import EngineFactory, Env, wait_until


def test_a_region_that_stays_down_fails_its_items_after_max_attempts_and_not_the_others(
    fresh_env: Env, engine: EngineFactory
) -> None:
    name = fresh_env.create_keypair("RegionOne")
    fresh_env.control.set_faults("RegionThree", down=True)
    job_id = fresh_env.create_job([name], ["RegionTwo", "RegionThree"])

    with engine():
        job = fresh_env.wait_for(job_id)

    items = fresh_env.items_by_target(job)
    assert job.status == FAILURE
    assert (items["RegionTwo"].status, items["RegionTwo"].result) == (SUCCESS, CREATED)
    down = items["RegionThree"]
    assert (down.status, down.result, down.attempts) == (FAILURE, ERROR, CONF.engine.max_attempts)
    assert down.error is not None
    assert "ConnectFailure" in down.error and "gave up after 3 attempts" in down.error


def test_server_errors_are_retried_until_the_region_recovers(fresh_env: Env, engine: EngineFactory) -> None:
    fresh_env.engine_options(max_attempts=50, retry_backoff=0.1)
    name = fresh_env.create_keypair("RegionOne")
    fresh_env.control.set_faults("RegionTwo", error_rate=1.0, error_status=503)
    job_id = fresh_env.create_job([name], ["RegionTwo"])

    with engine():
        # Two failed attempts, each recorded with its error, the item still open...
        item = wait_until(lambda: _item_after(fresh_env, job_id, attempts=2), 20, "no second failed attempt")
        assert item.status == IN_PROGRESS and item.error is not None and "503" in item.error
        fresh_env.control.clear_faults("RegionTwo")
        job = fresh_env.wait_for(job_id)

    (item,) = job.items
    assert (job.status, item.status, item.result) == (SUCCESS, SUCCESS, CREATED)
    assert item.attempts >= 3
    assert fresh_env.keypair("RegionTwo", name) is not None


def test_a_client_error_in_the_target_fails_the_item_at_once(fresh_env: Env, engine: EngineFactory) -> None:
    # Nova checks a keypair it creates for another user against the *caller's*
    # limit: kingsync's own project with no keypairs allowed gets a 403.
    admin = fresh_env.admin("RegionTwo")
    service = admin.identity.find_project("service", ignore_missing=False)
    admin.compute.update_quota_set(service.id, key_pairs=0)
    name = fresh_env.create_keypair("RegionOne")
    job_id = fresh_env.create_job([name], ["RegionTwo"])

    with engine():
        job = fresh_env.wait_for(job_id)

    (item,) = job.items
    assert (item.status, item.result, item.attempts) == (FAILURE, ERROR, 1)
    assert item.error is not None and "403" in item.error and "Quota exceeded" in item.error


def test_the_doorbell_wakes_the_engine_long_before_its_poll_interval(
    env: Env, engine: EngineFactory, transport: messaging.RPCTransport
) -> None:
    env.engine_options(poll_interval=60.0, lease_seconds=300)
    name = env.create_keypair("RegionOne")

    with engine():
        time.sleep(0.3)  # the engine's first look at the database, at start, is over
        job_id = env.create_job([name], ["RegionTwo"])
        time.sleep(0.5)
        # Nobody rang: between two polls, the engine has not seen the job.
        assert env.job(job_id).items[0].started_at is None
        EngineClient(transport).sync_items_ready(RequestContext(user_id="u", project_id="p"), job_id)
        job = env.wait_for(job_id, timeout=5.0)

    assert job.status == SUCCESS


def _item_after(env: Env, job_id: str, attempts: int) -> object:
    (item,) = env.job(job_id).items
    return item if item.attempts >= attempts else None
