"""Who may use sync jobs (``/v1.0/{project_id}/os-sync``).

Readers of the project see jobs, members create and delete them. Within the
project, the API shows a caller only the jobs they created themselves, as
Kingbird did (keypairs belong to a user).
"""

from __future__ import annotations

from oslo_policy import policy

from kingsync.policies import base

PREFIX = "kingsync:sync:%s"
LIST = PREFIX % "list"
SHOW = PREFIX % "show"
CREATE = PREFIX % "create"
DELETE = PREFIX % "delete"

_PATH = "/v1.0/{project_id}/os-sync"


def _rule(name: str, check_str: str, description: str, *paths: str) -> policy.DocumentedRuleDefault:
    """``paths`` are "METHOD /path" strings."""
    operations: list[policy.Operation] = []
    for path in paths:
        method, url = path.split(" ", 1)
        operations.append({"method": method, "path": url})
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description, operations=operations, scope_types=["project"]
    )


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return [
        _rule(LIST, base.RULE_PROJECT_READER, "List your sync jobs.", "GET " + _PATH, "GET " + _PATH + "/active"),
        _rule(
            SHOW, base.RULE_PROJECT_READER, "Show one of your sync jobs and its items.", "GET " + _PATH + "/{job_id}"
        ),
        _rule(CREATE, base.RULE_PROJECT_MEMBER, "Create a sync job.", "POST " + _PATH),
        _rule(DELETE, base.RULE_PROJECT_MEMBER, "Forget a finished sync job.", "DELETE " + _PATH + "/{job_id}"),
    ]
