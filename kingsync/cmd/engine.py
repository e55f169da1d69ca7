"""kingsync-engine: claims sync job items from the database and runs them.

    kingsync-engine --config-file /etc/kingsync/kingsync.conf

Any number may run against one database (see doc/engine.md). SIGTERM stops
gracefully (running items get to finish); SIGKILL loses nothing either: the
items it held are taken over by another engine once their leases expire.
"""

from __future__ import annotations

import sys

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

from oslo_log import log as logging
from oslo_service import service

from kingsync.conf import CONF
from kingsync.engine.service import EngineService

# isort: on

LOG = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    logging.register_options(CONF)
    # APScheduler logs every periodic run at INFO: noise for an operator.
    logging.set_defaults(default_log_levels=[*logging.get_default_log_levels(), "apscheduler=WARN"])
    CONF(sys.argv[1:] if argv is None else argv, project="kingsync", prog="kingsync-engine")
    logging.setup(CONF, "kingsync-engine")
    engine = EngineService(CONF)
    # One process: its workers are threads ([engine] workers), and scaling out
    # is more engines. no_fork keeps the engine in this process, so SIGTERM
    # reaches it directly and stops it gracefully.
    launcher = service.launch(CONF, engine, workers=1, no_fork=True, restart_method="mutate")
    result: int = launcher.wait()
    return result


if __name__ == "__main__":
    sys.exit(main())
