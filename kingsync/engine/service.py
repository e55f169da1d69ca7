"""The kingsync-engine service: RPC server, dispatcher and periodic scheduler.

Stopping is graceful: the doorbell is unhooked first, nothing more is
claimed, and running items get up to ``stop_timeout`` seconds (default
[engine] lease_seconds, after which another engine could take them anyway)
to end. Nothing is released: an item still running keeps its lease, which
expires, and another engine takes the item over.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import service

from kingsync import regions, rpc
from kingsync.engine import periodic
from kingsync.engine.dispatcher import Dispatcher
from kingsync.engine.endpoint import EngineEndpoint
from kingsync.engine.task import Connect
from kingsync.engine.worker import Worker
from kingsync.quota import reconcile, regional, scheduler
from kingsync.quota.apply import QuotaClient

# isort: on

LOG = logging.getLogger(__name__)


def default_engine_id() -> str:
    """Unique per process, readable in the database: host name and pid."""
    return "%s-%d" % (socket.gethostname(), os.getpid())


class EngineService(service.Service):  # type: ignore[misc]
    def __init__(
        self,
        conf: cfg.ConfigOpts,
        engine_id: str | None = None,
        transport: messaging.RPCTransport | None = None,
        connect: Connect = regions.connection,
        db_url: str | None = None,
        stop_timeout: float | None = None,
        tasks: Sequence[periodic.PeriodicTask] = (),
        quota_client: QuotaClient | None = None,
        region_names: Callable[[], list[str]] = regions.names,
    ) -> None:
        super().__init__()
        engine = conf.engine
        self.engine_id = engine_id or engine.engine_id or default_engine_id()
        self.stop_timeout = float(engine.lease_seconds if stop_timeout is None else stop_timeout)
        self._transport = transport
        worker = Worker(self.engine_id, connect, engine.max_attempts, engine.retry_backoff, db_url)
        self.dispatcher = Dispatcher(
            self.engine_id,
            worker.run,
            workers=engine.workers,
            per_region=engine.per_region_concurrency,
            lease_seconds=engine.lease_seconds,
            poll_interval=engine.poll_interval,
            db_url=db_url,
        )
        quota = conf.quota
        reconciler = reconcile.Reconciler(
            quota_client or regional.OpenStackQuotas(connect),
            region_names,
            reconcile.Settings.from_conf(quota),
            per_region=quota.per_region_concurrency,
            db_url=db_url,
            lease_check=engine.lease_seconds / 3,
        )
        self.quota = scheduler.QuotaLoop(
            self.engine_id,
            reconciler,
            workers=quota.workers,
            batch_size=quota.batch_size,
            lease_seconds=engine.lease_seconds,
            poll_interval=quota.poll_interval,
            db_url=db_url,
        )
        all_tasks = [periodic.finalize_jobs(engine.finalize_interval, db_url), *tasks]
        if quota.manage_all_projects:
            all_tasks.append(_discovery(connect, region_names, quota.discover_interval, db_url))
        self.periodic = periodic.Periodic(all_tasks, engine.periodic_jitter)
        self._rpc_server: messaging.MessageHandlingServer | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        super().start()
        self.dispatcher.start()
        self.quota.start()
        self.periodic.start()
        # The RPC server name is the host: the doorbell is cast to the topic,
        # so any engine answers it, and a host keeps one queue across restarts.
        self._rpc_server = rpc.get_server(
            [EngineEndpoint(self.dispatcher.wake, self.quota.wake)], socket.gethostname(), transport=self._transport
        )
        self._rpc_server.start()
        LOG.info("Engine %s started", self.engine_id)

    def stop(self, graceful: bool = True) -> None:
        if self._stopped.is_set():
            return
        LOG.info("Engine %s stopping; running items get up to %.0f s", self.engine_id, self.stop_timeout)
        if self._rpc_server is not None:
            self._rpc_server.stop()
            self._rpc_server.wait()
        self.periodic.stop()
        self.quota.stop(0.0)
        self.dispatcher.stop(self.stop_timeout if graceful else 0.0)
        super().stop(graceful)
        self._stopped.set()
        LOG.info("Engine %s stopped", self.engine_id)

    def wait(self) -> None:
        # A timed wait, so signal handlers in the main thread run promptly.
        while not self._stopped.wait(1.0):
            pass

    def reset(self) -> None:
        # SIGHUP: kingsync's options are read when used, nothing to rebuild.
        pass


def _discovery(
    connect: Connect, region_names: Callable[[], list[str]], interval: float, db_url: str | None
) -> periodic.PeriodicTask:
    """[quota] manage_all_projects: Keystone's projects, read through the first region's connection
    (every region shares the one Keystone)."""

    def list_projects() -> list[str]:
        conn = connect(region_names()[0])
        identity: Any = conn.identity  # v3 (kingsync only speaks Keystone v3)
        return [project.id for project in identity.projects()]

    return periodic.PeriodicTask(
        "discover_projects", lambda: scheduler.discover_projects(list_projects, db_url), interval
    )
