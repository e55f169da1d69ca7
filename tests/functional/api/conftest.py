"""kingsync-api over real HTTP: the real app (werkzeug's threaded server on a
free port), a migrated SQLite database in tmp_path, the simulated regions,
and oslo.messaging's in-process ``fake://`` transport with an RPC server
that records the engines' doorbell.

Most tests run with [api] auth_strategy = noauth and say who they are with
headers (``Persona``); tests/functional/api/test_keystone_auth.py runs
keystonemiddleware against the simulator's Keystone.
"""

from __future__ import annotations

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.messaging must not pick eventlet)

# isort: on
import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openstack.config
import openstack.connection
import oslo_messaging as messaging
import pytest
import requests
import sqlalchemy as sa
import yaml
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from werkzeug import serving

from kingsync import regions, rpc
from kingsync.api import app
from kingsync.conf import CONF
from kingsync.db import jobs, migration, session
from kingsync.db.models import SyncJob
from kingsync.sim import identity
from kingsync.sim.cloud import SimCloud

SERVICE_CLOUD = "kingsync-service"

Override = Callable[..., None]


@pytest.fixture
def override() -> Iterator[Override]:
    """``override(group, name=value, ...)`` on kingsync's CONF, undone after the test."""
    done: list[tuple[str, str | None]] = []

    def set_(group: str | None, **values: Any) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group=group)
            done.append((name, group))

    yield set_
    for name, group in reversed(done):
        CONF.clear_override(name, group=group)


