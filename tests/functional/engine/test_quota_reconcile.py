"""Global quotas end to end in the engine, against the simulated regions:
read, plan, apply and record, by the reconciler and by a running engine.
Each test has a cloud of its own: usage set in one must not leak into another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kingsync import regions
from kingsync.conf import CONF
from kingsync.db import copies as copy_records
from kingsync.db.quota import audit, projects
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import regional as regional_state
from kingsync.db.session import transaction
from kingsync.quota import clients, reconcile, regional, views
from kingsync.sync import sg_rules
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
        # The round that lowered them ends after its last write: it records, then releases.
        wait_until(lambda: released(env, project), 10, "the round not released")
    with transaction(env.db_url) as session:
        state = projects.get_project_state(session, project)
    assert state is not None and state.last_status == reconcile.OK and state.lease_owner is None


def released(env: Env, project_id: str) -> bool:
    with transaction(env.db_url) as session:
        state = projects.get_project_state(session, project_id)
    return state is not None and state.lease_owner is None


def test_an_engine_that_lost_its_claim_writes_nothing(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    set_limits(env, project, cores=30)
    env.control.reset_stats()
    with pytest.raises(clients.LeaseLost):
        worker.reconcile(project, renew=lambda: False)
    writes = sum(n for region in env.control.stats().values() for key, n in region.items() if "PUT" in key)
    assert writes == 0
    assert nova_limits(env, project, "cores") == dict.fromkeys(REGIONS, 20)


# -- security groups: split, with kingsync's copies counted once ---------------------------------------


def neutron_limits(env: Env, project_id: str, key: str) -> dict[str, int]:
    return {region: env.admin(region).network.get(f"/quotas/{project_id}").json()["quota"][key] for region in REGIONS}


def create_group(env: Env, region: str, name: str) -> int:
    """The tenant makes a group; neutron's answer (201, or 409 over quota)."""
    body = {"security_group": {"name": name}}
    return int(env.member(region).network.post("/security-groups", json=body, raise_exc=False).status_code)


def copy_group(env: Env, project_id: str, source: dict[str, Any], region: str) -> str:
    """What kingsync's sync does, by hand: the group in ``region`` with the source's rules
    (neutron adds its egress rules itself), a rule referring to the source referring to
    the copy, made by the admin for the project."""
    admin = env.admin(region).network
    body = {"security_group": {"name": source["name"], "project_id": project_id}}
    made = admin.post("/security-groups", json=body).json()["security_group"]
    mapping = {source["id"]: made["id"]}
    have = {sg_rules.key(rule, remote=mapping.get) for rule in made["security_group_rules"]}
    for rule in source["security_group_rules"]:
        if sg_rules.key(rule, remote=mapping.get) not in have:
            remote = mapping[rule["remote_group_id"]] if rule["remote_group_id"] else None
            body = {"security_group_rule": sg_rules.copy_body(rule, made["id"], remote, project_id)}
            admin.post("/security-group-rules", json=body)
    return str(made["id"])


def record_copy(env: Env, project_id: str, source_region: str, source_id: str, region: str, target_id: str) -> None:
    key = copy_records.Key("security_group", project_id, source_region, source_id, region)
    with transaction(env.db_url) as session:
        copy_records.keep(session, key, target_id, True, None)


def groups_of(env: Env, project_id: str, region: str) -> list[dict[str, Any]]:
    found = env.admin(region).network.get(f"/security-groups?project_id={project_id}").json()["security_groups"]
    return list(found)


