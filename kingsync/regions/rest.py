"""One raw REST call to one service of one region, and the service's own words when it says no.

kingsync calls nova and neutron directly (through the region's openstacksdk
proxies, which are keystoneauth adapters holding the endpoint and kingsync's
token) where openstacksdk's resources would hide what kingsync must compare:
nova's microversioned fields, neutron's rules as stored, the exact refusal.

``call`` makes exactly one attempt: neither keystoneauth nor openstacksdk
retries, the engine decides when to try again (kingsync.engine.retry).
An answer of 400 or more is a ``ServiceError`` that carries the status and
the service's message; no answer at all is keystoneauth's or requests'
own exception, which the engine treats as transient.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import openstack.connection
import requests

Json = dict[str, Any]

# A service's message in an error answer is kept whole up to this length.
MAX_MESSAGE = 1000
_TAGS = re.compile(r"<[^>]*>")


class ServiceError(Exception):
    """A service answered with an error status; ``message`` is its own text."""

    def __init__(self, region: str, service: str, status: int, message: str) -> None:
        super().__init__("%s %s answered %d: %s" % (service, region, status, message))
        self.region = region
        self.service = service
        self.status = status
        self.message = message


def request(
    conn: openstack.connection.Connection,
    proxy: str,
    method: str,
    path: str,
    *,
    body: Json | Sequence[Json] | None = None,
    microversion: str | None = None,
    headers: Mapping[str, str] | None = None,
    data: Any = None,
    stream: bool = False,
) -> requests.Response:
    """One attempt, whatever the answer: no retries (the engine decides when to try
    again), no cache (a read must be fresh: the engine reads back what it wrote).

    ``proxy`` is the Connection attribute of the service: "compute", "network",
    "image". ``body`` goes as JSON; ``data`` (a file-like object, for image
    data) as it is, with ``headers``; ``stream`` leaves the answer's body unread.
    """
    options: Json = {"raise_exc": False, "connect_retries": 0, "status_code_retries": 0, "skip_cache": True}
    if microversion:
        options["microversion"] = microversion
    if body is not None:
        if headers is not None:
            # keystoneauth sets JSON's type only for json=; a JSON patch names its own.
            options["data"] = json.dumps(body)
        else:
            options["json"] = body
    if data is not None:
        options["data"] = data
    if headers is not None:
        options["headers"] = dict(headers)
    if stream:
        options["stream"] = True
    resp: requests.Response = getattr(conn, proxy).request(path, method, **options)
    return resp


def call(
    conn: openstack.connection.Connection,
    proxy: str,
    method: str,
    path: str,
    *,
    body: Json | Sequence[Json] | None = None,
    microversion: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """The JSON answer of one call (None for an empty one); ServiceError for a status of 400 or more."""
    resp = request(conn, proxy, method, path, body=body, microversion=microversion, headers=headers)
    if resp.status_code >= 400:
        raise ServiceError(str(conn.config.region_name), proxy, resp.status_code, service_message(resp))
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        # A garbled answer, as from a proxy in the way: counted as a bad gateway (transient).
        raise ServiceError(
            str(conn.config.region_name), proxy, 502, "HTTP %d with a body that is not JSON" % resp.status_code
        ) from None


def service_message(resp: requests.Response) -> str:
    """The service's own words: nova and cinder {"badRequest": {"message"}},
    neutron {"NeutronError": {"message"}}, keystonemiddleware {"error":
    {"message"}}; else the body's text, else the HTTP reason."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        candidates = [body, *(value for value in body.values() if isinstance(value, dict))]
        for candidate in candidates:
            message = candidate.get("message")
            if isinstance(message, str) and message:
                return message[:MAX_MESSAGE]
    text = resp.text
    if "html" in resp.headers.get("Content-Type", ""):
        # webob's error pages (nova's answer to a path it does not route)
        text = _TAGS.sub(" ", text)
    text = " ".join(text.split())
    return text[:MAX_MESSAGE] if text else "%d %s" % (resp.status_code, resp.reason)
