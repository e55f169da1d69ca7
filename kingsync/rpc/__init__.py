"""RPC between kingsync-api and kingsync-engine (oslo.messaging, threading executor).

RPC is only the doorbell: every job is in the database before a message is
cast, so a lost message delays work by at most [engine] poll_interval and
loses nothing. The embedded default uses ``fake://``, oslo.messaging's
in-process driver; production uses RabbitMQ (``[DEFAULT] transport_url``).
"""

from __future__ import annotations

import threading
from typing import Any

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

import oslo_messaging as messaging
import oslo_messaging.opts
from oslo_config import cfg

from kingsync.context import RequestContext

# isort: on

TOPIC = "kingsync-engine"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """oslo.messaging's [DEFAULT] options (transport_url, ...), readable before a transport exists."""
    for group, opts in messaging.opts.list_opts():
        if group is None:
            conf.register_opts(opts)


_transports: dict[int, messaging.RPCTransport] = {}
_lock = threading.Lock()


def get_transport(conf: cfg.ConfigOpts | None = None) -> messaging.RPCTransport:
    """One transport per configuration object and process (``fake://`` only
    delivers between users of the same transport object)."""
    conf = conf or cfg.CONF
    with _lock:
        if id(conf) not in _transports:
            _transports[id(conf)] = messaging.get_rpc_transport(conf)
        return _transports[id(conf)]


class EngineClient:
    """The engine's RPC API, as the API service calls it.

    Version history:

    1.0 - sync_items_ready: new sync items wait in the database (cast).
    1.1 - quota_reconcile_requested: a project is due for reconciliation now (cast).
    """

    VERSION = "1.1"

    def __init__(self, transport: messaging.RPCTransport | None = None, retry: int | None = None) -> None:
        # retry: reconnection attempts per cast (None: forever); the API bounds it
        # so that a request never hangs on a broker that is down.
        target = messaging.Target(topic=TOPIC, version=self.VERSION)
        self._client = messaging.get_rpc_client(transport or get_transport(), target, retry=retry)

    def sync_items_ready(self, ctxt: RequestContext, job_id: str) -> None:
        self._client.cast(ctxt.to_rpc(), "sync_items_ready", job_id=job_id)

    def quota_reconcile_requested(self, ctxt: RequestContext, project_id: str) -> None:
        """The project's row says it is due now; this only saves the engines their next poll."""
        self._client.cast(ctxt.to_rpc(), "quota_reconcile_requested", project_id=project_id)


def engine_target(server: str) -> messaging.Target:
    return messaging.Target(topic=TOPIC, server=server, version=EngineClient.VERSION)


def get_server(
    endpoints: list[Any], server: str, transport: messaging.RPCTransport | None = None
) -> messaging.MessageHandlingServer:
    """The engine's RPC server, on oslo.messaging's threading executor (no eventlet)."""
    return messaging.get_rpc_server(
        transport or get_transport(), engine_target(server), endpoints, executor="threading"
    )
