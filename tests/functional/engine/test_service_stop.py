"""Stopping the engine service in the middle of its start, as SIGTERM does.

oslo.service runs the SIGTERM handler in the main thread, which may be inside
EngineService.start() at that moment; the handler calls stop() and then ends
the process. stop() must not wait for anything start() was doing.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging as messaging
import pytest

from kingsync.conf import CONF
from kingsync.engine import service as engine_service
from tests.functional.engine.conftest import Env


class StartInterrupted:
    """An RPC server whose start is interrupted by a SIGTERM: the handler calls the
    service's stop() from within start(), on the same thread."""

    def __init__(self) -> None:
        self.engine: engine_service.EngineService | None = None
        self.stopped_in = 0.0

    def start(self) -> None:
        assert self.engine is not None
        began = time.monotonic()
        self.engine.stop()
        self.stopped_in = time.monotonic() - began

    def stop(self) -> None:
        raise AssertionError("oslo.messaging's stop() would wait for a start that cannot end")

    def wait(self) -> None:
        raise AssertionError("nothing to wait for")


def test_sigterm_while_starting_stops_at_once(
    env: Env, transport: messaging.RPCTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = StartInterrupted()
    monkeypatch.setattr(engine_service.rpc, "get_server", lambda *args, **kwargs: server)
    engine = engine_service.EngineService(CONF, engine_id="starting", transport=transport, stop_timeout=5)
    server.engine = engine

    finished = threading.Event()

    def start() -> Any:
        engine.start()
        finished.set()

    threading.Thread(target=start, daemon=True).start()
    assert finished.wait(20), "start() never returned: stop() waited on it"
    assert server.stopped_in < 10
    assert engine._stopped.is_set()  # stop() ran to its end
