"""[database]: where kingsync keeps its state."""

from __future__ import annotations

from oslo_config import cfg

GROUP = cfg.OptGroup("database", title="Database", help="kingsync's SQL database: the work queue and the truth.")

OPTS = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///kingsync.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database, e.g. postgresql+psycopg2://kingsync:PASS@db/kingsync or "
        "mysql+pymysql://kingsync:PASS@db/kingsync?charset=utf8mb4. The default, a SQLite file in the "
        "working directory, suits one all-in-one process; several engines need PostgreSQL or MySQL.",
    ),
    cfg.IntOpt("pool_size", default=5, min=1, help="Connections kept open per process (not for SQLite)."),
    cfg.IntOpt("pool_timeout", default=30, min=1, help="Seconds to wait for a free pooled connection."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return [(GROUP, OPTS)]
