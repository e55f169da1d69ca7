"""Transient or permanent: what a failed call to a region means for its item.

Transient failures (timeouts, refused connections, 5xx, 429) are retried with
exponential backoff up to [engine] max_attempts; anything else (a 4xx, a bug)
fails the item at once, since trying again would give the same answer.
"""

from __future__ import annotations

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from requests import exceptions as requests_exceptions

from kingsync.regions import rest
from kingsync.sync import errors as sync_errors

# Longest wait between two attempts, whatever the attempt number: a region
# that has been down for a while is still tried every ten minutes.
MAX_BACKOFF = 600.0

# 408 Request Timeout and 429 Too Many Requests are the 4xx that may pass.
TRANSIENT_4XX = frozenset({408, 429})

# Kept in the item: enough to act on, short enough for a table cell.
MAX_ERROR_TEXT = 1000


def backoff(attempt: int, base: float, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): base, 2 base, 4 base, ..."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    # Bound the exponent so a huge attempt number cannot overflow the float.
    return float(min(cap, base * 2 ** min(attempt - 1, 64)))


def is_transient_status(status: int) -> bool:
    return status >= 500 or status in TRANSIENT_4XX


def is_transient(error: BaseException) -> bool:
    # Order matters: openstacksdk's HttpException is also a requests error
    # and an OSError, and keystoneauth's SSLError is a ConnectionError.
    if isinstance(error, sync_errors.RetryLater):
        return True
    status = _status(error)
    if status is not None:
        return is_transient_status(status)
    if isinstance(error, ks_exceptions.SSLError | requests_exceptions.SSLError):
        return False  # a certificate problem does not go away by itself
    if isinstance(error, ks_exceptions.EndpointNotFound | sdk_exceptions.EndpointNotFound):
        return False  # the region has no such service: a configuration problem
    return isinstance(
        error,
        ks_exceptions.ConnectionError
        | ks_exceptions.RetriableConnectionFailure
        | ks_exceptions.DiscoveryFailure
        | requests_exceptions.ConnectionError
        | requests_exceptions.Timeout
        | ConnectionError
        | TimeoutError,
    )


def _status(error: BaseException) -> int | None:
    if isinstance(error, rest.ServiceError):
        return error.status
    if isinstance(error, sdk_exceptions.HttpException):
        return int(error.status_code) if error.status_code else None
    if isinstance(error, ks_exceptions.HttpError):
        return int(error.http_status) if error.http_status else None
    return None


def describe(error: BaseException) -> str:
    """The error as an operator reads it in the item: its kind and message, truncated."""
    if isinstance(error, sync_errors.RetryLater):
        return _truncated(str(error))
    status = _status(error)
    kind = type(error).__name__ + (" (HTTP %d)" % status if status else "")
    return _truncated("%s: %s" % (kind, str(error) or repr(error)))


def _truncated(text: str) -> str:
    if len(text) > MAX_ERROR_TEXT:
        text = text[: MAX_ERROR_TEXT - 3] + "..."
    return text
