"""[quota]: global quotas, how the engine reconciles them and how often."""

from __future__ import annotations

from oslo_config import cfg

GROUP = cfg.OptGroup(
    "quota",
    title="Global quotas",
    help="Which projects kingsync manages, how headroom is split between regions, and how often "
    "each project is reconciled.",
)

OPTS = [
    cfg.BoolOpt(
        "manage_all_projects",
        default=False,
        help="Manage every project in Keystone, holding those without their own global limits to the "
        "defaults (the 'default' quota class). When false, only projects an admin gave global limits "
        "are touched; every other project's regional limits are left alone.",
    ),
    cfg.StrOpt(
        "headroom_policy",
        default="even",
        choices=[
            ("even", "Headroom (global limit minus total usage) in equal shares."),
            ("proportional", "A floor per region, the rest in proportion to each region's recent growth."),
        ],
        help="How the headroom of a split resource is divided between the regions. A project may override it.",
    ),
    cfg.FloatOpt(
        "proportional_floor",
        default=0.1,
        min=0.0,
        max=1.0,
        help="With the proportional policy: the share of an even split every region gets whatever its demand, "
        "so a quiet region can still start something.",
    ),
    cfg.FloatOpt(
        "demand_smoothing",
        default=0.3,
        min=0.01,
        max=1.0,
        help="Weight of the latest growth in a region's demand estimate (exponential moving average); "
        "smaller is steadier.",
    ),
    cfg.FloatOpt(
        "hysteresis",
        default=0.02,
        min=0.0,
        max=0.5,
        help="A regional limit that would change by less than this share of the global limit is not "
        "written. Never applied when it would break the global limit or leave a full region without headroom.",
    ),
    cfg.FloatOpt(
        "near_interval",
        default=60.0,
        min=1.0,
        help="Seconds between reconciliations of a project close to one of its global limits.",
    ),
    cfg.FloatOpt(
        "far_interval",
        default=900.0,
        min=1.0,
        help="Seconds between reconciliations of a project far from all its global limits. Projects in "
        "between are looked at in between, in proportion to how close they are.",
    ),
    cfg.FloatOpt(
        "near_threshold",
        default=0.2,
        min=0.0,
        max=1.0,
        help="A project is close to a global limit when that resource's headroom is at most this share of the limit.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=5.0,
        min=0.1,
        help="Seconds between an engine's looks for projects that are due.",
    ),
    cfg.FloatOpt(
        "poll_jitter",
        default=0.1,
        min=0.0,
        max=1.0,
        help="Share of the due time by which a project's next reconciliation is moved at random, so "
        "projects set up together do not stay in step.",
    ),
    cfg.IntOpt("batch_size", default=100, min=1, help="Projects an engine claims at each look, at most."),
    cfg.IntOpt("workers", default=16, min=1, help="Projects one engine reconciles at the same time."),
    cfg.IntOpt(
        "per_region_concurrency",
        default=8,
        min=1,
        help="Quota API calls one engine makes to one region at the same time, at most.",
    ),
    cfg.FloatOpt(
        "discover_interval",
        default=600.0,
        min=10.0,
        help="With manage_all_projects: seconds between reads of Keystone's project list.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
