"""The doorbell over RabbitMQ: kingsync-api's cast reaches an engine's RPC
server in another process, and carries ids, never the user's token."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# isort: off
from kingsync import backend  # noqa: F401  (first: oslo.messaging would pick eventlet otherwise)

import kombu
import oslo_messaging as messaging
from oslo_messaging._tracing import client as tracing
import pytest
from oslo_config import cfg

from kingsync import rpc
from tests.services.fixtures import RUN_ID, amqp_url

# isort: on

CHECKOUT = Path(__file__).resolve().parents[2]


class Doorbell:
    """The engine's endpoint, reduced to remembering what rang."""

    # As EngineEndpoint: a server refuses casts of a newer version than its endpoints say.
    target = messaging.Target(version=rpc.EngineClient.VERSION)

    def __init__(self) -> None:
        self.rings: queue.Queue[tuple[dict[str, Any], str]] = queue.Queue()

    def sync_items_ready(self, ctxt: dict[str, Any], job_id: str) -> None:
        self.rings.put((ctxt, job_id))


@pytest.fixture
def names(tmp_path: Path, rabbit_url: str) -> Iterator[tuple[Path, str, str]]:
    """A config file naming this test's own exchange, and its own topic."""
    exchange, topic = f"kingsync_test_{RUN_ID}", f"kingsync-engine-test-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "kingsync.conf"
    config.write_text(f"[DEFAULT]\ntransport_url = {rabbit_url}\ncontrol_exchange = {exchange}\n")
    yield config, exchange, topic
    # oslo.messaging leaves its exchanges and topic queues behind; take them away.
    with kombu.Connection(amqp_url(rabbit_url)) as connection:
        channel = connection.default_channel
        for name in (topic, f"{topic}.engine-1"):
            channel.queue_delete(queue=name)
        for name in (exchange, f"{topic}_fanout"):
            channel.exchange_delete(exchange=name)


@pytest.fixture
def engine(names: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Doorbell]:
    """An RPC server as kingsync-engine starts it, on its own transport."""
    config, _exchange, topic = names
    monkeypatch.setattr(rpc, "TOPIC", topic)
    conf = cfg.ConfigOpts()
    # oslo.messaging (18.3) registers its tracing options on cfg.CONF alone; a
    # server on any other ConfigOpts acks each message, fails on them, drops it.
    conf.register_opts(tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf(["--config-file", str(config)], project="kingsync")
    transport = messaging.get_rpc_transport(conf)
    doorbell = Doorbell()
    server = rpc.get_server([doorbell], "engine-1", transport=transport)
    server.start()
    yield doorbell
    server.stop()
    server.wait()
    transport.cleanup()


def _cast_from_another_process(config: Path, topic: str, job_id: str, token: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tests.services.cast_doorbell", str(config), topic, job_id, token],
        cwd=CHECKOUT,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT)},
        check=True,
        timeout=60,
    )


def test_cast_from_another_process_reaches_the_engine(engine: Doorbell, names: tuple[Path, str, str]) -> None:
    config, _exchange, topic = names
    _cast_from_another_process(config, topic, "job-42", "gAAAAAB-user-token")
    ctxt, job_id = engine.rings.get(timeout=30)
    assert job_id == "job-42"
    assert (ctxt["user_id"], ctxt["project_id"]) == ("user-1", "project-1")


def test_the_context_the_engine_receives_has_no_token(engine: Doorbell, names: tuple[Path, str, str]) -> None:
    config, _exchange, topic = names
    _cast_from_another_process(config, topic, "job-43", "gAAAAAB-user-token")
    ctxt, _job_id = engine.rings.get(timeout=30)
    # client_timeout is oslo.messaging's own (None for a cast).
    assert set(ctxt) - {"client_timeout"} == {"request_id", "user_id", "project_id"}
    assert "gAAAAAB-user-token" not in repr(ctxt)


def test_the_message_on_the_wire_has_no_token(engine: Doorbell, names: tuple[Path, str, str], rabbit_url: str) -> None:
    config, exchange, topic = names
    token = f"gAAAAAB-{uuid.uuid4().hex}"
    # A queue of the test's own on the engine's exchange gets a copy of every
    # cast to the topic: the bytes that really crossed the broker.
    with kombu.Connection(amqp_url(rabbit_url)) as connection:
        channel = connection.default_channel
        tap = f"{topic}.tap"
        channel.queue_declare(queue=tap, exclusive=True, auto_delete=True)
        channel.queue_bind(queue=tap, exchange=exchange, routing_key=topic)
        _cast_from_another_process(config, topic, "job-44", token)
        engine.rings.get(timeout=30)
        for _ in range(200):  # the copy may trail the engine's by a moment
            message = channel.basic_get(queue=tap, no_ack=True)
            if message is not None:
                break
            time.sleep(0.05)
    assert message is not None, "the cast never reached the broker"
    body = message.body
    raw = body if isinstance(body, bytes) else body.encode()
    assert b"job-44" in raw
    assert token.encode() not in raw