def test_security_groups_made_separately_in_each_region_are_split(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    for region in REGIONS:  # the tenant looks: neutron makes its default group in each region
        env.member(region).network.get("/security-groups")
    set_limits(env, project, security_group=5)
    worker.reconcile(project)
    # Three different default groups of 5: 2 of headroom, RegionOne and RegionThree first by name.
    assert neutron_limits(env, project, "security_group") == {"RegionOne": 2, "RegionThree": 2, "RegionTwo": 1}
    # No copies on record: one neutron read per region, no listing.
    env.control.reset_stats()
    worker.reconcile(project)
    gets = {region: stats.get("network GET", 0) for region, stats in env.control.stats().items()}
    assert gets == dict.fromkeys(REGIONS, 1)

    made = [create_group(env, region, "app") for region in ("RegionOne", "RegionOne", "RegionTwo", "RegionThree")]
    assert made == [201, 409, 409, 201]
    # Five distinct groups: a sixth cannot be made anywhere.
    assert [create_group(env, region, "sixth") for region in REGIONS] == [409, 409, 409]
    assert views.total_usage(env.db_url, project, reader=worker)["security_group"] == 5
    worker.reconcile(project)
    assert sum(neutron_limits(env, project, "security_group").values()) == 5


def test_copies_on_record_count_once(fresh_env: Env, worker: reconcile.Reconciler) -> None:
    env = fresh_env
    project = env.demo_project_id
    # A group of the tenant's in RegionOne, allowing ssh from the group itself,
    # copied to the other two regions; the default groups merged (and recorded).
    body = {"security_group": {"name": "web"}}
    web = env.member("RegionOne").network.post("/security-groups", json=body).json()["security_group"]
    rule = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
    rule_body = {"security_group_rule": {**rule, "security_group_id": web["id"], "remote_group_id": web["id"]}}
    env.member("RegionOne").network.post("/security-group-rules", json=rule_body)
    defaults = {}
    for region in REGIONS:
        (found,) = env.member(region).network.get("/security-groups?name=default").json()["security_groups"]
        defaults[region] = found["id"]
    (web,) = [g for g in groups_of(env, project, "RegionOne") if g["name"] == "web"]
    for region in ("RegionTwo", "RegionThree"):
        copy = copy_group(env, project, web, region)
        record_copy(env, project, "RegionOne", web["id"], region, copy)
        record_copy(env, project, "RegionOne", defaults["RegionOne"], region, defaults[region])

    set_limits(env, project, security_group=5, security_group_rule=30)
    worker.reconcile(project)

    # Each region holds 2 groups (6 in all) and 7 rules (21), but there are 2
    # distinct groups and 7 distinct rules: 3 groups and 23 rules of headroom.
    groups = neutron_limits(env, project, "security_group")
    rules = neutron_limits(env, project, "security_group_rule")
    assert groups == dict.fromkeys(REGIONS, 2 + 1)
    assert sum(groups.values()) - 4 == 5
    assert sum(rules.values()) - 14 == 30
    assert rules == {"RegionOne": 7 + 8, "RegionThree": 7 + 8, "RegionTwo": 7 + 7}
    # One listing of the groups per region the copies are in, besides the quota read.
    env.control.reset_stats()
    assert worker.reconcile(project).changes == 0
    gets = {region: stats.get("network GET", 0) for region, stats in env.control.stats().items()}
    assert gets == dict.fromkeys(REGIONS, 2)
    usage = views.total_usage(env.db_url, project, reader=worker)
    assert (usage["security_group"], usage["security_group_rule"]) == (2, 7)

    # G minus the distinct groups: three more, one in each region, and no fourth.
    assert [create_group(env, region, "more") for region in REGIONS] == [201, 201, 201]
    assert [create_group(env, region, "fourth") for region in REGIONS] == [409, 409, 409]
    assert views.total_usage(env.db_url, project, reader=worker)["security_group"] == 5

    # The known limit (doc/quotas.md): a copy deleted by hand frees a slot in its region
    # that counted once, so until the next round the project may hold one group more than G.
    (copy,) = [g for g in groups_of(env, project, "RegionThree") if g["name"] == "web"]
    env.member("RegionThree").network.delete(f"/security-groups/{copy['id']}")
    assert [create_group(env, region, "after") for region in REGIONS] == [409, 201, 409]
    assert create_group(env, "RegionThree", "again") == 409
    assert views.total_usage(env.db_url, project, reader=worker)["security_group"] == 6
    # The next round holds every region at its usage until the project is within G again.
    assert worker.reconcile(project).status == reconcile.OVERSPENT
    assert neutron_limits(env, project, "security_group") == {"RegionOne": 3, "RegionThree": 3, "RegionTwo": 3}
