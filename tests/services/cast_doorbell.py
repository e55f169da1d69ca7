"""Ring the engine's doorbell from a process of its own, as kingsync-api does.

    python -m tests.services.cast_doorbell CONFIG_FILE TOPIC JOB_ID USER_TOKEN

Used by test_rpc_rabbitmq.py. The request context carries USER_TOKEN, as the
API's does; the message must not.
"""

from __future__ import annotations

import sys

# isort: off
from kingsync import backend  # noqa: F401  (first, as in every entry point)

from oslo_config import cfg

from kingsync import rpc
from kingsync.context import RequestContext

# isort: on


def main(config_file: str, topic: str, job_id: str, token: str) -> None:
    cfg.CONF(["--config-file", config_file], project="kingsync")
    # RabbitMQ names a topic's queue after the topic alone (not the exchange):
    # a topic of the test run's own keeps parallel runs and real engines apart.
    rpc.TOPIC = topic
    context = RequestContext(user_id="user-1", project_id="project-1", auth_token=token)
    rpc.EngineClient(retry=3).sync_items_ready(context, job_id)
    rpc.get_transport().cleanup()


if __name__ == "__main__":
    main(*sys.argv[1:5])
