"""What every cinder handler needs: its fault bodies, the negotiated
microversion, the caller, and oslo.policy's refusals as cinder words them."""

from __future__ import annotations

import datetime
import json
from typing import Any, NoReturn

from aiohttp import web

from kingsync.sim import auth, wire
from kingsync.sim.wire import Json

VERSION_KEY = web.RequestKey("kingsync.sim.volume.version", tuple[int, int])
MIN_VERSION = "3.0"
# cinder 29 (2026.2): the newest microversion the devcloud reports.
MAX_VERSION = "3.71"
# cinder honours only the standard header (no legacy X-OpenStack-Volume-...).
MICROVERSION = wire.Microversion("volume", MIN_VERSION, MAX_VERSION)
DB_MAX_INT = 2147483647

Version = tuple[int, int]

# cinder.api.openstack.wsgi.Fault names; any other status is a computeFault
# (406 included, unlike nova).
_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def fault(status: int, message: str, headers: dict[str, str] | None = None) -> NoReturn:
    """``{"badRequest": {"code": 400, "message": ...}}``; a 413 also carries
    ``retryAfter`` and the Retry-After header."""
    name = _FAULT_NAMES.get(status, "computeFault")
    detail: Json = {"code": status, "message": message}
    if status == 413 and headers and "Retry-After" in headers:
        detail["retryAfter"] = headers["Retry-After"]
    err = wire.SimHTTPError(status, json.dumps({name: detail}).encode())
    err.headers.update(headers or {})
    raise err


def over_limit(kind: str, message: str) -> NoReturn:
    """A QuotaError: 413, the exception's class name before its text."""
    fault(413, "%s: %s" % (kind, message), {"Retry-After": "0"})


def denied(rule: str) -> NoReturn:
    fault(403, "Policy doesn't allow %s to be performed." % rule)


def caller(request: web.Request) -> auth.Context:
    return auth.context(request)


def version(request: web.Request) -> Version:
    negotiated: Version = request[VERSION_KEY]
    return negotiated


def at_least(request: web.Request, text: str) -> bool:
    major, _, minor = text.partition(".")
    return version(request) >= (int(major), int(minor))


async def read_body(request: web.Request) -> Json:
    return await wire.read_json(request, lambda status, message: fault(status, message))


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def stored(moment: str | None) -> str | None:
    """A timestamp read back from cinder's database, which keeps whole
    seconds (only the answer to a create shows the clock's microseconds)."""
    if moment is None:
        return None
    return moment.partition(".")[0] + ".000000"


def integer(name: str, value: Any, low: int, high: int) -> int:
    """oslo's strutils.validate_integer, with its texts."""
    try:
        number = int(str(value))
    except ValueError:
        fault(400, "%s must be an integer" % name)
    if number < low:
        fault(400, "%s must be >= %d" % (name, low))
    if number > high:
        fault(400, "%s must be <= %d" % (name, high))
    return number


def boolean_param(name: str, value: str) -> bool:
    parsed = wire.parse_bool(value)
    if parsed is None:
        fault(400, "Value '%s' for '%s' is not a boolean." % (value, name))
    return parsed
