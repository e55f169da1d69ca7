"""The kingsync-engine service: RPC server, the leased loops and the periodic scheduler.

Loops (kingsync.engine.loop), each claiming from the database:
    sync       job items of the kinds that make API calls ([engine] workers)
    transfer   job items of the kinds that move data ([engine] transfer_workers)
    quota      projects due for reconciliation ([quota] workers)

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
from kingsync.db import jobs
from kingsync.engine.endpoint import EngineEndpoint
from kingsync.engine.loop import LeasedLoop
from kingsync.engine.transfer import Transfer, TransferWork
from kingsync.engine.worker import SyncWork
from kingsync.quota import reconcile, regional, scheduler
from kingsync.quota.apply import QuotaClient
from kingsync.sync.kinds import KINDS, Registry
from kingsync.sync.task import Connect

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
        kinds: Registry = KINDS,
    ) -> None:
        super().__init__()
        engine = conf.engine
        self.engine_id = engine_id or engine.engine_id or default_engine_id()
        self.stop_timeout = float(engine.lease_seconds if stop_timeout is None else stop_timeout)
        self._transport = transport
        transfers = kinds.transfers()
        self.sync: LeasedLoop[jobs.Item] = LeasedLoop(
            self.engine_id,
            self._sync_work("sync", kinds, connect, engine, engine.per_region_concurrency, db_url, excluding=transfers),
            workers=engine.workers,
            lease_seconds=engine.lease_seconds,
            poll_interval=engine.poll_interval,
        )
        self.transfer: LeasedLoop[Transfer] = LeasedLoop(
            self.engine_id,
            TransferWork(
                "transfer",
                self.engine_id,
                kinds,
                connect,
                **self._sync_options(engine, engine.transfer_workers, db_url),
                only=transfers,
            ),
            workers=engine.transfer_workers,
            lease_seconds=engine.lease_seconds,
            poll_interval=engine.poll_interval,
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
        if engine.job_retention_days:
            all_tasks.append(periodic.purge_jobs(engine.purge_interval, engine.job_retention_days, db_url))
        if quota.manage_all_projects:
            all_tasks.append(_discovery(connect, region_names, quota.discover_interval, db_url))
        self.periodic = periodic.Periodic(all_tasks, engine.periodic_jitter)
        self._rpc_server: messaging.MessageHandlingServer | None = None
        self._serving = threading.Event()  # the RPC server's start has returned
        self._stopped = threading.Event()

    def start(self) -> None:
        super().start()
        self.sync.start()
        self.transfer.start()
        self.quota.start()
        self.periodic.start()
        # The RPC server name is the host: the doorbell is cast to the topic,
        # so any engine answers it, and a host keeps one queue across restarts.
        self._rpc_server = rpc.get_server(
            [EngineEndpoint(self._wake_sync, self.quota.wake)], socket.gethostname(), transport=self._transport
        )
        self._rpc_server.start()
        self._serving.set()
        LOG.info("Engine %s started", self.engine_id)

    def stop(self, graceful: bool = True) -> None:
        if self._stopped.is_set():
            return
        LOG.info("Engine %s stopping; running items get up to %.0f s", self.engine_id, self.stop_timeout)
        if self._serving.is_set():
            assert self._rpc_server is not None
            self._rpc_server.stop()
            self._rpc_server.wait()
        elif self._rpc_server is not None:
            # SIGTERM's handler runs in the main thread, which may be inside
            # start() this very moment: oslo.messaging's stop() would wait for
            # that start to end, and it cannot. The process exits after stop().
            LOG.info("Engine %s stopped while starting: its RPC server never served", self.engine_id)
        self.periodic.stop()
        self.quota.stop(0.0)
        timeout = self.stop_timeout if graceful else 0.0
        # Both loops at once: each waits for its own running items.
        stopping = threading.Thread(target=self.transfer.stop, args=(timeout,))
        stopping.start()
        self.sync.stop(timeout)
        stopping.join()
        super().stop(graceful)
        self._stopped.set()
        LOG.info("Engine %s stopped", self.engine_id)

    def _wake_sync(self) -> None:
        self.sync.wake()
        self.transfer.wake()

    def _sync_work(
        self,
        name: str,
        kinds: Registry,
        connect: Connect,
        engine: Any,
        per_region: int,
        db_url: str | None,
        **which: Any,
    ) -> SyncWork:
        return SyncWork(name, self.engine_id, kinds, connect, **self._sync_options(engine, per_region, db_url), **which)

    @staticmethod
    def _sync_options(engine: Any, per_region: int, db_url: str | None) -> dict[str, Any]:
        return {
            "max_attempts": engine.max_attempts,
            "retry_backoff": engine.retry_backoff,
            "lease_seconds": engine.lease_seconds,
            "per_region": per_region,
            "db_url": db_url,
        }

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
