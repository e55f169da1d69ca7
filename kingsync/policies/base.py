"""The personas every kingsync rule is written in: admin, member, reader.

A persona is a role in the caller's token *and* the project the request acts
on, so a member of one project is nobody in another. Keystone's default
implied roles (admin implies member, member implies reader) mean that a
member passes reader rules and an admin passes both; the roles are read from
the token as a list, never compared as one string (Kingbird's defect).
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "role:admin"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"

RULE_ADMIN = "rule:admin"
RULE_PROJECT_MEMBER = "rule:project_member"
RULE_PROJECT_READER = "rule:project_reader"
RULE_ADMIN_OR_PROJECT_READER = "rule:admin or rule:project_reader"


def operation_rule(name: str, check_str: str, description: str, *paths: str) -> policy.DocumentedRuleDefault:
    """A project-scoped rule and the API operations it guards; ``paths`` are "METHOD /path" strings."""
    operations: list[policy.Operation] = []
    for path in paths:
        method, url = path.split(" ", 1)
        operations.append({"method": method, "path": url})
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description, operations=operations, scope_types=["project"]
    )


def list_rules() -> list[policy.RuleDefault]:
    return [
        policy.RuleDefault("admin", ADMIN, description="A cloud administrator."),
        policy.RuleDefault(
            "project_member", PROJECT_MEMBER, description="A member of the project the request acts on."
        ),
        policy.RuleDefault(
            "project_reader", PROJECT_READER, description="A reader of the project the request acts on."
        ),
    ]
