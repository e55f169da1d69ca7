"""The database's clock: naive UTC, as every table stores it."""

from __future__ import annotations

import datetime


def utcnow() -> datetime.datetime:
    """Naive UTC, as stored (every database keeps it the same way)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
