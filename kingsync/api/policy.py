"""oslo.policy enforcement for the API, with the defaults from kingsync.policies."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import policy

from kingsync import policies
from kingsync.api import errors
from kingsync.context import RequestContext

LOG = logging.getLogger(__name__)


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    """An enforcer with every default registered; [oslo_policy] policy_file overrides them."""
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer() -> policy.Enforcer:
    """The ``oslo.policy.enforcer`` entry point, for oslopolicy-policy-generator and friends.

    Those commands load config files themselves; an empty argument list lets
    oslo.config find kingsync's (``/etc/kingsync/kingsync.conf``).
    """
    cfg.CONF([], project="kingsync")
    return make_enforcer(cfg.CONF)


def authorize(enforcer: policy.Enforcer, ctxt: RequestContext, rule: str, target: dict[str, Any]) -> None:
    """Raise a 403 ApiError unless ``rule`` allows ``ctxt`` to act on ``target``."""
    try:
        enforcer.authorize(rule, target, ctxt, do_raise=True)
    except (policy.PolicyNotAuthorized, policy.InvalidScope):
        LOG.info("Policy %s denied user %s in project %s", rule, ctxt.user_id, ctxt.project_id)
        raise errors.ApiError(403, errors.FORBIDDEN, "Policy does not allow %s to be performed." % rule) from None
