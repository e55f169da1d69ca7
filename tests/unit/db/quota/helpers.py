"""What the kingsync.db.quota tests share: two projects, two admins, and
shortcuts that each run one step in a transaction of its own."""

from __future__ import annotations

from kingsync.db.quota import audit, limits, projects
from kingsync.db.session import transaction

PROJECT = "p" * 32
OTHER = "o" * 32
ADMIN = audit.Actor("admin-user", "admin", "req-1")
LATER = audit.Actor("other-admin", "admin", "req-2")


def audit_trail(url: str, project_id: str = PROJECT) -> list[tuple[str | None, str, int | None, int | None]]:
    """(region, resource, old, new) of a project's audit, oldest first."""
    with transaction(url) as s:
        entries = audit.list_audit(s, project_id)
    return [(e.region, e.resource, e.old_limit, e.new_limit) for e in reversed(entries)]


def project_state(url: str, project_id: str = PROJECT) -> projects.ProjectState | None:
    with transaction(url) as s:
        return projects.get_project_state(s, project_id)


def set_limits(url: str, wanted: dict[str, int], project_id: str = PROJECT, actor: audit.Actor = ADMIN) -> None:
    with transaction(url) as s:
        limits.set_project_limits(s, project_id, wanted, actor)


def claim(url: str, engine: str, limit: int = 10, lease: float = 60) -> list[str]:
    with transaction(url) as s:
        return projects.claim_projects(s, engine, limit, lease)
