"""A project's quota history: ``.../os-quota-sets/{target_id}/audit`` (kingsync's).

Every change of the project's global limits, region settings and headroom
policy made through the API, and every regional limit the engine changed
(a rebalance, a drift it corrected), newest first, a page at a time.
"""

from __future__ import annotations

from typing import Any

import flask

from kingsync.api import errors, runtime
from kingsync.api.handlers import quota
from kingsync.db import session
from kingsync.db.quota import audit
from kingsync.policies import quota as rules

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def list_entries(project_id: str, target_id: str) -> flask.Response:
    quota.caller(project_id, rules.AUDIT, target_id)
    limit = _int_arg("limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
    marker = _int_arg("marker", 1, None)
    with session.transaction(runtime.get().database_url) as db:
        # One more than asked for says whether there is a next page.
        found = audit.list_audit(db, target_id, limit + 1, marker)
    page = found[:limit]
    return flask.jsonify(
        {"audit": [_entry_view(entry) for entry in page], "next": page[-1].id if len(found) > limit else None}
    )


def _int_arg(name: str, low: int, high: int | None) -> int | None:
    """The query argument ``name``, an integer from ``low`` to ``high``; None when absent."""
    raw = flask.request.args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = "from %d to %d" % (low, high) if high is not None else "of at least %d" % low
        raise errors.bad_request(errors.INVALID_URL, "Invalid %s %r: an integer %s." % (name, raw, bounds))
    return value


def _entry_view(entry: audit.AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "time": quota.iso_time(entry.created_at),
        "region": entry.region,
        "resource": entry.resource,
        "old": entry.old_limit,
        "new": entry.new_limit,
        "actor": entry.actor,
        "reason": entry.reason,
        "request_id": entry.request_id,
    }
