"""Backoff between attempts, and which errors are worth another attempt."""

from __future__ import annotations

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

from kingsync.engine import retry
from kingsync.regions import UnknownRegion

_BASES = st.floats(min_value=0.1, max_value=100.0)


def test_the_first_retry_waits_the_base_and_each_next_one_twice_as_long() -> None:
    assert [retry.backoff(attempt, 2.0) for attempt in range(1, 6)] == [2.0, 4.0, 8.0, 16.0, 32.0]


@given(st.integers(min_value=1, max_value=10_000), _BASES)
def test_backoff_never_shrinks_and_never_passes_the_cap(attempt: int, base: float) -> None:
    assert retry.backoff(attempt, base) <= retry.backoff(attempt + 1, base) <= retry.MAX_BACKOFF


def test_backoff_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError):
        retry.backoff(0, 1.0)


def _http(status: int) -> sdk_exceptions.HttpException:
    return sdk_exceptions.HttpException(message="boom", http_status=status)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_server_errors_throttling_and_timeouts_are_transient(status: int) -> None:
    assert retry.is_transient(_http(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_other_client_errors_are_permanent(status: int) -> None:
    assert not retry.is_transient(_http(status))


@pytest.mark.parametrize(
    "error",
    [
        ks_exceptions.ConnectFailure("refused"),
        ks_exceptions.ConnectTimeout("slow"),
        ks_exceptions.ServiceUnavailable(),  # Keystone itself answering 503
        requests.ConnectionError("reset"),
        requests.Timeout("read timed out"),
        TimeoutError(),
    ],
    ids=type,
)
def test_connection_trouble_is_transient(error: Exception) -> None:
    assert retry.is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        ks_exceptions.SSLError("certificate verify failed"),
        ks_exceptions.Unauthorized(),  # kingsync's own credentials are wrong
        ks_exceptions.EndpointNotFound(),
        UnknownRegion("Nowhere", ["RegionOne"]),
        KeyError("a bug"),
    ],
    ids=type,
)
def test_misconfiguration_and_bugs_are_permanent(error: Exception) -> None:
    assert not retry.is_transient(error)


def test_the_error_text_names_the_kind_and_the_status() -> None:
    assert retry.describe(_http(503)).startswith("HttpException (HTTP 503): ")


def test_the_error_text_is_bounded() -> None:
    text = retry.describe(RuntimeError("x" * 10_000))
    assert len(text) == retry.MAX_ERROR_TEXT and text.endswith("...")
