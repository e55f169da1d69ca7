"""What a kind's source check raises, for the API to answer with, and what
its I/O raises to be tried again later.

The kinds know nothing of HTTP; kingsync.api.handlers.sync turns these into
404, 409 and 503 answers with the message as it is.
"""

from __future__ import annotations

import requests
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

from kingsync.regions import rest

# What a source check may meet on its way to the region's answer, or as an
# error answer: the region could not be asked (the API answers 503).
UNREACHABLE: tuple[type[Exception], ...] = (
    rest.ServiceError,
    ks_exceptions.ClientException,
    sdk_exceptions.SDKException,
    requests.RequestException,
)


class SourceError(Exception):
    """A resource named in a sync request cannot be synced from its source region."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SourceNotFound(SourceError):
    """No such resource in the source region, for the caller."""


class SourceAmbiguous(SourceError):
    """A name that several resources of the caller's share in the source region."""


class SourceRefused(SourceError):
    """A resource the caller may see but not sync (another project's public image)."""


class SourceNotReady(SourceError):
    """A resource that cannot be copied in its present state (an image that is not active)."""


class SourceUnavailable(SourceError):
    """The source region could not be asked; the request may be tried again later."""


class RetryLater(Exception):
    """The target refused for now for a reason that time may cure; the item is
    tried again with backoff, and fails with this message once its attempts
    are spent.

    ``rebalance``: the project whose global quota should be reconciled now,
    when what is missing is room in the target region's quota (a copy of a
    security group counts once globally, so the next round gives that room).
    """

    def __init__(self, message: str, rebalance: str | None = None) -> None:
        super().__init__(message)
        self.rebalance = rebalance
