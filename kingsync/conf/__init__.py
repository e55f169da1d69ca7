"""kingsync's configuration: one module per option group (see opts.py)."""

from __future__ import annotations

from oslo_config import cfg

from kingsync.conf import api, database, engine, images, quota, regions

CONF = cfg.CONF

for _module in (api, database, engine, images, quota, regions):
    _module.register_opts(CONF)
