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


def list_rules() -> list[policy.DocumentedRuleDefault]:
    return [
        base.operation_rule(
            LIST, base.RULE_PROJECT_READER, "List your sync jobs.", "GET " + _PATH, "GET " + _PATH + "/active"
        ),
        base.operation_rule(
            SHOW, base.RULE_PROJECT_READER, "Show one of your sync jobs and its items.", "GET " + _PATH + "/{job_id}"
        ),
        base.operation_rule(CREATE, base.RULE_PROJECT_MEMBER, "Create a sync job.", "POST " + _PATH),
        base.operation_rule(
            DELETE, base.RULE_PROJECT_MEMBER, "Forget a finished sync job.", "DELETE " + _PATH + "/{job_id}"
        ),
    ]
