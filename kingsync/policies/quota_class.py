"""Who may see and set quota classes (``/v1.0/{project_id}/os-quota-class-sets``).

The ``default`` class holds the defaults every managed project without its
own limits is held to, so changing a class is for admins; any reader may see
them, as any user could in Kingbird.
"""

from __future__ import annotations

from oslo_policy import policy

from kingsync.policies import base

PREFIX = "kingsync:quota_class:%s"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"

_PATH = "/v1.0/{project_id}/os-quota-class-sets/{class_name}"


def list_rules() -> list[policy.DocumentedRuleDefault]:
    rule = base.operation_rule
    return [
        rule(
            SHOW,
            base.RULE_ADMIN_OR_PROJECT_READER,
            "Show a quota class (the defaults, with its own values).",
            "GET " + _PATH,
        ),
        rule(UPDATE, base.RULE_ADMIN, "Set limits of a quota class; 'default' changes the defaults.", "PUT " + _PATH),
        rule(DELETE, base.RULE_ADMIN, "Delete a quota class's limits.", "DELETE " + _PATH),
    ]


# The rules whose default is admin only: denied, they answer Kingbird's "Admin required".
ADMIN_ONLY = frozenset(rule.name for rule in list_rules() if rule.check_str == base.RULE_ADMIN)
