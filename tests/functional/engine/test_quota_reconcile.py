"""Global quotas end to end in the engine, against the simulated regions:
read, plan, apply and record, by the reconciler and by a running engine.
Each test has a cloud of its own: usage set in one must not leak into another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kingsync import regions
from kingsync.conf import CONF
from kingsync.db.quota import audit, projects
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import regional as regional_state
from kingsync.db.session import transaction
from kingsync.quota import reconcile, regional
from tests.functional.engine.conftest import EngineFactory, Env, wait_until

ADMIN = audit.Actor("admin-user", "admin", "req-test")
REGIONS = ["RegionOne", "RegionThree", "RegionTwo"]


def reconciler(env: Env, **settings: Any) -> reconcile.Reconciler:
    return reconcile.Reconciler(
        regional.OpenStackQuotas(regions.connection),
        regions.names,
        reconcile.Settings(**{"hysteresis": 0.0, **settings}),
        per_region=4,
        db_url=env.db_url,
    )


@pytest.fixture
def worker(fresh_env: Env) -> Iterator[reconcile.Reconciler]:
    """A reconciler on this test's own cloud, no hysteresis."""
    found = reconciler(fresh_env)
    yield found
    found.close()


@pytest.fixture
def quick_loop() -> Iterator[None]:
    """Engines look for due projects every 0.1 s."""
    CONF.set_override("poll_interval", 0.1, group="quota")
    yield
    CONF.clear_override("poll_interval", group="quota")


def set_limits(env: Env, project_id: str, **limits: int) -> None:
    with transaction(env.db_url) as session:
        global_limits.set_project_limits(session, project_id, limits, ADMIN)


def nova_limits(env: Env, project_id: str, key: str) -> dict[str, int]:
    found = {}
    for region in REGIONS:
        body = env.admin(region).compute.get(f"/os-quota-sets/{project_id}").json()
        found[region] = body["quota_set"][key]
    return found


def history(env: Env, project_id: str) -> list[audit.AuditEntry]:
    with transaction(env.db_url) as session:
        return audit.list_audit(session, project_id, limit=1000)


def test_global_limit_split_across_regions_and_nothing_rewritten(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    env.control.set_usage("RegionOne", project, compute={"cores": 4, "instances": 2, "ram": 2048})
    set_limits(env, project, cores=30, instances=10)
    outcome = worker.reconcile(project)
    cores = nova_limits(env, project, "cores")
    # 26 cores of headroom, evenly: 9, 9, 8 on top of the usage.
    assert cores == {"RegionOne": 4 + 9, "RegionThree": 9, "RegionTwo": 8}
    assert sum(cores.values()) == 30
    assert outcome.status == reconcile.OK
    changed = {(e.region, e.resource): (e.old_limit, e.new_limit) for e in history(env, project) if e.region}
    assert changed[("RegionOne", "cores")] == (20, 13)
    assert all(e.reason in ("rebalance", "admin") for e in history(env, project))

    again = worker.reconcile(project)
    assert again.changes == 0
    assert nova_limits(env, project, "cores") == cores


def test_usage_shift_moves_the_headroom(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    set_limits(env, project, cores=30)
    worker.reconcile(project)
    env.control.set_usage("RegionTwo", project, compute={"cores": 9})  # 9 of its 10
    worker.reconcile(project)
    cores = nova_limits(env, project, "cores")
    assert sum(cores.values()) == 30
    # 21 cores of headroom: 7 each; RegionTwo holds its 9 on top.
    assert cores == {"RegionOne": 7, "RegionThree": 7, "RegionTwo": 16}


def test_unreachable_region_keeps_its_limit_and_others_are_rebalanced(
    fresh_env: Env, worker: reconcile.Reconciler
) -> None:
    env = fresh_env
    project = env.demo_project_id
    set_limits(env, project, cores=30)
    worker.reconcile(project)
    before = nova_limits(env, project, "cores")
    env.control.set_faults("RegionThree", down=True)
    env.control.set_usage("RegionOne", project, compute={"cores": 12})
    outcome = worker.reconcile(project)
    assert outcome.status == reconcile.PARTIAL
    assert "RegionThree" in (outcome.error or "")
    env.control.clear_faults("RegionThree")
    after = nova_limits(env, project, "cores")
    assert after["RegionThree"] == before["RegionThree"]
    # RegionThree's 10 stays in the budget: 20 for the other two, RegionOne at 12 + 4.
    assert after["RegionOne"] + after["RegionTwo"] + before["RegionThree"] <= 30
    assert after["RegionOne"] == 16 and after["RegionTwo"] == 4
    with transaction(env.db_url) as session:
        status = regional_state.list_region_status(session)
    assert status[("RegionThree", "nova")].reachable is False
    assert status[("RegionOne", "nova")].reachable is True


def test_hand_changed_regional_limit_is_drift_recorded_and_corrected(
    fresh_env: Env, worker: reconcile.Reconciler
) -> None:
    env = fresh_env
    project = env.demo_project_id
    set_limits(env, project, cores=30)
    worker.reconcile(project)
    planned = nova_limits(env, project, "cores")["RegionTwo"]
    env.admin("RegionTwo").compute.put(f"/os-quota-sets/{project}", json={"quota_set": {"cores": 25}})
    worker.reconcile(project)
    assert nova_limits(env, project, "cores")["RegionTwo"] == planned
    drift = [e for e in history(env, project) if e.reason == "drift"]
    assert [(d.region, d.resource, d.old_limit, d.new_limit) for d in drift] == [("RegionTwo", "cores", planned, 25)]


def test_unmanaged_project_is_never_touched(fresh_env: Env, engine: EngineFactory, quick_loop: None) -> None:
    env = fresh_env
    other = env.control.create_projects(1, prefix="unmanaged")[0]
    with engine() as service:
        set_limits(env, env.demo_project_id, cores=30)
        wait_until(lambda: service.quota.rounds >= 1, 10, "no project reconciled")
    assert env.admin("RegionOne").compute.get(f"/os-quota-sets/{other}").json()["quota_set"]["cores"] == 20
    assert sum(nova_limits(env, env.demo_project_id, "cores").values()) <= 30


def test_running_engine_reconciles_when_asked(fresh_env: Env, engine: EngineFactory, quick_loop: None) -> None:
    env = fresh_env
    project = env.demo_project_id
    with engine():
        set_limits(env, project, cores=12)
        wait_until(lambda: sum(nova_limits(env, project, "cores").values()) == 12, 10, "limits not split")
        set_limits(env, project, cores=6)
        wait_until(lambda: nova_limits(env, project, "cores") == dict.fromkeys(REGIONS, 2), 10, "not lowered")
    with transaction(env.db_url) as session:
        state = projects.get_project_state(session, project)
    assert state is not None and state.last_status == reconcile.OK and state.lease_owner is None


def test_an_engine_that_lost_its_claim_writes_nothing(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    set_limits(env, project, cores=30)
    env.control.reset_stats()
    with pytest.raises(reconcile.LeaseLost):
        worker.reconcile(project, renew=lambda: False)
    writes = sum(n for region in env.control.stats().values() for key, n in region.items() if "PUT" in key)
    assert writes == 0
    assert nova_limits(env, project, "cores") == dict.fromkeys(REGIONS, 20)
