"""Every error kingsync-api answers is JSON, in Keystone's shape:

    {"error": {"code": 404, "title": "Not Found", "message": "Job ... not found",
               "type": "job_not_found"}}

``code`` is the HTTP status (as in keystonemiddleware's own 401 body, so every
error a client sees has one shape), ``message`` is for people, and ``type`` is
a stable name scripts may test for. The types are the constants below: never
rename one, only add.
"""

from __future__ import annotations

import http
import json
from collections.abc import Mapping

from werkzeug.wrappers import Response

# Stable error types.
INVALID_URL = "invalid_url"
INVALID_BODY = "invalid_body"
BODY_TOO_LARGE = "body_too_large"
UNKNOWN_REGION = "unknown_region"
UNSUPPORTED_RESOURCE_TYPE = "unsupported_resource_type"
RESOURCE_NOT_FOUND = "resource_not_found"
AMBIGUOUS_RESOURCE = "ambiguous_resource"
RESOURCE_NOT_OWNED = "resource_not_owned"
RESOURCE_NOT_READY = "resource_not_ready"
REGION_UNAVAILABLE = "region_unavailable"
JOB_NOT_FOUND = "job_not_found"
JOB_IN_PROGRESS = "job_in_progress"
UNKNOWN_QUOTA_RESOURCE = "unknown_quota_resource"
QUOTA_NOT_FOUND = "quota_not_found"
QUOTA_CLASS_NOT_FOUND = "quota_class_not_found"
PROJECT_NOT_MANAGED = "project_not_managed"
REGION_SETTING_NOT_FOUND = "region_setting_not_found"
HEADROOM_POLICY_NOT_FOUND = "headroom_policy_not_found"
NOT_AUTHENTICATED = "not_authenticated"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL = "internal_error"


class ApiError(Exception):
    """Raised by handlers; rendered by app.py as a JSON error response."""

    def __init__(self, status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return json_error(self.status, self.type, self.message, self.headers)


def body(status: int, type_: str, message: str) -> str:
    """The JSON text of an error (also used by middleware that is not Flask)."""
    return json.dumps(
        {"error": {"code": status, "title": http.HTTPStatus(status).phrase, "message": message, "type": type_}}
    )


def json_error(status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body(status, type_, message), status=status, headers=dict(headers or {}), mimetype="application/json"
    )


def bad_request(type_: str, message: str) -> ApiError:
    return ApiError(400, type_, message)


def too_large_message(limit: int) -> str:
    return "Request body is larger than the limit of %d bytes ([api] max_request_body_size)." % limit
