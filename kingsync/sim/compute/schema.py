"""Request validation with nova's JSON schemas and nova's error texts.

Nova validates bodies and query strings with jsonschema (Draft 2020-12) and
reports the *first* error jsonschema yields, so the message a client sees
depends on the order of the keywords in the schema. This module walks a
schema in dict order with the keywords nova's compute schemas use and words
errors exactly as jsonschema and ``nova.api.validation.validators`` do, so
the schemas below can be transcribed from nova keyword for keyword.
"""

from __future__ import annotations

import collections
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from kingsync.sim import wire

Schema = dict[str, Any]

INVALID_NAME = (
    "An invalid 'name' value was provided. The name must be: "
    "printable characters. Can not start or end with whitespace."
)


class _Error:
    def __init__(
        self, message: str, path: collections.deque[str | int], instance: Any, cause: str | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.instance = instance
        self.cause = cause


def validate_body(schema: Schema, body: Any) -> None:
    """400 with nova's text when ``body`` does not match ``schema``."""
    error = next(_errors(schema, body, collections.deque()), None)
    if error is None:
        return
    if error.cause is not None:
        wire.nova_fault(400, error.cause)
    if error.path:
        wire.nova_fault(
            400,
            "Invalid input for field/attribute %s. Value: %s. %s"
            % (error.path[-1], _text(error.instance), error.message),
        )
    wire.nova_fault(400, error.message)


def validate_query(schema: Schema, query: dict[str, list[str]]) -> None:
    """Query strings are validated as ``{name: [values]}`` (webob's dict_of_lists)."""
    error = next(_errors(schema, query, collections.deque()), None)
    if error is None:
        return
    if error.path:
        wire.nova_fault(
            400,
            "Invalid input for query parameters %s. Value: %s. %s"
            % (error.path[0], _text(error.instance), error.message),
        )
    wire.nova_fault(400, error.message)


def _text(value: Any) -> str:
    # nova formats the offending value with "%s": Python's str(), not JSON.
    return str(value)


# -- types -----------------------------------------------------------------------


def _is_type(instance: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(instance, dict)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "string":
        return isinstance(instance, str)
    if kind == "boolean":
        return isinstance(instance, bool)
    if kind == "null":
        return instance is None
    if isinstance(instance, bool) or not isinstance(instance, int | float):
        return False
    if kind == "integer":
        return isinstance(instance, int) or instance.is_integer()
    return kind == "number"


def _equal(one: Any, two: Any) -> bool:
    # jsonschema keeps True apart from 1 and False apart from 0.
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    return bool(one == two)


def _number(instance: Any) -> int | float | None:
    """nova's minimum/maximum also apply to numeric strings ("10")."""
    if isinstance(instance, bool):
        return int(instance)
    try:
        return int(instance)
    except (TypeError, ValueError):
        try:
            return float(instance)
        except (TypeError, ValueError):
            return None


def valid_name(text: str) -> bool:
    """nova's ``name`` format: printable, no leading or trailing whitespace."""

    def printable(char: str) -> bool:
        category = unicodedata.category(char)
        return (
            ord(char) < 0xFFFF and not category.startswith("C") and (not category.startswith("Z") or category == "Zs")
        )

    if not all(printable(c) for c in text):
        return False
    return not text or (unicodedata.category(text[0]) != "Zs" and unicodedata.category(text[-1]) != "Zs")


# -- the walk ------------------------------------------------------------------------


def _errors(schema: Schema, instance: Any, path: collections.deque[str | int]) -> Iterator[_Error]:
    for keyword, value in schema.items():
        check = _KEYWORDS.get(keyword)
        if check is not None:
            yield from check(value, instance, schema, path)


def _descend(schema: Schema, instance: Any, path: collections.deque[str | int], step: str | int) -> Iterator[_Error]:
    yield from _errors(schema, instance, collections.deque([*path, step]))


def _type(kinds: Any, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not any(_is_type(instance, kind) for kind in kinds):
        yield _Error("%r is not of type %s" % (instance, ", ".join(repr(k) for k in kinds)), path, instance)


def _properties(props: Schema, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, dict):
        for name, subschema in props.items():
            if name in instance:
                yield from _descend(subschema, instance[name], path, name)


def _pattern_properties(
    patterns: Schema, instance: Any, schema: Schema, path: collections.deque[str | int]
) -> Iterator[_Error]:
    if isinstance(instance, dict):
        for pattern, subschema in patterns.items():
            for name, value in instance.items():
                if re.search(pattern, name):
                    yield from _descend(subschema, value, path, name)


def _required(names: list[str], instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, dict):
        for name in names:
            if name not in instance:
                yield _Error("%r is a required property" % name, path, instance)


def _additional_properties(
    allowed: Any, instance: Any, schema: Schema, path: collections.deque[str | int]
) -> Iterator[_Error]:
    if not isinstance(instance, dict) or allowed is not False:
        return
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        name
        for name in instance
        if name not in schema.get("properties", {}) and not any(re.search(p, name) for p in patterns)
    ]
    if not extras:
        return
    if patterns:
        verb = "does" if len(extras) == 1 else "do"
        yield _Error(
            "%s %s not match any of the regexes: %s"
            % (", ".join(repr(e) for e in sorted(extras)), verb, ", ".join(repr(p) for p in sorted(patterns))),
            path,
            instance,
        )
        return
    verb = "was" if len(extras) == 1 else "were"
    yield _Error(
        "Additional properties are not allowed (%s %s unexpected)"
        % (", ".join(repr(e) for e in sorted(extras, key=str)), verb),
        path,
        instance,
    )


def _minimum(bound: float, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    number = _number(instance)
    if number is not None and number < bound:
        yield _Error("%r is less than the minimum of %r" % (number, bound), path, instance)


def _maximum(bound: float, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    number = _number(instance)
    if number is not None and number > bound:
        yield _Error("%r is greater than the maximum of %r" % (number, bound), path, instance)


def _exclusive_minimum(
    bound: float, instance: Any, schema: Schema, path: collections.deque[str | int]
) -> Iterator[_Error]:
    if _is_type(instance, "number") and instance <= bound:
        yield _Error("%r is less than or equal to the minimum of %r" % (instance, bound), path, instance)


def _min_length(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, str) and len(instance) < bound:
        yield _Error("%r %s" % (instance, "should be non-empty" if bound == 1 else "is too short"), path, instance)


def _max_length(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, str) and len(instance) > bound:
        yield _Error("%r %s" % (instance, "is expected to be empty" if bound == 0 else "is too long"), path, instance)


def _pattern(pattern: str, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, str) and not re.search(pattern, instance):
        yield _Error("%r does not match %r" % (instance, pattern), path, instance)


def _enum(choices: list[Any], instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if not any(_equal(instance, choice) for choice in choices):
        yield _Error("%r is not one of %r" % (instance, choices), path, instance)


def _format(kind: str, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    # Only the "name" format matters for the calls simulated here; nova reports
    # it with InvalidName's own text instead of the jsonschema message.
    if kind == "name" and not (isinstance(instance, str) and valid_name(instance)):
        yield _Error("%r is not a %r" % (instance, kind), path, instance, cause=INVALID_NAME)


def _all_of(
    schemas: list[Schema], instance: Any, schema: Schema, path: collections.deque[str | int]
) -> Iterator[_Error]:
    for subschema in schemas:
        yield from _errors(subschema, instance, path)


def _items(subschema: Schema, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, list):
        start = len(schema.get("prefixItems", []))
        for index, item in enumerate(instance[start:], start=start):
            yield from _descend(subschema, item, path, index)


def _prefix_items(
    schemas: list[Schema], instance: Any, schema: Schema, path: collections.deque[str | int]
) -> Iterator[_Error]:
    if isinstance(instance, list):
        for index, (item, subschema) in enumerate(zip(instance, schemas, strict=False)):
            yield from _descend(subschema, item, path, index)


def _unique_items(unique: bool, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if unique and isinstance(instance, list):
        seen: list[Any] = []
        for item in instance:
            if any(_equal(item, other) for other in seen):
                yield _Error("%r has non-unique elements" % (instance,), path, instance)
                return
            seen.append(item)


def _min_items(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, list) and len(instance) < bound:
        yield _Error("%r %s" % (instance, "should be non-empty" if bound == 1 else "is too short"), path, instance)


def _max_items(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, list) and len(instance) > bound:
        yield _Error("%r %s" % (instance, "is expected to be empty" if bound == 0 else "is too long"), path, instance)


def _min_properties(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, dict) and len(instance) < bound:
        text = "should be non-empty" if bound == 1 else "does not have enough properties"
        yield _Error("%r %s" % (instance, text), path, instance)


def _max_properties(bound: int, instance: Any, schema: Schema, path: collections.deque[str | int]) -> Iterator[_Error]:
    if isinstance(instance, dict) and len(instance) > bound:
        text = "is expected to be empty" if bound == 0 else "has too many properties"
        yield _Error("%r %s" % (instance, text), path, instance)


_Check = Callable[[Any, Any, Schema, "collections.deque[str | int]"], Iterator[_Error]]
_KEYWORDS: dict[str, _Check] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "required": _required,
    "additionalProperties": _additional_properties,
    "minimum": _minimum,
    "maximum": _maximum,
    "exclusiveMinimum": _exclusive_minimum,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "enum": _enum,
    "format": _format,
    "allOf": _all_of,
    "items": _items,
    "prefixItems": _prefix_items,
    "uniqueItems": _unique_items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minProperties": _min_properties,
    "maxProperties": _max_properties,
}


# -- parameter types (nova/api/validation/parameter_types.py) ------------------------

BOOLEAN: Schema = {
    "type": ["boolean", "string"],
    "enum": [
        True,
        "True",
        "TRUE",
        "true",
        "1",
        "ON",
        "On",
        "on",
        "YES",
        "Yes",
        "yes",
        False,
        "False",
        "FALSE",
        "false",
        "0",
        "OFF",
        "Off",
        "off",
        "NO",
        "No",
        "no",
    ],
}
NAME: Schema = {"type": "string", "format": "name", "minLength": 1, "maxLength": 255}
NON_NEGATIVE_INTEGER: Schema = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1}
POSITIVE_INTEGER: Schema = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1}


def _printable_ranges() -> str:
    """nova's ``_build_regex_range()``: every printable BMP character, spaces
    included, as a regex character class body (same text nova builds)."""
    ranges = ""
    in_range = False
    last = last_added = ""
    for code in range(0xFFFF):
        char = chr(code)
        category = unicodedata.category(char)
        if not category.startswith("C") and (not category.startswith("Z") or category == "Zs"):
            if not in_range:
                ranges += re.escape(char)
                last_added = char
            in_range = True
        else:
            if in_range and last != last_added:
                ranges += "-" + re.escape(last)
            in_range = False
        last = char
    if in_range:
        ranges += "-" + re.escape(last)
    return ranges


DESCRIPTION_PATTERN = "^[%s]*$" % _printable_ranges()


def multi(schema: Schema) -> Schema:
    return {"type": "array", "items": schema}


def query(properties: Schema, strict: bool) -> Schema:
    """A query-string schema; ``strict`` is microversion 2.75's "no unknown parameters"."""
    return {"type": "object", "properties": properties, "additionalProperties": not strict}


def truthy(value: Any) -> bool:
    """oslo's ``bool_from_string`` (non-strict) for values the schema let through."""
    return str(value).strip().lower() in ("1", "t", "true", "on", "y", "yes")
