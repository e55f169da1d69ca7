"""kingsync's own credentials: one keystoneauth Session for every region.

Either a keystoneauth plugin configured in [regions] (auth_type, auth_url,
username, ...) or a cloud of a clouds.yaml file ([regions] cloud). One
Session means one token, shared by the Connections of all regions (the
regions share one Keystone). [regions] timeout bounds every call made
through it, so no call to a region can hang forever.
"""

from __future__ import annotations

import openstack.config
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

GROUP = "regions"


class CredentialsMissing(Exception):
    """Neither [regions] cloud nor [regions] auth_type is set."""


def load_session(conf: cfg.ConfigOpts) -> ks_session.Session:
    if conf.regions.cloud:
        return _from_clouds_yaml(conf)
    auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    if auth is None:
        raise CredentialsMissing(
            "kingsync has no service credentials: set [regions] auth_type (with auth_url, username, "
            "password, project_name, ...) or [regions] cloud (a cloud in a clouds.yaml file)"
        )
    session: ks_session.Session = ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)
    return session


def _from_clouds_yaml(conf: cfg.ConfigOpts) -> ks_session.Session:
    files = [conf.regions.clouds_yaml] if conf.regions.clouds_yaml else None
    # No OS_* environment variables: the service's config file alone decides.
    config = openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
    region = config.get_one(cloud=conf.regions.cloud, api_timeout=conf.regions.timeout)
    session: ks_session.Session = region.get_session()
    return session
