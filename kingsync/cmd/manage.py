"""kingsync-manage: the operator's commands.

    kingsync-manage [--config-file kingsync.conf] db sync      create or upgrade the schema
    kingsync-manage [--config-file kingsync.conf] db version   print the schema's revision

``db sync`` is safe to run at any time, also twice and while services run:
it applies only the revisions the database lacks.
"""

from __future__ import annotations

import argparse
import sys

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

from oslo_config import cfg
from oslo_log import log as logging
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from kingsync.conf import CONF
from kingsync.db import migration

# isort: on

LOG = logging.getLogger(__name__)


def _where() -> str:
    # The URL may hold a password; never print it.
    return make_url(CONF.database.connection).render_as_string(hide_password=True)


def db_sync() -> int:
    migration.upgrade()
    print(f"{_where()}: schema at revision {migration.current_revision()} (head)")
    return 0


def db_version() -> int:
    print(migration.current_revision() or "None")
    return 0


def _add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="kingsync's database schema.")
    actions = db.add_subparsers(title="actions", dest="action", metavar="{sync,version}")
    actions.required = True
    sync = actions.add_parser("sync", help="Create the schema, or upgrade it to the latest revision.")
    sync.set_defaults(func=db_sync)
    version = actions.add_parser("version", help="Print the schema's revision (None: no schema yet).")
    version.set_defaults(func=db_version)


def main(argv: list[str] | None = None) -> int:
    command = cfg.SubCommandOpt("command", title="Commands", help="What to do.", handler=_add_commands)
    CONF.register_cli_opt(command)
    logging.register_options(CONF)
    # Alembic's INFO lines ("Context impl ...") are noise for an operator.
    logging.set_defaults(default_log_levels=[*logging.get_default_log_levels(), "alembic=WARN"])
    CONF(sys.argv[1:] if argv is None else argv, project="kingsync", prog="kingsync-manage")
    logging.setup(CONF, "kingsync-manage")
    try:
        result: int = CONF.command.func()
    except (sa_exc.SQLAlchemyError, migration.MigrationsNotFound) as error:
        LOG.debug("kingsync-manage %s %s failed", CONF.command.name, CONF.command.action, exc_info=True)
        print(f"kingsync-manage: {_where()}: {error}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
