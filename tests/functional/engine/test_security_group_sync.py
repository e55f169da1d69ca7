"""The engine syncs a project's security groups between simulated regions, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kingsync.db import copies, jobs
from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, SUCCESS, UNCHANGED, UPDATED
from kingsync.db.session import transaction
from kingsync.sync import sg_rules
from tests.functional.engine.conftest import EngineFactory, Env

REGIONS = ["RegionOne", "RegionTwo", "RegionThree"]
TARGETS = ["RegionTwo", "RegionThree"]
SSH = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
HTTP = {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}


def sync_job(env: Env, resources: list[str], targets: list[str], force: bool = False) -> str:
    """A security_group job of project demo (user demo), from RegionOne."""
    entry = jobs.Entry("security_group", resources, "RegionOne", targets, force)
    with transaction(env.db_url) as session:
        return jobs.create_job(session, env.demo_project_id, env.demo_user_id, [entry]).id


def make_group(env: Env, region: str, name: str, *rules: dict[str, Any], templates: bool = False, **fields: Any) -> str:
    """A group of project demo, made by its member; without the template rules unless asked."""
    network = env.member(region).network
    group = network.create_security_group(name=name, **fields)
    if not templates:
        for rule in group.security_group_rules:
            network.delete_security_group_rule(rule["id"])
    for rule in rules:
        add_rule(env, region, group.id, rule)
    return str(group.id)


def add_rule(env: Env, region: str, group_id: str, rule: dict[str, Any]) -> None:
    env.member(region).network.create_security_group_rule(security_group_id=group_id, **rule)


def groups(env: Env, region: str, name: str) -> list[Any]:
    return list(env.member(region).network.security_groups(name=name))


def the_group(env: Env, region: str, name: str) -> Any:
    (group,) = groups(env, region, name)
    return group


def shape(env: Env, region: str, group_id: str) -> set[sg_rules.RuleKey]:
    """The group's rules as neutron compares them, remote groups by name: comparable across regions."""
    network = env.member(region).network
    names = {g.id: g.name for g in network.security_groups()}
    group = network.get_security_group(group_id)
    return {sg_rules.key(rule, remote=names.__getitem__) for rule in group.security_group_rules}


@pytest.fixture
def prefix(env: Env) -> Iterator[str]:
    """A name prefix for this test's groups; they go afterwards (the simulated cloud is
    shared, and a project may hold 10 groups per region)."""
    prefix = "ks-sg-" + uuid.uuid4().hex[:8] + "-"
    yield prefix
    _delete_groups(env, prefix)


def _delete_groups(env: Env, prefix: str) -> None:
    for region in REGIONS:
        network = env.member(region).network
        for group in network.security_groups():
            if group.name.startswith(prefix):
                network.delete_security_group(group, ignore_missing=True)


def test_a_group_is_created_in_every_target_with_its_rules_and_no_template_rule(
    env: Env, engine: EngineFactory, prefix: str
) -> None:
    web = prefix + "web"
    make_group(env, "RegionOne", web, SSH, {**HTTP, "remote_ip_prefix": "10.0.0.0/8"}, description="front")
    job_id = sync_job(env, [web], TARGETS)

    with engine():
        job = env.wait_for(job_id)

    assert job.status == SUCCESS
    source = the_group(env, "RegionOne", web)
    for region, item in env.items_by_target(job).items():
        copy = the_group(env, region, web)
        assert (item.status, item.result, item.target_id, item.error) == (SUCCESS, CREATED, copy.id, None)
        assert (copy.description, copy.stateful) == ("front", True)
        assert shape(env, region, copy.id) == shape(env, "RegionOne", source.id)
        assert not [r for r in copy.security_group_rules if r["direction"] == "egress"]  # the templates went


def test_a_second_run_is_unchanged(env: Env, engine: EngineFactory, prefix: str) -> None:
    web = prefix + "web"
    make_group(env, "RegionOne", web, SSH, templates=True)

    with engine():
        first = env.wait_for(sync_job(env, [web], TARGETS))
        second = env.wait_for(sync_job(env, [web], TARGETS))

    made = {item.target_region: item.target_id for item in first.items}
    assert {(item.status, item.result) for item in second.items} == {(SUCCESS, UNCHANGED)}
    assert {item.target_region: item.target_id for item in second.items} == made
    for region in TARGETS:
        assert len(groups(env, region, web)) == 1


