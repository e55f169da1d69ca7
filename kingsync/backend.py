"""Select oslo.service's threading backend before anything imports its default.

oslo.service still defaults to eventlet; kingsync uses none (threads,
futurist pools and oslo.messaging's threading executor instead). Every
entry point imports this module first.
"""

from __future__ import annotations

from oslo_service import backend as _backend


def select_threading() -> None:
    """Idempotent; raises BackendAlreadySelected if something chose eventlet first."""
    _backend.init_backend(_backend.BackendType.THREADING)


select_threading()
