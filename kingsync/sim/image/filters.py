"""The filters and sort order of GET /v2/images, as glance's SQL applies
them on MySQL/MariaDB: strings (names, tags, property values) compare
case-insensitively, NULLs sort first ascending."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kingsync.sim.auth import Context
from kingsync.sim.image.policy import fail
from kingsync.sim.image.state import Json

# Columns of glance's images table: a filter on one of them compares the
# column, any other filter name compares an extra property.
COLUMNS = (
    "id",
    "name",
    "size",
    "virtual_size",
    "status",
    "visibility",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "min_disk",
    "min_ram",
    "owner",
    "protected",
    "os_hidden",
    "container_format",
    "disk_format",
    "created_at",
    "updated_at",
)
# Columns that take an operator (``in:a,b``, ``eq:x``).
_OPERATOR_COLUMNS = ("name", "id", "status", "container_format", "disk_format")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$")


def matcher(ctx: Context, filters: dict[str, str], tags: list[str]) -> Callable[[Json], bool]:
    """Whether an image passes the listing's filters (and is not killed)."""
    tests = [_visibility_test(ctx, filters.get("visibility"))]
    tests += [_filter_test(k, v) for k, v in filters.items() if k != "visibility"]
    wanted = {t.lower() for t in tags}
    if wanted:
        tests.append(lambda i: wanted <= {t.lower() for t in i["tags"]})
    return lambda image: image["status"] not in ("killed", "deleted") and all(t(image) for t in tests)


def _visibility_test(ctx: Context, visibility: str | None) -> Callable[[Json], bool]:
    if visibility == "all":
        return lambda i: True
    if visibility is not None:
        return lambda i: bool(i["visibility"] == visibility)
    # Without a visibility filter, community images show only to their owner.
    return lambda i: i["visibility"] != "community" or i["owner"] == ctx.project_id


def _filter_test(key: str, value: str) -> Callable[[Json], bool]:
    if key in ("os_hidden", "protected"):
        return lambda i: bool(i[key]) == (value == "true")
    if key.endswith("_min") or key.endswith("_max"):
        return _range_test(key, value)
    if key in ("created_at", "updated_at"):
        return _time_test(key, value)
    if key in _OPERATOR_COLUMNS:
        return _operator_test(key, value)
    if key in COLUMNS:
        return lambda i: _same(i[key], value)
    return lambda i: _same(i["properties"].get(key), value)


def _range_test(key: str, value: str) -> Callable[[Json], bool]:
    column = key[:-4]
    try:
        bound = int(value)
    except ValueError:
        fail(400, "Unable to filter on a range with a non-numeric value.")
    if key.endswith("_min"):
        return lambda i: i.get(column) is not None and i[column] >= bound
    return lambda i: i.get(column) is not None and i[column] <= bound


def _time_test(key: str, value: str) -> Callable[[Json], bool]:
    operator, moment = _split_operator(value)
    if not _ISO.match(moment):
        fail(400, 'Bad "%s" query filter format. Use ISO 8601 DateTime notation.' % key)
    threshold = moment[:19]
    compare: dict[str, Callable[[str], bool]] = {
        "gt": lambda v: v > threshold,
        "gte": lambda v: v >= threshold,
        "lt": lambda v: v < threshold,
        "lte": lambda v: v <= threshold,
        "neq": lambda v: v != threshold,
        "eq": lambda v: v == threshold,
    }
    if operator not in compare:
        fail(400, "Unable to filter on a unknown operator.")
    test = compare[operator]
    return lambda i: test(i[key][:19])


def _operator_test(key: str, value: str) -> Callable[[Json], bool]:
    operator, operand = _split_operator(value)
    if operator == "in":
        options = _split_quoted(operand)
        return lambda i: any(_same(i[key], o) for o in options)
    if operator == "eq":
        return lambda i: _same(i[key], operand)
    fail(400, "Unable to filter by unknown operator '%s'." % operator)


def _split_operator(expression: str) -> tuple[str, str]:
    """``glance.common.utils.split_filter_op``: ``gte:2026-...``, ``in:a,b``;
    a bare ISO time keeps its colons."""
    left, sep, right = expression.partition(":")
    if not sep or _ISO.match(expression):
        return "eq", expression
    return left, right


def _split_quoted(value: str) -> list[str]:
    pattern = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,')
    return [quoted or plain for quoted, plain in pattern.findall(value)]


def _same(stored: Any, text: str) -> bool:
    """A column compared with a query string, as MySQL does it: numbers and
    booleans by value; strings case-insensitively (utf8 general collation)."""
    if isinstance(stored, bool):
        return stored == (text.lower() in ("1", "true"))
    if isinstance(stored, int):
        return str(stored) == text.strip()
    return stored is not None and str(stored).lower() == text.lower()


def ordered(images: list[Json], sort: list[tuple[str, str]]) -> list[Json]:
    """Sort as MySQL does: NULL first ascending, last descending; strings
    case-insensitively."""
    result = list(images)
    for key, direction in reversed(sort):
        result.sort(key=_sort_value(key), reverse=direction == "desc")
    return result


def _sort_value(key: str) -> Callable[[Json], tuple[bool, Any]]:
    return lambda image: _comparable(image[key])


def _comparable(value: Any) -> tuple[bool, Any]:
    if value is None:
        return (False, "")
    if isinstance(value, str):
        return (True, value.lower())
    return (True, value)
