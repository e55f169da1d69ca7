"""Who may see and set a project's global quotas (``/v1.0/{project_id}/os-quota-sets``).

Reading a project's limits, usage, regions, audit history, region settings
and headroom policy is for its readers and for admins; changing any of them,
asking for a reconciliation or a dry run is for admins only, as in Kingbird.
The target of every rule is the project the limits are for (``target_id``),
not the project in the URL, which is the caller's own.
"""

from __future__ import annotations

from oslo_policy import policy

from kingsync.policies import base

PREFIX = "kingsync:quota:%s"
SHOW = PREFIX % "show"
DEFAULTS = PREFIX % "defaults"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
SYNC = PREFIX % "sync"
DRY_RUN = PREFIX % "dry_run"
REGIONS = PREFIX % "regions"
AUDIT = PREFIX % "audit"
REGION_SETTING_SHOW = PREFIX % "region_setting:show"
REGION_SETTING_UPDATE = PREFIX % "region_setting:update"
REGION_SETTING_DELETE = PREFIX % "region_setting:delete"
HEADROOM_POLICY_SHOW = PREFIX % "headroom_policy:show"
HEADROOM_POLICY_UPDATE = PREFIX % "headroom_policy:update"
HEADROOM_POLICY_DELETE = PREFIX % "headroom_policy:delete"

_PATH = "/v1.0/{project_id}/os-quota-sets"
_TARGET = _PATH + "/{target_id}"
_REGION = _TARGET + "/regions/{region}"
_HEADROOM = _TARGET + "/policy"

_ADMIN = base.RULE_ADMIN
_READER = base.RULE_ADMIN_OR_PROJECT_READER


def list_rules() -> list[policy.DocumentedRuleDefault]:
    rule = base.operation_rule
    return [
        rule(
            SHOW,
            _READER,
            "Show a project's global limits, and its usage now.",
            "GET " + _TARGET,
            "GET " + _TARGET + "/detail",
        ),
        rule(DEFAULTS, _READER, "Show the default global limits.", "GET " + _PATH + "/defaults"),
        rule(UPDATE, _ADMIN, "Set global limits of a project.", "PUT " + _TARGET),
        rule(DELETE, _ADMIN, "Delete global limits of a project.", "DELETE " + _TARGET),
        rule(SYNC, _ADMIN, "Reconcile a project's regional limits now.", "PUT " + _TARGET + "/sync"),
        rule(
            DRY_RUN,
            _ADMIN,
            "Show the regional limits a change of global limits would produce.",
            "POST " + _TARGET + "/dry-run",
        ),
        rule(
            REGIONS,
            _READER,
            "Show a project's usage, regional limits and settings per region, and the regions' state.",
            "GET " + _TARGET + "/regions",
        ),
        rule(
            AUDIT, _READER, "Show the history of a project's global and regional limits.", "GET " + _TARGET + "/audit"
        ),
        rule(REGION_SETTING_SHOW, _READER, "Show a project's pins and exclusion in one region.", "GET " + _REGION),
        rule(
            REGION_SETTING_UPDATE,
            _ADMIN,
            "Pin a project's limits in one region, or exclude the region.",
            "PUT " + _REGION,
        ),
        rule(
            REGION_SETTING_DELETE, _ADMIN, "Remove a project's pins and exclusion in one region.", "DELETE " + _REGION
        ),
        rule(
            HEADROOM_POLICY_SHOW,
            _READER,
            "Show how a project's headroom is divided between regions.",
            "GET " + _HEADROOM,
        ),
        rule(HEADROOM_POLICY_UPDATE, _ADMIN, "Set a project's own headroom policy.", "PUT " + _HEADROOM),
        rule(
            HEADROOM_POLICY_DELETE,
            _ADMIN,
            "Return a project to the deployment's headroom policy.",
            "DELETE " + _HEADROOM,
        ),
    ]


# The rules whose default is admin only: denied, they answer Kingbird's "Admin required".
ADMIN_ONLY = frozenset(rule.name for rule in list_rules() if rule.check_str == _ADMIN)