def test_a_group_referring_to_another_and_to_itself_brings_the_other_along(
    env: Env, engine: EngineFactory, prefix: str
) -> None:
    web, db = prefix + "web", prefix + "db"
    db_id = make_group(env, "RegionOne", db, {**SSH, "port_range_min": 5432, "port_range_max": 5432})
    web_id = make_group(env, "RegionOne", web, {**SSH, "remote_group_id": db_id})
    add_rule(env, "RegionOne", web_id, {**HTTP, "remote_group_id": web_id})

    with engine():
        job = env.wait_for(sync_job(env, [web], ["RegionTwo"]))

    (item,) = job.items
    assert (item.status, item.result) == (SUCCESS, CREATED)
    web2, db2 = the_group(env, "RegionTwo", web), the_group(env, "RegionTwo", db)
    assert item.target_id == web2.id
    remotes = {r["port_range_min"]: r["remote_group_id"] for r in web2.security_group_rules}
    assert remotes == {22: db2.id, 80: web2.id}  # the copies, not the source's ids
    assert shape(env, "RegionTwo", db2.id) == shape(env, "RegionOne", db_id)


def test_two_groups_that_refer_to_each_other_are_both_created(env: Env, engine: EngineFactory, prefix: str) -> None:
    a, b = prefix + "a", prefix + "b"
    a_id, b_id = make_group(env, "RegionOne", a), make_group(env, "RegionOne", b)
    add_rule(env, "RegionOne", a_id, {**SSH, "remote_group_id": b_id})
    add_rule(env, "RegionOne", b_id, {**HTTP, "remote_group_id": a_id})

    with engine():
        job = env.wait_for(sync_job(env, [a], ["RegionTwo"]))

    assert (job.items[0].status, job.items[0].result) == (SUCCESS, CREATED)
    a2, b2 = the_group(env, "RegionTwo", a), the_group(env, "RegionTwo", b)
    assert [r["remote_group_id"] for r in a2.security_group_rules] == [b2.id]
    assert [r["remote_group_id"] for r in b2.security_group_rules] == [a2.id]


def test_the_id_record_holds_every_group_made(env: Env, engine: EngineFactory, prefix: str) -> None:
    web, db = prefix + "web", prefix + "db"
    db_id = make_group(env, "RegionOne", db)
    web_id = make_group(env, "RegionOne", web, {**SSH, "remote_group_id": db_id})

    with engine():
        env.wait_for(sync_job(env, [web], TARGETS))

    with transaction(env.db_url) as session:
        recorded = copies.in_scope(session, "security_group", env.demo_project_id)
    found = {(c.key.source_id, c.key.target_region): (c.target_id, c.complete) for c in recorded}
    for region in TARGETS:
        assert found[(web_id, region)] == (the_group(env, region, web).id, True)
        assert found[(db_id, region)] == (the_group(env, region, db).id, True)


def test_sync_by_id_and_by_name(env: Env, engine: EngineFactory, prefix: str) -> None:
    by_id, by_name = prefix + "by-id", prefix + "by-name"
    group_id = make_group(env, "RegionOne", by_id, SSH)
    make_group(env, "RegionOne", by_name, HTTP)

    with engine():
        job = env.wait_for(sync_job(env, [group_id, by_name], ["RegionTwo"]))

    results = {item.resource: (item.status, item.result, item.target_id) for item in job.items}
    assert results == {
        group_id: (SUCCESS, CREATED, the_group(env, "RegionTwo", by_id).id),
        by_name: (SUCCESS, CREATED, the_group(env, "RegionTwo", by_name).id),
    }


