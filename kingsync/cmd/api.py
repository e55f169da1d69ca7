"""``kingsync-api``: the API on a threaded WSGI server, for local use.

Production runs ``kingsync.api.wsgi:application`` under uWSGI or gunicorn,
which bring process management, TLS and tuning this command lacks.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from oslo_log import log as logging
from werkzeug import serving

from kingsync.api import app
from kingsync.conf import CONF

LOG = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    logging.register_options(CONF)
    CONF(list(sys.argv[1:] if argv is None else argv), project="kingsync")
    logging.setup(CONF, "kingsync")
    server = serving.make_server(CONF.api.bind_host, CONF.api.bind_port, app.create_app(CONF), threaded=True)

    def stop(signum: int, _frame: Any) -> None:
        LOG.info("Signal %d: kingsync-api stopping", signum)
        # shutdown() waits for serve_forever to return, so not from this (its) thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    LOG.info(
        "kingsync-api listening on http://%s:%d (production: kingsync.api.wsgi:application under uWSGI)",
        CONF.api.bind_host,
        server.server_port,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
