"""Loading kingsync-api from its configuration file, as a WSGI server does (wsgi.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from oslo_config import cfg
from oslo_log import log as logging

from kingsync.api import app
from kingsync.api.types import WSGIApp

DEFAULT_CONFIG_FILE = "/etc/kingsync/kingsync.conf"


def config_files(argv: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """``--config-file`` arguments, else KINGSYNC_CONFIG_FILE, else the default file if it exists.

    Other arguments belong to the WSGI server and are ignored.
    """
    files = []
    for index, arg in enumerate(argv):
        if arg == "--config-file" and index + 1 < len(argv):
            files.append(argv[index + 1])
        elif arg.startswith("--config-file="):
            files.append(arg.split("=", 1)[1])
    if files:
        return files
    if environ.get("KINGSYNC_CONFIG_FILE"):
        return [environ["KINGSYNC_CONFIG_FILE"]]
    return [DEFAULT_CONFIG_FILE] if os.path.exists(DEFAULT_CONFIG_FILE) else []


def load_app(conf: cfg.ConfigOpts, argv: Sequence[str], environ: Mapping[str, str]) -> WSGIApp:
    """Parse the configuration into ``conf``, set up logging, build the application."""
    logging.register_options(conf)
    conf([], project="kingsync", default_config_files=config_files(argv, environ))
    logging.setup(conf, "kingsync")
    return app.create_app(conf)
