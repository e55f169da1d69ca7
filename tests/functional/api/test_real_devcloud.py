"""The API against the real devcloud (tools/devcloud/devcloud up): real
keystonemiddleware validating real Keystone tokens, and the source check
asking real nova, with kingsync's service user, for the caller's keypair.

Skipped without a running devcloud, except under CI=true, where it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import oslo_messaging as messaging
import pytest
import requests
import yaml
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from kingsync import regions
from kingsync.api import app
from kingsync.conf import CONF
from tests.conformance.conftest import DEVCLOUD_HOME, _listening
from tests.conftest import IN_CI
from tests.functional.api.conftest import Override, Token, all_jobs, serve

pytestmark = pytest.mark.devcloud

CLOUDS_YAML = DEVCLOUD_HOME / "clouds.yaml"
SERVICE = {"username": "kingsync", "password": "service-secret", "project_name": "service"}


@pytest.fixture(scope="module")
def devcloud() -> dict[str, Any]:
    """The devcloud's admin cloud entry, or a skip (a failure under CI)."""
    reason = None
    if not CLOUDS_YAML.exists():
        reason = "devcloud is not set up (%s missing): run tools/devcloud/devcloud up" % CLOUDS_YAML
    else:
        admin: dict[str, Any] = yaml.safe_load(CLOUDS_YAML.read_text())["clouds"]["kingsync-devcloud-admin"]
        if not _listening(admin["auth"]["auth_url"]):
            reason = "devcloud keystone does not answer: run tools/devcloud/devcloud up"
    if reason:
        if IN_CI:
            pytest.fail(reason + " (CI=true: the real run is required)")
        pytest.skip(reason)
    return admin


def real_token(devcloud: dict[str, Any], user: str, password: str, project: str) -> Token:
    auth = v3.Password(
        auth_url=devcloud["auth"]["auth_url"],
        username=user,
        password=password,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    sess = ks_session.Session(auth=auth)
    return Token(str(sess.get_token()), str(sess.get_user_id()), str(sess.get_project_id()))


@pytest.fixture
def real_api_url(
    devcloud: dict[str, Any], override: Override, db_url: str, transport: messaging.Transport, tmp_path: Path
) -> Iterator[str]:
    service_yaml = tmp_path / "service-clouds.yaml"
    cloud = {**devcloud, "auth": {**devcloud["auth"], **SERVICE}}
    service_yaml.write_text(yaml.safe_dump({"clouds": {"kingsync-service": cloud}}))
    CONF([], project="kingsync", default_config_files=[])
    group = "keystone_authtoken"
    plugin_opts = ks_loading.get_auth_plugin_conf_options("password")
    ks_loading.register_auth_conf_options(CONF, group)
    CONF.register_opts(plugin_opts, group=group)
    values = {
        "auth_type": "password",
        "auth_url": devcloud["auth"]["auth_url"],
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "www_authenticate_uri": devcloud["auth"]["auth_url"],
        **SERVICE,
    }
    for name, value in values.items():
        CONF.set_override(name, value, group=group)
    override("api", auth_strategy="keystone")
    override("database", connection=db_url)
    override("regions", cloud="kingsync-service", clouds_yaml=str(service_yaml))
    regions.reset()
    url, stop = serve(app.create_app(CONF, transport=transport))
    yield url
    stop()
    regions.reset()
    for name in values:
        CONF.clear_override(name, group=group)
    CONF.reset()
    CONF.unregister_opts(plugin_opts, group=group)


@pytest.fixture
def real_keypair() -> Iterator[str]:
    """A keypair of demo's in the devcloud's RegionOne, deleted afterwards."""
    config = openstack.config.OpenStackConfig(config_files=[str(CLOUDS_YAML)], load_envvars=False)
    conn = openstack.connection.Connection(
        config=config.get_one(cloud="kingsync-devcloud-member", region_name="RegionOne")
    )
    name = "ks-api-" + uuid.uuid4().hex[:10]
    conn.compute.create_keypair(name=name)
    yield name
    conn.compute.delete_keypair(name, ignore_missing=True)
    conn.close()


def body(keypair: str) -> dict[str, Any]:
    return {
        "resource_set": {
            "resource_type": "keypair",
            "resources": [keypair],
            "source": "RegionOne",
            "target": ["RegionTwo", "RegionThree"],
        }
    }


def test_real_keystone_token_creates_a_job_for_a_real_keypair(
    real_api_url: str, devcloud: dict[str, Any], real_keypair: str, db_url: str
) -> None:
    token = real_token(devcloud, "demo", "demo-secret", "demo")
    resp = requests.post(
        real_api_url + "/v1.0/%s/os-sync" % token.project_id,
        json=body(real_keypair),
        headers={"X-Auth-Token": token.value},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    (job,) = all_jobs(db_url)
    assert (job.user_id, len(job.items)) == (token.user_id, 2)


def test_real_nova_missing_keypair_is_404_and_no_job(real_api_url: str, devcloud: dict[str, Any], db_url: str) -> None:
    token = real_token(devcloud, "demo", "demo-secret", "demo")
    resp = requests.post(
        real_api_url + "/v1.0/%s/os-sync" % token.project_id,
        json=body("ks-api-missing-" + uuid.uuid4().hex[:6]),
        headers={"X-Auth-Token": token.value},
        timeout=60,
    )
    assert resp.status_code == 404, resp.text
    assert all_jobs(db_url) == []


def test_real_member_of_another_project_cannot_see_the_job(
    real_api_url: str, devcloud: dict[str, Any], real_keypair: str
) -> None:
    demo = real_token(devcloud, "demo", "demo-secret", "demo")
    demo2 = real_token(devcloud, "demo2", "demo2-secret", "demo2")
    job_id = requests.post(
        real_api_url + "/v1.0/%s/os-sync" % demo.project_id,
        json=body(real_keypair),
        headers={"X-Auth-Token": demo.value},
        timeout=60,
    ).json()["job_status"]["id"]
    other = real_api_url + "/v1.0/%s/os-sync/" % demo2.project_id
    assert requests.get(other + job_id, headers={"X-Auth-Token": demo2.value}, timeout=30).status_code == 404
    assert requests.get(other, headers={"X-Auth-Token": demo2.value}, timeout=30).json() == {"job_set": []}
