"""The one error of the global-quota repository, raised by its limits,
settings and projects modules alike."""

from __future__ import annotations


class NotFound(Exception):
    """What a change or a delete names does not exist; the message is fit for the API's 404."""
