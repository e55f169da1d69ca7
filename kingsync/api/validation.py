"""Request bodies: read as JSON (never evaluated), checked against a JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import flask
import jsonschema
import jsonschema.exceptions
import webob.exc

from kingsync.api import errors, runtime


def json_body() -> Any:
    """The request body parsed as JSON, whatever its Content-Type (curl users forget it)."""
    found = optional_json_body()
    if found is None:
        raise errors.bad_request(errors.INVALID_BODY, "Body required: a JSON object.")
    return found


def optional_json_body() -> Any | None:
    """The body parsed as JSON, or None when there is none (a DELETE with or without a body)."""
    try:
        raw = flask.request.get_data(cache=False)
    except webob.exc.HTTPRequestEntityTooLarge:
        # A body without Content-Length that ran past the limit while being read.
        limit = runtime.get().conf.api.max_request_body_size
        raise errors.ApiError(413, errors.BODY_TOO_LARGE, errors.too_large_message(limit)) from None
    if not raw.strip():
        return None
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise errors.bad_request(errors.INVALID_BODY, "Request body is not valid JSON: %s" % exc) from None
    if found is None:
        # Read as "no body", a JSON null would turn a DELETE of some limits into a DELETE of all.
        raise errors.bad_request(errors.INVALID_BODY, "Request body is JSON null: send a JSON object, or no body.")
    return found


def validate(document: Any, schema: Mapping[str, Any], hints: Mapping[str, str]) -> None:
    """Raise a 400 ApiError describing the most relevant way ``document`` breaks ``schema``.

    ``hints`` maps a property name to a sentence that tells the caller what
    the property must be; it leads the message when that property is at fault.
    """
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return
    where = _path(error)
    detail = "%s: %s" % (where, error.message) if where else error.message
    hint = hints.get(_field(error) or "")
    raise errors.bad_request(errors.INVALID_BODY, "%s (%s)" % (hint, detail) if hint else "Invalid body: " + detail)


def _path(error: jsonschema.exceptions.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += "[%d]" % part if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _field(error: jsonschema.exceptions.ValidationError) -> str | None:
    """The property the error is about: the missing one, or the innermost named one."""
    if error.validator == "required" and isinstance(error.instance, dict):
        required = cast(list[str], error.validator_value)
        missing = [name for name in required if name not in error.instance]
        return str(missing[0]) if missing else None
    names = [part for part in error.absolute_path if isinstance(part, str)]
    return names[-1] if names else None
