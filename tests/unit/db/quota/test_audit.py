"""kingsync.db.quota.audit on every database: entries stored as given, and
listed newest first a page at a time."""

from __future__ import annotations

import datetime

from kingsync.db.quota import audit
from kingsync.db.session import transaction
from tests.unit.db.conftest import Clock
from tests.unit.db.quota.helpers import OTHER, PROJECT, set_limits

# -- audit ---------------------------------------------------------------------------------------------


def test_engine_entries_are_stored_as_given(db_url: str, clock: Clock) -> None:
    when = clock.now - datetime.timedelta(seconds=5)
    entry = audit.AuditEntry.regional(PROJECT, "RegionOne", "cores", 10, 12, "kingsync", "rebalance", when)
    with transaction(db_url) as s:
        audit.add_audit(s, [entry])
        audit.add_audit(s, [])
    with transaction(db_url) as s:
        (stored,) = audit.list_audit(s, PROJECT)
    assert stored == audit.AuditEntry(
        PROJECT, None, "RegionOne", "cores", 10, 12, "kingsync", "rebalance", None, when, stored.id
    )


def test_audit_is_listed_newest_first_a_page_at_a_time(db_url: str, clock: Clock) -> None:
    for n in range(5):
        set_limits(db_url, {"cores": n})
        clock.advance(1)
    set_limits(db_url, {"cores": 99}, project_id=OTHER)
    with transaction(db_url) as s:
        first = audit.list_audit(s, PROJECT, limit=2)
        second = audit.list_audit(s, PROJECT, limit=2, before_id=first[-1].id)
        last = audit.list_audit(s, PROJECT, limit=2, before_id=second[-1].id)
        assert audit.list_audit(s, PROJECT, before_id=last[-1].id) == []
    assert [e.new_limit for e in first + second + last] == [4, 3, 2, 1, 0]


def test_audit_entries_made_together_page_by_id(db_url: str) -> None:
    set_limits(db_url, {"cores": 1, "ram": 2, "instances": 3})
    with transaction(db_url) as s:
        first = audit.list_audit(s, PROJECT, limit=1)
        rest = audit.list_audit(s, PROJECT, before_id=first[0].id)
    assert sorted(e.resource for e in first + rest) == ["cores", "instances", "ram"]


def test_a_marker_of_another_project_lists_nothing(db_url: str) -> None:
    set_limits(db_url, {"cores": 1})
    set_limits(db_url, {"cores": 1}, project_id=OTHER)
    with transaction(db_url) as s:
        (theirs,) = audit.list_audit(s, OTHER)
        assert audit.list_audit(s, PROJECT, before_id=theirs.id) == []