def test_a_different_group_is_a_conflict_until_forced(env: Env, engine: EngineFactory, prefix: str) -> None:
    web = prefix + "web"
    make_group(env, "RegionOne", web, SSH, HTTP, description="new")
    theirs = make_group(env, "RegionTwo", web, SSH, templates=True, description="old")

    with engine():
        refused = env.wait_for(sync_job(env, [web], ["RegionTwo"]))
        (item,) = refused.items
        assert (item.status, item.result, item.target_id, item.attempts) == (FAILURE, CONFLICT, theirs, 1)
        assert item.error == (
            "Security group %s in RegionTwo differs from RegionOne: 1 rule missing, 2 extra, description; "
            "sync with force to make it equal." % web
        )
        forced = env.wait_for(sync_job(env, [web], ["RegionTwo"], force=True))

    (item,) = forced.items
    assert (item.status, item.result, item.target_id) == (SUCCESS, UPDATED, theirs)
    copy = the_group(env, "RegionTwo", web)
    assert copy.description == "new"
    assert shape(env, "RegionTwo", theirs) == shape(env, "RegionOne", the_group(env, "RegionOne", web).id)


def test_the_default_group_is_merged_not_duplicated(fresh_env: Env, engine: EngineFactory) -> None:
    env = fresh_env
    source = the_group(env, "RegionOne", "default")
    add_rule(env, "RegionOne", source.id, SSH)
    target = the_group(env, "RegionTwo", "default")
    add_rule(env, "RegionTwo", target.id, HTTP)

    with engine():
        merged = env.wait_for(sync_job(env, ["default"], ["RegionTwo"]))
        again = env.wait_for(sync_job(env, ["default"], ["RegionTwo"]))

    (item,) = merged.items
    assert (item.status, item.result, item.target_id) == (SUCCESS, UPDATED, target.id)
    assert the_group(env, "RegionTwo", "default").id == target.id
    assert shape(env, "RegionTwo", target.id) == shape(env, "RegionOne", source.id)
    assert [(i.status, i.result) for i in again.items] == [(SUCCESS, UNCHANGED)]


def test_a_region_down_fails_its_item_clearly_and_not_the_others(fresh_env: Env, engine: EngineFactory) -> None:
    env = fresh_env
    make_group(env, "RegionOne", "web", SSH)
    env.control.set_faults("RegionThree", down=True)

    with engine():
        job = env.wait_for(sync_job(env, ["web"], TARGETS))
        items = env.items_by_target(job)
        assert (items["RegionTwo"].status, items["RegionTwo"].result) == (SUCCESS, CREATED)
        down = items["RegionThree"]
        assert (down.status, down.result, down.attempts) == (FAILURE, ERROR, 3)
        assert down.error is not None
        assert "ConnectFailure" in down.error and "gave up after 3 attempts" in down.error

        env.control.clear_faults("RegionThree")
        again = env.wait_for(sync_job(env, ["web"], ["RegionThree"]))

    assert [(i.status, i.result) for i in again.items] == [(SUCCESS, CREATED)]
    assert shape(env, "RegionThree", the_group(env, "RegionThree", "web").id) == shape(
        env, "RegionOne", the_group(env, "RegionOne", "web").id
    )


def test_groups_of_one_job_that_refer_to_one_group_make_a_single_copy_of_it(
    env: Env, engine: EngineFactory, prefix: str
) -> None:
    # Four items of the project run against RegionTwo at once, each wanting the
    # bastion group its rules refer to; one of them makes it, the others map to it.
    bastion = make_group(env, "RegionOne", prefix + "bastion", SSH)
    names = [prefix + tier for tier in ("web", "db", "cache", "queue")]
    for name in names:
        make_group(env, "RegionOne", name, {**SSH, "remote_group_id": bastion})
    env.engine_options(workers=4, per_region_concurrency=4)
    job_id = sync_job(env, names, ["RegionTwo"])

    with engine():
        job = env.wait_for(job_id, timeout=60)

    assert {(item.status, item.result) for item in job.items} == {(SUCCESS, CREATED)}
    copy = the_group(env, "RegionTwo", prefix + "bastion")  # exactly one
    for name in names:
        assert shape(env, "RegionTwo", the_group(env, "RegionTwo", name).id) == shape(
            env, "RegionOne", the_group(env, "RegionOne", name).id
        )
    with transaction(env.db_url) as session:
        recorded = {
            c.key.source_id: c.target_id for c in copies.in_scope(session, "security_group", env.demo_project_id)
        }
    assert recorded[bastion] == copy.id
