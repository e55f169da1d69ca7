"""Who may use sync jobs (``/v1.0/{project_id}/os-sync``).

Readers of the project see jobs, members create and delete them. Within the
project, the API shows a caller only the jobs they created themselves, as
Kingbird did (keypairs belong to a user); an admin may list and show every
project's jobs (``?all_projects=true``).

Creating a job also needs the rule of each kind it names,
``kingsync:sync:create:<kind>``: members for their own keypairs and
security groups and images, admins only for flavors (Kingbird's contract:
a member's flavor sync is a 403). A member syncs only the images its own
project owns; ``kingsync:sync:any_owner`` (admins) lifts that.
"""

from __future__ import annotations

from oslo_policy import policy

from kingsync.policies import base
from kingsync.sync.kinds import KINDS

PREFIX = "kingsync:sync:%s"
LIST = PREFIX % "list"
SHOW = PREFIX % "show"
CREATE = PREFIX % "create"
DELETE = PREFIX % "delete"
ALL_PROJECTS = PREFIX % "all_projects"
ANY_OWNER = PREFIX % "any_owner"

_PATH = "/v1.0/{project_id}/os-sync"


def create_kind(kind: str) -> str:
    """The rule for syncing resources of ``kind``."""
    return PREFIX % ("create:" + kind)


def list_rules() -> list[policy.DocumentedRuleDefault]:
    rules = [
        base.operation_rule(
            LIST, base.RULE_PROJECT_READER, "List your sync jobs.", "GET " + _PATH, "GET " + _PATH + "/active"
        ),
        base.operation_rule(
            SHOW, base.RULE_PROJECT_READER, "Show one of your sync jobs and its items.", "GET " + _PATH + "/{job_id}"
        ),
        base.operation_rule(
            ALL_PROJECTS,
            base.RULE_ADMIN,
            "List and show the sync jobs of every project and user (?all_projects=true).",
            "GET " + _PATH,
            "GET " + _PATH + "/{job_id}",
        ),
        base.operation_rule(CREATE, base.RULE_PROJECT_MEMBER, "Create a sync job.", "POST " + _PATH),
        base.operation_rule(
            ANY_OWNER,
            base.RULE_ADMIN,
            "Sync resources that belong to another project (an image of any owner, named by its id); "
            "without it, a caller syncs only the images its own project owns.",
            "POST " + _PATH,
        ),
        base.operation_rule(
            DELETE, base.RULE_PROJECT_MEMBER, "Forget a finished sync job.", "DELETE " + _PATH + "/{job_id}"
        ),
    ]
    for kind in KINDS.all():
        who = base.RULE_ADMIN if kind.admin_only else base.RULE_PROJECT_MEMBER
        rules.append(
            base.operation_rule(
                create_kind(kind.name),
                who,
                "Create a sync job that copies resources of type %s." % kind.name,
                "POST " + _PATH,
            )
        )
    return rules
