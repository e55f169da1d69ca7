"""kingsync.db.quota.projects on every database: managed projects and the
engine's queue (claim, renew, release, a reconciliation asked for)."""

from __future__ import annotations

import datetime

import pytest

from kingsync.db.models import MANAGED_BY_DISCOVERY, MANAGED_BY_LIMITS
from kingsync.db.quota import projects
from kingsync.db.quota.errors import NotFound
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock
from tests.unit.db.quota.helpers import OTHER, PROJECT, claim, project_state, set_limits

# -- the engine's queue --------------------------------------------------------------------------------


def test_ensure_managed_adds_only_new_projects_due_now(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    with transaction(db_url) as s:
        assert projects.ensure_managed(s, [PROJECT, OTHER, OTHER], MANAGED_BY_DISCOVERY) == 1
        assert projects.ensure_managed(s, [PROJECT, OTHER], MANAGED_BY_DISCOVERY) == 0
        assert projects.managed_projects(s) == sorted([PROJECT, OTHER])
    state, other = project_state(db_url), project_state(db_url, OTHER)
    assert state is not None and state.managed_by == MANAGED_BY_LIMITS
    assert other is not None and (other.managed_by, other.next_check_at) == (MANAGED_BY_DISCOVERY, clock.now)


def test_claim_takes_due_projects_most_overdue_first(db_url: str, clock: Clock) -> None:
    with transaction(db_url) as s:
        projects.ensure_managed(s, [OTHER], MANAGED_BY_DISCOVERY)
    clock.advance(1)
    with transaction(db_url) as s:
        projects.ensure_managed(s, [PROJECT], MANAGED_BY_DISCOVERY)
    assert claim(db_url, "engine-a", limit=1) == [OTHER]
    assert claim(db_url, "engine-a", limit=5) == [PROJECT]
    state = project_state(db_url)
    expires = clock.now + datetime.timedelta(seconds=60)
    assert state is not None and (state.lease_owner, state.lease_expires_at) == ("engine-a", expires)


def test_a_project_not_yet_due_is_not_claimed(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    (claimed,) = claim(db_url, "engine-a")
    with transaction(db_url) as s:
        assert projects.release_project(s, claimed, "engine-a", clock.now + datetime.timedelta(seconds=30), "ok", None)
    assert claim(db_url, "engine-b") == []
    clock.advance(30)
    assert claim(db_url, "engine-b") == [PROJECT]


def test_a_leased_project_is_not_claimed_until_its_lease_expires(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    assert claim(db_url, "engine-a", lease=60) == [PROJECT]
    clock.advance(59)
    assert claim(db_url, "engine-b") == []
    clock.advance(2)
    assert claim(db_url, "engine-b") == [PROJECT]  # engine-a is presumed dead
    with transaction(db_url) as s:
        assert not projects.renew_project(s, PROJECT, "engine-a", 60)
        assert not projects.release_project(s, PROJECT, "engine-a", clock.now, "ok", None)
    state = project_state(db_url)
    assert state is not None and state.lease_owner == "engine-b" and state.last_status is None


def test_renewing_keeps_the_project_away_from_other_engines(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    claim(db_url, "engine-a", lease=60)
    clock.advance(50)
    with transaction(db_url) as s:
        assert projects.renew_project(s, PROJECT, "engine-a", 60)
    clock.advance(50)
    assert claim(db_url, "engine-b") == []


def test_release_records_the_round_and_when_to_look_again(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    claim(db_url, "engine-a")
    clock.advance(5)
    due = clock.now + datetime.timedelta(seconds=900)
    with transaction(db_url) as s:
        assert projects.release_project(s, PROJECT, "engine-a", due, "partial", "RegionTwo nova: timed out")
    state = project_state(db_url)
    assert state is not None
    assert (state.lease_owner, state.lease_expires_at, state.next_check_at) == (None, None, due)
    assert (state.last_reconciled_at, state.last_status, state.last_error) == (
        clock.now,
        "partial",
        "RegionTwo nova: timed out",
    )


def test_a_reconcile_asked_for_during_a_round_is_kept_when_the_round_ends(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    claim(db_url, "engine-a", lease=60)
    clock.advance(5)
    with transaction(db_url) as s:
        projects.request_reconcile(s, PROJECT)
    clock.advance(5)
    with transaction(db_url) as s:
        assert projects.renew_project(s, PROJECT, "engine-a", 60)
        projects.release_project(s, PROJECT, "engine-a", clock.now + datetime.timedelta(seconds=900), "ok", None)
    assert claim(db_url, "engine-b") == [PROJECT]


def test_request_reconcile_makes_a_project_due_now(db_url: str, clock: Clock) -> None:
    set_limits(db_url, {"cores": 40})
    claim(db_url, "engine-a")
    with transaction(db_url) as s:
        projects.release_project(s, PROJECT, "engine-a", clock.now + datetime.timedelta(hours=1), "ok", None)
        projects.request_reconcile(s, PROJECT)
    assert claim(db_url, "engine-a") == [PROJECT]


def test_request_reconcile_of_an_unmanaged_project_is_not_found(db_url: str) -> None:
    with transaction(db_url) as s, pytest.raises(NotFound):
        projects.request_reconcile(s, PROJECT)
