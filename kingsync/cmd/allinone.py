"""``kingsync all-in-one``: the embedded default, API and engine in one process.

    kingsync all-in-one [--config-file kingsync.conf]

SQLite (``[database] connection``, default ``sqlite:///kingsync.sqlite``) and
in-process messaging (``fake://`` unless ``[DEFAULT] transport_url`` says
otherwise), so a newcomer needs no RabbitMQ and no database server. The
schema is brought to the latest migration at start. Production runs
kingsync-api and kingsync-engine as separate processes on RabbitMQ and
PostgreSQL or MySQL.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

from oslo_log import log as logging
from werkzeug import serving

from kingsync import rpc
from kingsync.api import app
from kingsync.conf import CONF
from kingsync.db import migration
from kingsync.engine.service import EngineService

# isort: on

LOG = logging.getLogger(__name__)
USAGE = "usage: kingsync all-in-one [--config-file FILE ...]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "all-in-one":
        print(USAGE, file=sys.stderr)
        return 2
    logging.register_options(CONF)
    logging.set_defaults(default_log_levels=[*logging.get_default_log_levels(), "apscheduler=WARN"])
    # oslo.messaging's in-process driver unless the file names a broker: API and
    # engine share one transport object. (Its own default is rabbit://, so the
    # default must be set before the files are read, not tested for after.)
    rpc.register_opts(CONF)
    CONF.set_default("transport_url", "fake://")
    CONF(args[1:], project="kingsync", prog="kingsync all-in-one")
    logging.setup(CONF, "kingsync")
    migration.upgrade()
    transport = rpc.get_transport(CONF)
    engine = EngineService(CONF, transport=transport)
    server = serving.make_server(CONF.api.bind_host, CONF.api.bind_port, app.create_app(CONF, transport), threaded=True)

    def stop(signum: int, _frame: Any) -> None:
        LOG.info("Signal %d: kingsync all-in-one stopping", signum)
        threading.Thread(target=server.shutdown).start()  # not from serve_forever's own thread

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    engine.start()
    LOG.info(
        "kingsync all-in-one: API on http://%s:%d, engine %s, database %s",
        CONF.api.bind_host,
        server.server_port,
        engine.engine_id,
        CONF.database.connection.split("://", 1)[0],
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
