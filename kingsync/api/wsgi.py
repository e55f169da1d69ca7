"""kingsync-api for a WSGI server: ``application``.

uWSGI: ``module = kingsync.api.wsgi:application``; gunicorn:
``gunicorn kingsync.api.wsgi:application``. The configuration file is, in
this order: ``--config-file PATH`` among the process arguments (uWSGI:
``pyargv = --config-file PATH``), the KINGSYNC_CONFIG_FILE environment
variable, /etc/kingsync/kingsync.conf if it exists (deploy.py).
"""

from __future__ import annotations

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

# isort: on
import os
import sys

from kingsync.api import deploy
from kingsync.conf import CONF

application = deploy.load_app(CONF, sys.argv[1:], os.environ)
