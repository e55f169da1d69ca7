"""The engine syncs flavors between simulated regions, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from kingsync.conf import CONF
from kingsync.db import jobs
from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, REPLACED, SUCCESS, UNCHANGED, UPDATED
from kingsync.db.session import transaction
from kingsync.regions import rest
from kingsync.sync.flavor import Flavor
from tests.functional.engine.conftest import EngineFactory, Env

TARGETS = ["RegionTwo", "RegionThree"]
MV = "2.61"


def create_flavor(
    env: Env,
    region: str,
    flavor_id: str | None = None,
    specs: dict[str, str] | None = None,
    access: Sequence[str] = (),
    is_public: bool = True,
    **fields: Any,
) -> str:
    """A flavor made by the admin in ``region`` (specs at 2.61: nova does not check them there)."""
    flavor_id = flavor_id or "ks-" + uuid.uuid4().hex[:10]
    body = {
        "id": flavor_id,
        "name": flavor_id,
        "ram": 512,
        "vcpus": 1,
        "disk": 1,
        "description": "synced",
        "os-flavor-access:is_public": is_public,
        **fields,
    }
    admin = env.admin(region)
    rest.call(admin, "compute", "POST", "/flavors", body={"flavor": body}, microversion=MV)
    if specs:
        path = "/flavors/%s/os-extra_specs" % flavor_id
        rest.call(admin, "compute", "POST", path, body={"extra_specs": specs}, microversion=MV)
    for project_id in access:
        action = {"addTenantAccess": {"tenant": project_id}}
        rest.call(admin, "compute", "POST", "/flavors/%s/action" % flavor_id, body=action, microversion=MV)
    return flavor_id


def read_flavor(env: Env, region: str, flavor_id: str) -> Flavor | None:
    admin = env.admin(region)
    try:
        body = rest.call(admin, "compute", "GET", "/flavors/" + flavor_id, microversion=MV)["flavor"]
    except rest.ServiceError as exc:
        if exc.status == 404:
            return None
        raise
    access = []
    if not body["os-flavor-access:is_public"]:
        path = "/flavors/%s/os-flavor-access" % flavor_id
        access = [
            row["tenant_id"] for row in rest.call(admin, "compute", "GET", path, microversion=MV)["flavor_access"]
        ]
    return Flavor.from_api(body, access)


def create_flavor_job(
    env: Env, resources: list[str], targets: list[str], force: bool = False, source: str = "RegionOne"
) -> str:
    """A flavor job, owned by demo (the API would have checked its caller is an admin)."""
    entry = jobs.Entry("flavor", resources, source, targets, force)
    with transaction(env.db_url) as session:
        job = jobs.create_job(session, env.demo_project_id, env.demo_user_id, [entry])
    return job.id


def sync(env: Env, engine: EngineFactory, flavor_id: str, targets: list[str], force: bool = False) -> jobs.Job:
    job_id = create_flavor_job(env, [flavor_id], targets, force)
    with engine():
        return env.wait_for(job_id)


def test_a_flavor_appears_in_every_target_with_its_id_and_specs(env: Env, engine: EngineFactory) -> None:
    flavor_id = create_flavor(env, "RegionOne", specs={"hw:cpu_policy": "dedicated", "mycompany:x": "y"}, swap=256)

    job = sync(env, engine, flavor_id, TARGETS)

    assert job.status == SUCCESS
    source = read_flavor(env, "RegionOne", flavor_id)
    for region, item in env.items_by_target(job).items():
        assert (item.status, item.result, item.target_id, item.error) == (SUCCESS, CREATED, flavor_id, None)
        assert read_flavor(env, region, flavor_id) == source


def test_a_private_flavor_is_shared_with_the_same_projects(env: Env, engine: EngineFactory) -> None:
    projects = [env.demo_project_id, str(env.connect("member2", "RegionOne").current_project_id)]
    flavor_id = create_flavor(env, "RegionOne", access=projects, is_public=False)

    job = sync(env, engine, flavor_id, TARGETS)

    assert job.status == SUCCESS
    for region in TARGETS:
        copied = read_flavor(env, region, flavor_id)
        assert copied is not None and (copied.is_public, copied.access) == (False, tuple(sorted(projects)))


def test_a_second_run_finds_every_copy_unchanged(env: Env, engine: EngineFactory) -> None:
    flavor_id = create_flavor(env, "RegionOne", specs={"hw:cpu_policy": "shared"})
    assert sync(env, engine, flavor_id, TARGETS).status == SUCCESS

    job = sync(env, engine, flavor_id, TARGETS)

    assert [(item.status, item.result) for item in job.items] == [(SUCCESS, UNCHANGED)] * 2


def test_a_flavor_by_its_name_is_found_too(env: Env, engine: EngineFactory) -> None:
    flavor_id = create_flavor(env, "RegionOne", name="named-" + uuid.uuid4().hex[:8])
    name = read_flavor(env, "RegionOne", flavor_id).name  # type: ignore[union-attr]

    job = sync(env, engine, name, ["RegionTwo"])

    (item,) = job.items
    assert (item.status, item.result, item.target_id) == (SUCCESS, CREATED, flavor_id)


def test_a_different_flavor_is_a_conflict_then_force_replaces_it(env: Env, engine: EngineFactory) -> None:
    flavor_id = create_flavor(env, "RegionOne", specs={"hw:cpu_policy": "dedicated"})
    create_flavor(env, "RegionTwo", flavor_id, specs={"hw:cpu_policy": "shared"}, ram=1024)

    conflict = sync(env, engine, flavor_id, ["RegionTwo"])

    (item,) = conflict.items
    assert (conflict.status, item.result, item.attempts) == (FAILURE, CONFLICT, 1)  # not retried
    assert item.error == (
        "Flavor %s (id %s) in RegionTwo differs from RegionOne in ram, extra_specs; sync with force to replace it."
        % (flavor_id, flavor_id)
    )
    assert read_flavor(env, "RegionTwo", flavor_id).ram == 1024  # type: ignore[union-attr]

    forced = sync(env, engine, flavor_id, ["RegionTwo"], force=True)

    (item,) = forced.items
    assert (forced.status, item.result, item.target_id) == (SUCCESS, REPLACED, flavor_id)
    assert read_flavor(env, "RegionTwo", flavor_id) == read_flavor(env, "RegionOne", flavor_id)


def test_force_updates_in_place_a_flavor_that_differs_only_in_an_extra_spec(env: Env, engine: EngineFactory) -> None:
    flavor_id = create_flavor(env, "RegionOne", specs={"hw:cpu_policy": "dedicated", "mycompany:x": "y"})
    create_flavor(env, "RegionTwo", flavor_id, specs={"hw:cpu_policy": "dedicated", "mycompany:x": "z"})

    job = sync(env, engine, flavor_id, ["RegionTwo"], force=True)

    (item,) = job.items
    assert (job.status, item.result, item.target_id) == (SUCCESS, UPDATED, flavor_id)
    assert read_flavor(env, "RegionTwo", flavor_id) == read_flavor(env, "RegionOne", flavor_id)


def test_a_region_that_is_down_fails_its_item_after_retries_and_not_the_others(
    fresh_env: Env, engine: EngineFactory
) -> None:
    flavor_id = create_flavor(fresh_env, "RegionOne", specs={"hw:cpu_policy": "shared"})
    fresh_env.control.set_faults("RegionThree", down=True)

    job = sync(fresh_env, engine, flavor_id, TARGETS)

    items = fresh_env.items_by_target(job)
    assert job.status == FAILURE
    assert (items["RegionTwo"].status, items["RegionTwo"].result) == (SUCCESS, CREATED)
    down = items["RegionThree"]
    assert (down.status, down.result, down.attempts) == (FAILURE, ERROR, CONF.engine.max_attempts)
    assert down.error is not None
    assert "ConnectFailure" in down.error and "gave up after 3 attempts" in down.error
    fresh_env.control.clear_faults("RegionThree")
    assert read_flavor(fresh_env, "RegionThree", flavor_id) is None


def test_an_extra_spec_the_target_refuses_fails_the_item_and_leaves_no_flavor(env: Env, engine: EngineFactory) -> None:
    # Taken at 2.61 in the source, refused by the target's validators at 2.86.
    flavor_id = create_flavor(env, "RegionOne", specs={"hw:cpu_policy": "bogus"})

    job = sync(env, engine, flavor_id, ["RegionTwo"])

    (item,) = job.items
    assert (job.status, item.result, item.attempts) == (FAILURE, ERROR, 1)
    assert item.error == (
        "RegionTwo refused the extra specs of flavor %s: Validation failed; 'bogus' is not one of: dedicated, "
        "shared, mixed. kingsync deleted the flavor it had made there, so none stays without its extra specs."
        % flavor_id
    )
    assert read_flavor(env, "RegionTwo", flavor_id) is None
