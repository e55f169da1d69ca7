"""Select oslo.service's threading backend before anything imports its default.

oslo.service still defaults to eventlet; kingsync uses none (threads,
futurist pools and oslo.messaging's threading executor instead). The
package's __init__ imports this module, so it comes first whatever is imported.
"""

from __future__ import annotations

import warnings

from oslo_service import backend as _backend

# oslo.service depends on eventlet, so it is installed, and futurist imports it
# when present (only to recognise green threads; nothing is monkey-patched).
# Its import-time deprecation banner says nothing about kingsync: keep it out
# of every command's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def select_threading() -> None:
    """Idempotent; raises BackendAlreadySelected if something chose eventlet first."""
    _backend.init_backend(_backend.BackendType.THREADING)


select_threading()
