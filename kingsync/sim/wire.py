"""What every simulated service puts on the wire: JSON bodies, error bodies in
each service's own shape, microversion negotiation and pagination."""

from __future__ import annotations

import html
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from aiohttp import web

Json = dict[str, Any]

# The fault key each service family puts around an error message
# (nova and cinder: {"itemNotFound": {"code": 404, "message": ...}}).
_NOVA_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    500: "computeFault",
    501: "notImplemented",
    503: "serviceUnavailable",
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Request Range Not Satisfiable",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def empty(status: int = 204) -> web.Response:
    return web.Response(status=status)


class SimHTTPError(web.HTTPException):
    """An error already rendered in the shape of the service that raised it."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.status_code = status
        super().__init__(text=body.decode(), content_type=content_type)


def nova_fault(status: int, message: str) -> NoReturn:
    """Nova and Cinder: ``{"badRequest": {"code": 400, "message": "..."}}``."""
    name = _NOVA_FAULT_NAMES.get(status, "computeFault")
    raise SimHTTPError(status, json.dumps({name: {"code": status, "message": message}}).encode())


def neutron_fault(status: int, kind: str, message: str) -> NoReturn:
    """Neutron: ``{"NeutronError": {"type": ..., "message": ..., "detail": ""}}``."""
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    raise SimHTTPError(status, json.dumps(body).encode())


def keystone_fault(status: int, message: str) -> NoReturn:
    """Keystone: ``{"error": {"code": 401, "title": "Unauthorized", "message": ...}}``."""
    body = {"error": {"code": status, "title": _TITLES.get(status, "Error"), "message": message}}
    raise SimHTTPError(status, json.dumps(body).encode())


# webob's error page: the body template every HTTPError uses unless it brings
# its own (415 and 405 do), and the page around it for text/html.
WEBOB_BODY = "${explanation}<br /><br />\n${detail}\n${html_comment}\n"
_WEBOB_HTML = (
    "<html>\n <head>\n  <title>${status}</title>\n </head>\n <body>\n  <h1>${status}</h1>\n  ${body}\n </body>\n</html>"
)


def webob_fault(
    status: int,
    message: str,
    detail: str = "",
    accept: str | None = None,
    template: str = WEBOB_BODY,
    headers: Mapping[str, str] | None = None,
    **env: str,
) -> NoReturn:
    """Glance: a webob error page, ``404 Not Found`` + explanation + detail.

    webob picks the page's media type from the request's ``Accept`` header:
    text/html (also for ``*/*``), application/json, or text/plain when the
    header is empty or absent. ``accept=None`` keeps the HTML page. ``env``
    fills the extra ``${...}`` names of a custom ``template``.
    """
    title = _TITLES.get(status, "Error")
    status_line = f"{status} {title}"
    args = {"explanation": message, "detail": detail, "html_comment": "", **env}
    media = "text/html" if accept is None else webob_media_type(accept)
    if media == "text/html":
        body = string.Template(template).safe_substitute({k: html.escape(v) for k, v in args.items()})
        text = string.Template(_WEBOB_HTML).substitute(status=status_line, body=body)
    elif media == "application/json":
        body = string.Template(template).safe_substitute(args)
        text = json.dumps({"message": body, "code": status_line, "title": title})
    else:
        body = string.Template(template).safe_substitute(args)
        text = f"{status_line}\n\n{_strip_tags(body)}"
    err = SimHTTPError(status, text.encode(), content_type=media)
    # webob names the charset of text pages in upper case; JSON has none.
    err.headers["Content-Type"] = media if media == "application/json" else media + "; charset=UTF-8"
    err.headers.update(headers or {})
    raise err


def webob_media_type(accept: str) -> str:
    """The media type webob answers an error in, for this ``Accept`` header."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    return "text/html"  # an invalid header accepts anything
        ranges.append((media.lower(), quality))
    best: list[tuple[float, int, str]] = []
    for order, offer in enumerate(("text/html", "application/json")):
        quality = _offer_quality(offer, ranges)
        if quality > 0:
            best.append((-quality, order, offer))
    return min(best)[2] if best else "text/plain"


def _offer_quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """The quality of the most specific media range that matches ``offer``."""
    kind = offer.partition("/")[0]
    found, specificity = 0.0, 0
    for media, quality in ranges:
        rank = 3 if media == offer else 2 if media == kind + "/*" else 1 if media == "*/*" else 0
        if rank > specificity:
            found, specificity = quality, rank
    return found


def _strip_tags(body: str) -> str:
    """webob's plain-text page: line breaks where the HTML had <br />."""
    text = body.replace("\n", " ").replace("\r", "")
    text = re.sub(r"<br.*?>", "\n", text, flags=re.I | re.S)
    text = re.sub(r"<!--|-->", "", text)
    return re.sub(r"<.*?>", "", text, flags=re.S)


async def read_json(request: web.Request, fault: Callable[[int, str], NoReturn]) -> Json:
    """The request body as a JSON object, or the service's own 400."""
    raw = await request.read()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        fault(400, "Malformed request body")
    if not isinstance(body, dict):
        fault(400, "Malformed request body")
    return body


def parse_bool(value: Any) -> bool | None:
    """Query/body booleans as the services accept them (``True``, ``1``, ``yes``...)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("0", "false", "f", "no", "n", "off"):
        return False
    return None


class Microversion:
    """Microversion negotiation as the services do it (``OpenStack-API-Version``).

    ``service`` is the name the header carries (``compute``, ``volume``);
    ``legacy_header`` the pre-standard header nova and cinder also honour.
    """

    def __init__(self, service: str, minimum: str, maximum: str, legacy_header: str | None = None) -> None:
        self.service = service
        self.minimum = _mv(minimum)
        self.maximum = _mv(maximum)
        self.legacy_header = legacy_header

    @property
    def min_text(self) -> str:
        return "%d.%d" % self.minimum

    @property
    def max_text(self) -> str:
        return "%d.%d" % self.maximum

    def requested(self, request: web.Request, fault: Callable[[int, str], NoReturn]) -> tuple[int, int]:
        wanted: str | None = None
        header = request.headers.get("OpenStack-API-Version")
        if header:
            for part in header.split(","):
                words = part.strip().split()
                if len(words) == 2 and words[0].lower() == self.service:
                    wanted = words[1]
        if wanted is None and self.legacy_header:
            wanted = request.headers.get(self.legacy_header)
        if not wanted:
            return self.minimum
        if wanted.lower() == "latest":
            return self.maximum
        try:
            version = _mv(wanted)
        except ValueError:
            fault(400, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum." % wanted)
        if not self.minimum <= version <= self.maximum:
            fault(
                406,
                "Version %s is not supported by the API. Minimum is %s and maximum is %s."
                % (wanted, self.min_text, self.max_text),
            )
        return version

    def headers(self, version: tuple[int, int]) -> dict[str, str]:
        text = "%d.%d" % version
        out = {"OpenStack-API-Version": f"{self.service} {text}", "Vary": "OpenStack-API-Version"}
        if self.legacy_header:
            out[self.legacy_header] = text
            out["Vary"] += ", " + self.legacy_header
        return out


def _mv(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def paginate(
    items: Sequence[Json],
    limit: str | None,
    marker: str | None,
    key: str,
    fault: Callable[[int, str], NoReturn],
) -> tuple[list[Json], bool]:
    """Items after ``marker`` (by ``key``), at most ``limit``; and whether more remain.

    An unknown marker is the services' 400 ("marker not found").
    """
    start = 0
    if marker:
        for index, item in enumerate(items):
            if str(item.get(key)) == marker:
                start = index + 1
                break
        else:
            fault(400, "marker [%s] not found" % marker)
    page = list(items[start:])
    if limit is not None:
        try:
            count = int(limit)
        except ValueError:
            fault(400, "limit param must be an integer")
        if count < 0:
            fault(400, "limit param must be positive")
        more = len(page) > count
        return page[:count], more
    return page, False


def select_fields(items: Iterable[Json], fields: list[str]) -> list[Json]:
    """Neutron's ``fields=`` query: keep only the named keys."""
    if not fields:
        return list(items)
    return [{k: v for k, v in item.items() if k in fields} for item in items]
