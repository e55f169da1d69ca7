"""Every option kingsync has, for oslo-config-generator (entry point oslo.config.opts)."""

from __future__ import annotations

from oslo_config import cfg

from kingsync.conf import api, database, engine, images, quota, regions


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    return (
        api.list_opts()
        + database.list_opts()
        + engine.list_opts()
        + images.list_opts()
        + quota.list_opts()
        + regions.list_opts()
    )
