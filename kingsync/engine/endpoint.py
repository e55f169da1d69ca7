"""The engine's RPC endpoint: the doorbell. See kingsync.rpc.EngineClient for the API history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
from oslo_log import log as logging

from kingsync import rpc

LOG = logging.getLogger(__name__)


class EngineEndpoint:
    target = messaging.Target(version=rpc.EngineClient.VERSION)

    def __init__(self, wake: Callable[[], None], wake_quota: Callable[[], None] | None = None) -> None:
        self._wake = wake
        self._wake_quota = wake_quota

    def sync_items_ready(self, ctxt: dict[str, Any], job_id: str) -> None:
        """New items wait in the database. The message carries nothing else:
        the database is the truth, so a lost message only delays the work."""
        LOG.debug("Doorbell: job %s (request %s)", job_id, ctxt.get("request_id"))
        self._wake()

    def quota_reconcile_requested(self, ctxt: dict[str, Any], project_id: str) -> None:
        """A project was marked due in the database (an admin's sync, a new limit)."""
        LOG.debug("Doorbell: quota reconcile of %s (request %s)", project_id, ctxt.get("request_id"))
        if self._wake_quota is not None:
            self._wake_quota()
