"""Engines and admins racing on a database server (SQLite serialises writers,
so these run on PostgreSQL and MariaDB/MySQL, where the races are real)."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from kingsync.db.models import MANAGED_BY_DISCOVERY, QuotaProject
from kingsync.db.quota import audit, limits, regional
from kingsync.db.quota import projects as quota_projects
from kingsync.db.session import transaction

PROJECT = "p" * 32


def _unclaimed(url: str) -> int:
    with transaction(url) as s:
        return s.scalar(sa.select(sa.func.count()).where(QuotaProject.lease_owner.is_(None))) or 0


def test_eight_racing_engines_claim_every_project_exactly_once(server_db_url: str) -> None:
    projects = [f"project-{n:03d}" for n in range(120)]
    with transaction(server_db_url) as s:
        quota_projects.ensure_managed(s, projects, MANAGED_BY_DISCOVERY)
    start = threading.Barrier(8)

    def engine(n: int) -> list[str]:
        start.wait()
        mine: list[str] = []
        while True:
            with transaction(server_db_url) as s:
                claimed = quota_projects.claim_projects(s, f"engine-{n}", limit=3, lease_seconds=60)
            if not claimed and not _unclaimed(server_db_url):
                return mine
            mine.extend(claimed)

    with ThreadPoolExecutor(8) as pool:
        per_engine = list(pool.map(engine, range(8)))
    claims = collections.Counter(project for claimed in per_engine for project in claimed)
    assert sorted(claims.values()) == [1] * len(projects)
    assert set(claims) == set(projects)
    assert sum(1 for claimed in per_engine if claimed) > 1  # the race really was one
    with transaction(server_db_url) as s:
        states = [quota_projects.get_project_state(s, p) for p in projects]
    assert {state.lease_owner for state in states if state is not None} == {
        f"engine-{n}" for n, claimed in enumerate(per_engine) if claimed
    }


def test_an_engine_claims_other_projects_while_another_claim_is_uncommitted(server_db_url: str) -> None:
    with transaction(server_db_url) as s:
        quota_projects.ensure_managed(s, [f"project-{n}" for n in range(4)], MANAGED_BY_DISCOVERY)
    # The pool outside the transaction: should engine-b hang, engine-a's
    # transaction ends first (rolled back by the failure), which frees it.
    with ThreadPoolExecutor(1) as pool, transaction(server_db_url) as first:
        held = quota_projects.claim_projects(first, "engine-a", 2, 60)
        second = pool.submit(_claim_in_own_transaction, server_db_url, "engine-b")
        taken = second.result(timeout=15)  # without SKIP LOCKED: blocked behind engine-a
    assert len(taken) == 2
    assert not set(taken) & set(held)


def _claim_in_own_transaction(url: str, engine: str) -> list[str]:
    with transaction(url) as s:
        return quota_projects.claim_projects(s, engine, 2, 60)


def test_admins_changing_one_new_project_at_once_serialise_and_audit_a_chain(server_db_url: str) -> None:
    start = threading.Barrier(8)

    def admin(n: int) -> None:
        start.wait()
        with transaction(server_db_url) as s:
            limits.set_project_limits(s, PROJECT, {"cores": n + 1}, audit.Actor(f"admin-{n}", "admin"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(admin, range(8)))  # none fails on the project row all of them create
    with transaction(server_db_url) as s:
        entries = list(reversed(audit.list_audit(s, PROJECT)))
        final = limits.get_project_limits(s, PROJECT)
    assert len(entries) == 8
    # Each change saw the one before it: the old value is always the previous new one.
    assert [e.old_limit for e in entries] == [None] + [e.new_limit for e in entries[:-1]]
    assert final == {"cores": entries[-1].new_limit}


def test_engines_recording_one_new_region_at_once_do_not_collide(server_db_url: str) -> None:
    start = threading.Barrier(8)

    def record(n: int) -> None:
        start.wait()
        with transaction(server_db_url) as s:
            for service in ("nova", "neutron", "cinder"):
                regional.set_region_status(s, "RegionOne", service, n % 2 == 0, None if n % 2 == 0 else "down")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(record, range(8)))
    with transaction(server_db_url) as s:
        assert set(regional.list_region_status(s)) == {("RegionOne", s) for s in ("nova", "neutron", "cinder")}


def test_engines_discovering_the_same_projects_at_once_do_not_collide(server_db_url: str) -> None:
    projects = [f"project-{n:03d}" for n in range(50)]
    start = threading.Barrier(4)

    def discover(n: int) -> None:
        start.wait()
        with transaction(server_db_url) as s:
            quota_projects.ensure_managed(s, projects[n * 10 :] + projects[: n * 10], MANAGED_BY_DISCOVERY)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(discover, range(4)))
    with transaction(server_db_url) as s:
        assert quota_projects.managed_projects(s) == projects
