"""Policy defaults in code, one module per resource.

``list_rules`` is the ``oslo.policy.policies`` entry point, so
``oslopolicy-sample-generator --namespace kingsync`` writes every rule with
its default and description.
"""

from __future__ import annotations

from oslo_policy import policy

from kingsync.policies import base, quota, quota_class, sync


def list_rules() -> list[policy.RuleDefault]:
    return [*base.list_rules(), *sync.list_rules(), *quota.list_rules(), *quota_class.list_rules()]
