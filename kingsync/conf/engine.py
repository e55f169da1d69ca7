"""[engine]: the engine service's workers, leases and retries."""

from __future__ import annotations

from oslo_config import cfg

GROUP = cfg.OptGroup("engine", title="Engine service", help="How kingsync-engine claims and runs work.")

OPTS = [
    cfg.StrOpt(
        "engine_id",
        help="Name this engine uses on the work it claims. Defaults to host name and "
        "process id, which is unique per process; set it only to make logs easier to read.",
    ),
    cfg.IntOpt("workers", default=8, min=1, help="Threads that run job items in this engine process."),
    cfg.IntOpt(
        "transfer_workers",
        default=2,
        min=1,
        help="Threads that run items which move data (image copies), apart from [engine] workers, so "
        "a long transfer never holds a slot that a keypair or a flavor needs. Also the most transfers "
        "to one region at once.",
    ),
    cfg.IntOpt(
        "per_region_concurrency",
        default=4,
        min=1,
        help="Items run against one region at the same time, at most, per engine.",
    ),
    cfg.IntOpt(
        "lease_seconds",
        default=60,
        min=5,
        help="How long a claimed item stays this engine's. An engine renews the lease while it works; "
        "when an engine dies, its items are taken over by another once their lease runs out.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=5.0,
        min=0.1,
        help="Seconds between looks at the database for work nobody rang the doorbell for "
        "(a lost RPC message, a dead engine's expired leases, retries that fell due).",
    ),
    cfg.IntOpt(
        "max_attempts",
        default=5,
        min=1,
        help="Attempts at an item that fails with a transient error (timeout, 5xx, connection) "
        "before it is reported as failed. Each claim of an item counts, so an item whose engine "
        "dies while running it ends too.",
    ),
    cfg.FloatOpt(
        "retry_backoff",
        default=2.0,
        min=0.1,
        help="Seconds before the first retry of a transient failure; doubled at each attempt.",
    ),
    cfg.FloatOpt(
        "finalize_interval",
        default=60.0,
        min=1.0,
        help="Seconds between sweeps that close jobs whose items have all ended. Jobs normally close "
        "as their last item ends; the sweep is the safety net, so a long interval is fine.",
    ),
    cfg.IntOpt(
        "job_retention_days",
        default=30,
        min=0,
        help="Days a finished sync job (and its items) is kept before the engine purges it; 0 keeps "
        "them for ever. The id record of what the jobs made is kept regardless.",
    ),
    cfg.FloatOpt(
        "purge_interval",
        default=3600.0,
        min=1.0,
        help="Seconds between the engine's purges of finished jobs older than [engine] job_retention_days.",
    ),
    cfg.FloatOpt(
        "periodic_jitter",
        default=0.1,
        min=0.0,
        max=1.0,
        help="Share of each periodic task's interval by which its runs are moved at random, so "
        "engines started together do not all hit the database and the regions at once.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