@pytest.fixture(scope="session")
def service_clouds_yaml(sim_cloud: SimCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clouds.yaml with kingsync's own service user (kingsync, admin in project service)."""
    path = tmp_path_factory.mktemp("service") / "clouds.yaml"
    admin = sim_cloud.clouds_yaml()["clouds"]["kingsync-sim-admin"]
    auth = {**admin["auth"], "username": "kingsync", "password": identity.DEMO_PASSWORDS["kingsync"]}
    auth["project_name"] = "service"
    path.write_text(yaml.safe_dump({"clouds": {SERVICE_CLOUD: {**admin, "auth": auth}}}))
    return path


class Doorbell:
    """The engines' RPC endpoint, recording every ring."""

    target = messaging.Target(version=rpc.EngineClient.VERSION)

    def __init__(self) -> None:
        self.rings: list[tuple[dict[str, Any], str]] = []
        self.rung = threading.Event()
        self.quota_rings: list[tuple[dict[str, Any], str]] = []
        self.quota_rung = threading.Event()

    def sync_items_ready(self, ctxt: dict[str, Any], job_id: str) -> None:
        self.rings.append((ctxt, job_id))
        self.rung.set()

    def quota_reconcile_requested(self, ctxt: dict[str, Any], project_id: str) -> None:
        self.quota_rings.append((ctxt, project_id))
        self.quota_rung.set()

    def wait(self, timeout: float = 5.0) -> tuple[dict[str, Any], str]:
        assert self.rung.wait(timeout), "the engines were not rung"
        return self.rings[-1]

    def wait_quota(self, timeout: float = 5.0) -> tuple[dict[str, Any], str]:
        """The last quota ring: (context, project id)."""
        assert self.quota_rung.wait(timeout), "the engines were not rung for a quota reconciliation"
        return self.quota_rings[-1]


@pytest.fixture
def transport() -> Iterator[messaging.Transport]:
    """An in-process transport of this test's own: the fake driver's queues are per transport."""
    transport = messaging.get_rpc_transport(CONF, url="fake:///")
    yield transport
    transport.cleanup()


@pytest.fixture
def doorbell(transport: messaging.Transport) -> Iterator[Doorbell]:
    bell = Doorbell()
    server = rpc.get_server([bell], "test-engine", transport)
    server.start()
    yield bell
    server.stop()
    # wait() takes up to a second (the fake driver's poll); nothing depends on it.
    threading.Thread(target=server.wait, daemon=True).start()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/kingsync.sqlite"
    migration.upgrade(url)
    return url


@pytest.fixture
def configured(override: Override, db_url: str, service_clouds_yaml: Path) -> Iterator[None]:
    """CONF for a noauth API on the test database and the simulated regions."""
    CONF([], project="kingsync", default_config_files=[])  # no config file: defaults and overrides only
    override("api", auth_strategy="noauth")
    override("database", connection=db_url)
    override("regions", cloud=SERVICE_CLOUD, clouds_yaml=str(service_clouds_yaml))
    regions.reset()
    yield
    regions.reset()


def serve(wsgi_app: Any) -> tuple[str, Callable[[], None]]:
    """Serve ``wsgi_app`` on a free loopback port in a thread; returns its URL and a stopper."""
    server = serving.make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return "http://127.0.0.1:%d" % server.server_port, stop


@pytest.fixture
def api_url(configured: None, transport: messaging.Transport, doorbell: Doorbell) -> Iterator[str]:
    url, stop = serve(app.create_app(CONF, transport=transport))
    yield url
    stop()


@dataclasses.dataclass(frozen=True)
class Persona:
    """Someone calling the API in noauth mode: the headers Keystone would vouch for."""

    user_id: str
    project_id: str
    roles: tuple[str, ...] = ("member", "reader")

    @property
    def headers(self) -> dict[str, str]:
        return {"X-User-Id": self.user_id, "X-Project-Id": self.project_id, "X-Roles": ",".join(self.roles)}


class Api:
    """requests against the API as one persona; paths are relative to /v1.0/{project}."""

    def __init__(self, url: str, persona: Persona) -> None:
        self.url = url
        self.persona = persona

    def sync_url(self, suffix: str = "", project_id: str | None = None) -> str:
        return "%s/v1.0/%s/os-sync%s" % (self.url, project_id or self.persona.project_id, suffix)

    def request(self, method: str, suffix: str = "", project_id: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {**self.persona.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.sync_url(suffix, project_id), headers=headers, timeout=30, **kwargs)

    def create(self, resource_set: dict[str, Any], **kwargs: Any) -> requests.Response:
        return self.request("POST", "/", json={"resource_set": resource_set}, **kwargs)

    def call(self, method: str, path: str, project_id: str | None = None, **kwargs: Any) -> requests.Response:
        """Any call; ``path`` is relative to /v1.0/{project_id} (the persona's project by default)."""
        url = "%s/v1.0/%s%s" % (self.url, project_id or self.persona.project_id, path)
        headers = {**self.persona.headers, **kwargs.pop("headers", {})}
        return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def sim_ids(cloud: SimCloud, user: str) -> tuple[str, str]:
    """(user id, project id) of a simulator demo user in their own project."""
    found = cloud.identity.user_by_name(user)
    assert found is not None
    project_id = cloud.identity.project_id_by_name(user if user != "kingsync" else "service")
    assert project_id is not None
    return str(found["id"]), project_id


@pytest.fixture
def demo(sim_cloud: SimCloud) -> Persona:
    return Persona(*sim_ids(sim_cloud, "demo"))


@pytest.fixture
def demo2(sim_cloud: SimCloud) -> Persona:
    return Persona(*sim_ids(sim_cloud, "demo2"))


@pytest.fixture
def admin(sim_cloud: SimCloud) -> Persona:
    """The simulator's admin, in project admin, with the roles Keystone's implied roles give."""
    return Persona(*sim_ids(sim_cloud, "admin"), roles=("admin", "member", "reader"))


@pytest.fixture
def api(api_url: str, demo: Persona) -> Api:
    return Api(api_url, demo)


@pytest.fixture
def member_compute(sim_cloud: SimCloud, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """The compute proxy of demo (a member of project demo) in a region."""
    path = tmp_path / "clouds.yaml"
    sim_cloud.write_clouds_yaml(str(path))
    config = openstack.config.OpenStackConfig(config_files=[str(path)], load_envvars=False)
    made: list[openstack.connection.Connection] = []

    def compute(region: str = "RegionOne") -> Any:
        conn = openstack.connection.Connection(config=config.get_one(cloud="kingsync-sim-member", region_name=region))
        made.append(conn)
        return conn.compute

    yield compute
    for conn in made:
        conn.close()


@pytest.fixture
def keypair(member_compute: Callable[..., Any]) -> str:
    """A keypair of demo's in RegionOne, with a name no other test uses."""
    name = "kp-" + uuid.uuid4().hex[:12]
    member_compute("RegionOne").create_keypair(name=name)
    return name


def all_jobs(db_url: str) -> list[jobs.Job]:
    """Every job in the database, with its items, whoever owns it."""
    with session.transaction(db_url) as db:
        rows = db.scalars(sa.select(SyncJob)).all()
        return [jobs.get_job(db, row.id, jobs.Owner(row.project_id, row.user_id)) for row in rows]


def finish_job(db_url: str, job_id: str, status: str = "SUCCESS", result: str = "created") -> None:
    """Play the engine: claim every item of the job and end it with ``status``."""
    with session.transaction(db_url) as db:
        for item in jobs.claim_items(db, "test-engine", limit=1000, lease_seconds=60):
            if item.job_id == job_id:
                jobs.finish_item(db, item.id, "test-engine", status, result, target_id="id-" + item.target_region)


@pytest.fixture
def keystone_api_url(
    configured: None, override: Override, sim_cloud: SimCloud, transport: messaging.Transport, doorbell: Doorbell
) -> Iterator[str]:
    """The API with keystonemiddleware auth_token validating tokens at the simulator's Keystone."""
    group = "keystone_authtoken"
    # auth_token registers its auth plugin's options on CONF when it starts;
    # register them first so they can be set, and take them away afterwards:
    # some are required, and would fail the next test's CONF() without a value.
    plugin_opts = ks_loading.get_auth_plugin_conf_options("password")
    ks_loading.register_auth_conf_options(CONF, group)
    CONF.register_opts(plugin_opts, group=group)
    values = {
        "auth_type": "password",
        "auth_url": sim_cloud.auth_url,
        "username": "kingsync",
        "password": identity.DEMO_PASSWORDS["kingsync"],
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "www_authenticate_uri": sim_cloud.auth_url,
    }
    for name, value in values.items():
        CONF.set_override(name, value, group=group)
    override("api", auth_strategy="keystone")
    url, stop = serve(app.create_app(CONF, transport=transport))
    yield url
    stop()
    for name in values:
        CONF.clear_override(name, group=group)
    CONF.reset()  # options can only be unregistered from an unparsed CONF
    CONF.unregister_opts(plugin_opts, group=group)


@dataclasses.dataclass(frozen=True)
class Token:
    value: str
    user_id: str
    project_id: str


def issue_token(cloud: SimCloud, user: str, project: str | None = None) -> Token:
    """A real token from the simulator's Keystone, scoped to the user's project."""
    auth = v3.Password(
        auth_url=cloud.auth_url,
        username=user,
        password=identity.DEMO_PASSWORDS[user],
        project_name=project or user,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    sess = ks_session.Session(auth=auth)
    return Token(str(sess.get_token()), str(sess.get_user_id()), str(sess.get_project_id()))
