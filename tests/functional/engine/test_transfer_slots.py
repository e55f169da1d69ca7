"""Items that move data run on the engine's transfer slots, apart from every
other kind's: a long transfer never holds a slot a keypair needs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from kingsync.db import jobs
from kingsync.db.models import CREATED, SUCCESS
from kingsync.db.session import transaction
from kingsync.sync.kinds import KINDS, Kind, Registry
from kingsync.sync.task import Outcome, Task
from tests.functional.engine.conftest import EngineFactory, Env, wait_until


class SlowTransfer:
    """A stand-in data kind: each item holds its slot until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def sync(self, task: Task) -> Outcome:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.release.wait(30)
        with self.lock:
            self.running -= 1
        return Outcome.success(CREATED, task.item.resource)

    def transfer(self, tasks: Sequence[Task]) -> list[Outcome | Exception]:
        return [self.sync(task) for task in tasks]

    def kinds(self) -> Registry:
        def exists(*args: Any) -> None:
            return None

        blob = Kind("blob", exists, self.sync, lambda project, user: project, transfer=self.transfer)
        return Registry([KINDS.get("keypair"), blob])


def _blob_job(env: Env, count: int) -> str:
    entry = jobs.Entry("blob", [f"blob-{n}" for n in range(count)], "RegionOne", ["RegionTwo"])
    with transaction(env.db_url) as session:
        return jobs.create_job(session, env.demo_project_id, env.demo_user_id, [entry]).id


def test_a_keypair_is_synced_while_every_transfer_slot_is_busy(env: Env, engine: EngineFactory) -> None:
    transfer = SlowTransfer()
    env.engine_options(workers=1, transfer_workers=1)
    name = env.create_keypair("RegionOne")
    blobs = _blob_job(env, 3)

    with engine(kinds=transfer.kinds()):
        wait_until(lambda: transfer.running == 1, 10, "no transfer started")
        keypair_job = env.wait_for(env.create_job([name], ["RegionTwo"]), timeout=20)
        assert env.job(blobs).status == "IN_PROGRESS"  # all three still waiting or running
        transfer.release.set()
        blob_job = env.wait_for(blobs, timeout=20)

    assert keypair_job.status == SUCCESS
    assert blob_job.status == SUCCESS
    assert transfer.peak == 1  # [engine] transfer_workers, not workers + transfer_workers
