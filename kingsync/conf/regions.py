"""[regions]: the regions kingsync acts on, and its own credentials there.

kingsync acts in every region with its own service user (never with a user's
token): either a keystoneauth plugin configured in this group (auth_type,
auth_url, username, password, ...) or a cloud from a clouds.yaml file.
"""

from __future__ import annotations

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = cfg.OptGroup("regions", title="Regions", help="The OpenStack regions kingsync keeps in step.")

OPTS = [
    cfg.ListOpt("names", default=[], help="Regions kingsync acts on. Empty: every region the Keystone catalog lists."),
    cfg.StrOpt(
        "cloud",
        help="Name of a cloud in a clouds.yaml file (see clouds_yaml) to take kingsync's "
        "service credentials from, instead of the keystoneauth options of this group.",
    ),
    cfg.StrOpt(
        "clouds_yaml",
        help="Path of the clouds.yaml file holding `cloud`. Unset: openstacksdk's usual "
        "places (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack).",
    ),
    cfg.StrOpt(
        "interface",
        default="public",
        choices=["public", "internal", "admin"],
        help="Which catalog endpoints kingsync calls.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)
    # keystoneauth's session options include `timeout`: seconds any one call to a
    # region may take. kingsync sets a default, so no call can hang forever.
    ks_loading.register_session_conf_options(conf, GROUP.name)
    conf.set_default("timeout", 30, group=GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts() -> list[tuple[cfg.OptGroup, list[cfg.Opt]]]:
    auth = ks_loading.get_auth_common_conf_options() + ks_loading.get_auth_plugin_conf_options("password")
    session = ks_loading.get_session_conf_options()
    for opt in session:
        if opt.dest == "timeout":
            opt.default = 30  # as register_opts sets it: the sample must show the real default
    return [(GROUP, OPTS + session + auth)]
