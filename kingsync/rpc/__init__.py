"""RPC between kingsync-api and kingsync-engine (oslo.messaging, threading executor).

RPC is only the doorbell: every job is in the database before a message is
cast, so a lost message delays work by at most [engine] poll_interval and
loses nothing. The embedded default uses ``fake://``, oslo.messaging's
in-process driver; production uses RabbitMQ (``[DEFAULT] transport_url``).
"""

from __future__ import annotations

import functools
from typing import Any

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.service's threading backend, not eventlet)

import oslo_messaging as messaging
from oslo_config import cfg

from kingsync.context import RequestContext

# isort: on

TOPIC = "kingsync-engine"


@functools.cache
def get_transport(conf: cfg.ConfigOpts | None = None) -> messaging.RPCTransport:
    return messaging.get_rpc_transport(conf or cfg.CONF)


class EngineClient:
    """The engine's RPC API, as the API service calls it.

    Version history:

    1.0 - sync_items_ready: new sync items wait in the database (cast).
    """

    VERSION = "1.0"

    def __init__(self, transport: messaging.RPCTransport | None = None) -> None:
        target = messaging.Target(topic=TOPIC, version=self.VERSION)
        self._client = messaging.get_rpc_client(transport or get_transport(), target)

    def sync_items_ready(self, ctxt: RequestContext, job_id: str) -> None:
        self._client.cast(ctxt.to_rpc(), "sync_items_ready", job_id=job_id)


def engine_target(server: str) -> messaging.Target:
    return messaging.Target(topic=TOPIC, server=server, version=EngineClient.VERSION)


def get_server(
    endpoints: list[Any], server: str, transport: messaging.RPCTransport | None = None
) -> messaging.MessageHandlingServer:
    """The engine's RPC server, on oslo.messaging's threading executor (no eventlet)."""
    return messaging.get_rpc_server(
        transport or get_transport(), engine_target(server), endpoints, executor="threading"
    )
