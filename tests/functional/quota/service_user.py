"""kingsync's [regions] configured for a test: its service user, the same on
the simulator and on the devcloud, at a given Keystone."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from kingsync import regions
from kingsync.conf import CONF

SERVICE_AUTH = {
    "auth_type": "password",
    "username": "kingsync",
    "password": "service-secret",
    "project_name": "service",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
}


@contextlib.contextmanager
def kingsync_regions(auth_url: str, **options: Any) -> Iterator[None]:
    """[regions] set to kingsync's service user at ``auth_url`` (and
    ``options``, e.g. timeout), with fresh Connections; undone afterwards."""
    # keystoneauth registers a plugin's options when it loads the plugin;
    # registering them first lets the test set them without a config file.
    added = register_password_opts()
    values = {**SERVICE_AUTH, "auth_url": auth_url, **options}
    for name, value in values.items():
        CONF.set_override(name, value, group="regions")
    regions.reset()
    try:
        yield
    finally:
        regions.reset()
        for name in values:
            CONF.clear_override(name, group="regions")
        CONF.reset()  # options can only be unregistered from an unparsed CONF
        CONF.unregister_opts(added, group="regions")


def register_password_opts() -> list[cfg.Opt]:
    """Register the password plugin's options in [regions]; returns those this call added.

    They must go again afterwards: auth_url is required, so a later test
    that parses CONF without it would fail on options it never asked for.
    """
    added = []
    for opt in ks_loading.get_auth_plugin_conf_options("password"):
        try:
            getattr(CONF.regions, opt.dest)
        except cfg.NoSuchOptError:
            added.append(opt)
    CONF.register_opts(added, group="regions")
    return added
