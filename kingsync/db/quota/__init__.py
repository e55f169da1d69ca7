"""Repository for global quotas. Functions take a session and return plain
values or frozen dataclasses, never ORM rows, as kingsync.db.jobs does.

    limits     a project's global limits, quota classes, effective limits
    settings   a project's region settings (exclusion, pins) and headroom policy
    regional   what the engine knows of the regions: regional state, region health
    projects   managed projects and the engine's reconciliation queue
    audit      who changed what, when and why
    errors     NotFound

Effective limits
    What a managed project is held to, in the API and in the engine alike:
    kingsync's built-in defaults, overlaid by the ``default`` quota class,
    overlaid by the project's own global limits.

Managed projects
    The engine touches a project only while it has a quota_projects row. An
    admin's change (a global limit, a region setting, a headroom policy)
    creates it (managed_by "limits"); [quota] manage_all_projects creates the
    others (managed_by "discovery"). When an admin removes the last of those
    changes from a project managed for them, the project is no longer
    managed: its row and its regional state are deleted, and its regional
    limits stay as they are in the regions. A discovered project stays
    managed, held to the defaults.

The reconciliation queue
    quota_projects is also the engine's queue, claimed with a lease like a
    sync item. While a project is claimed, its next_check_at is the lease's
    end (when it is due again should its engine die). A reconciliation asked
    for meanwhile (an admin's change, ``request_reconcile``) moves
    next_check_at before the lease's end, and ``release_project`` then keeps
    it, so the change is not lost behind the engine's next regular visit.

Audit entries for what is not a limit
    An exclusion is resource "excluded" with old and new 1 (excluded) or 0.
    A headroom policy change is resource "headroom_policy: OLD -> NEW" (for
    example "headroom_policy: default -> proportional floor=0.25"), old and
    new limit None: a policy is no number.

Every admin change to a project first locks the project's row, so two
changes to one project serialise and each audit entry's old value is the
one its change replaced.
"""
