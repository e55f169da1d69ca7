"""kingsync-engine as its own process: SIGTERM stops it gracefully, and after
SIGKILL another engine finishes the job with nothing lost or done twice.

The engines here are separate processes, so the in-process ``fake://``
doorbell cannot reach them: they find the work by polling, every 0.2 s.
"""

from __future__ import annotations

import collections
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kingsync.db.models import CREATED, IN_PROGRESS, SUCCESS, UNCHANGED, SyncItem
from kingsync.db.session import transaction
from tests.functional.engine.conftest import SERVICE_AUTH, Env, wait_until

pytestmark = pytest.mark.slow

TARGETS = ["RegionTwo", "RegionThree"]
FINISHED = re.compile(r"Item ([0-9a-f-]{36}) finished")


def _engine_command() -> list[str]:
    script = Path(sys.executable).with_name("kingsync-engine")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kingsync.cmd.engine"]


class EngineProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603 (our own command, our own arguments)
            [*_engine_command(), "--config-file", str(config), "--log-file", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.engine_id = "%s-%d" % (socket.gethostname(), self.process.pid)

    def finished(self) -> list[str]:
        return FINISHED.findall(self.log.read_text()) if self.log.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def engine_config(fresh_env: Env, tmp_path: Path) -> Path:
    auth = "".join(f"{name} = {value}\n" for name, value in SERVICE_AUTH.items())
    config = tmp_path / "kingsync.conf"
    config.write_text(
        "[DEFAULT]\ntransport_url = fake://\n"
        f"[database]\nconnection = {fresh_env.db_url}\n"
        "[engine]\nworkers = 4\nper_region_concurrency = 2\nlease_seconds = 5\npoll_interval = 0.2\n"
        "max_attempts = 3\nretry_backoff = 0.2\n"
        f"[regions]\nauth_url = {fresh_env.cloud.auth_url}\n{auth}"
    )
    return config


@pytest.fixture
def processes(engine_config: Path, tmp_path: Path) -> Iterator[collections.abc.Callable[[], EngineProcess]]:
    started: list[EngineProcess] = []

    def start() -> EngineProcess:
        engine = EngineProcess(engine_config, tmp_path / f"engine-{len(started) + 1}.log")
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()


def _leases(env: Env, job_id: str) -> dict[str, tuple[str, str | None]]:
    """item id -> (status, lease owner), read straight from the table."""
    with transaction(env.db_url) as session:
        rows = session.execute(
            select(SyncItem.id, SyncItem.status, SyncItem.lease_owner).where(SyncItem.job_id == job_id)
        ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _slow_job(env: Env, keypairs: int) -> tuple[str, dict[str, str]]:
    """A job whose items take a few hundred ms each; returns it and name -> public key."""
    for region in TARGETS:
        env.control.set_faults(region, latency_ms=150)
    names = [env.create_keypair("RegionOne") for _ in range(keypairs)]
    keys = {name: env.keypair("RegionOne", name).public_key for name in names}
    return env.create_job(names, TARGETS), keys


def test_an_engine_killed_mid_job_is_taken_over_and_nothing_is_lost_or_done_twice(
    fresh_env: Env, processes: collections.abc.Callable[[], EngineProcess]
) -> None:
    job_id, keys = _slow_job(fresh_env, keypairs=10)
    first = processes()

    def mid_job() -> bool:
        # Items end in step (the same latency everywhere): kill while some are
        # held, not in the moment between one batch's end and the next claim.
        holding = any(
            status == IN_PROGRESS and owner == first.engine_id for status, owner in _leases(fresh_env, job_id).values()
        )
        return len(first.finished()) >= 4 and holding

    wait_until(mid_job, 60, "the first engine finished nothing, or held nothing after that")

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    held = {item for item, (status, owner) in _leases(fresh_env, job_id).items() if owner == first.engine_id}
    assert held, "the kill came between two items; nothing was in flight"
    assert all(_leases(fresh_env, job_id)[item][0] == IN_PROGRESS for item in held)

    second = processes()
    job = fresh_env.wait_for(job_id, timeout=60)

    assert job.status == SUCCESS
    # Items the first engine had half done are found done in the target: unchanged.
    assert {item.result for item in job.items} <= {CREATED, UNCHANGED}
    finished = collections.Counter(first.finished() + second.finished())
    assert sorted(finished.values()) == [1] * len(job.items)  # each item ended once, by one engine
    assert held <= set(second.finished())
    for region in TARGETS:
        present = collections.Counter(kp.name for kp in fresh_env.member(region).compute.keypairs())
        assert {name: present[name] for name in keys} == dict.fromkeys(keys, 1)
        for name, public_key in keys.items():
            assert fresh_env.keypair(region, name).public_key == public_key


def test_sigterm_lets_running_items_finish_and_leaves_the_rest_unclaimed(
    fresh_env: Env, processes: collections.abc.Callable[[], EngineProcess]
) -> None:
    job_id, _ = _slow_job(fresh_env, keypairs=10)
    engine = processes()
    wait_until(
        lambda: any(owner == engine.engine_id for _, owner in _leases(fresh_env, job_id).values()),
        60,
        "the engine claimed nothing",
    )

    engine.process.send_signal(signal.SIGTERM)
    assert engine.process.wait(30) == 0

    leases = _leases(fresh_env, job_id)
    assert all(owner is None for _, owner in leases.values())  # nothing left held
    done = {item for item, (status, _) in leases.items() if status == SUCCESS}
    assert done == set(engine.finished())
    assert len(done) < len(leases)  # it stopped claiming: the rest wait for another engine
    assert fresh_env.job(job_id).status == IN_PROGRESS
