"""Bodies of the quota calls (``os-quota-sets``, ``os-quota-class-sets``).

Limits:          {"quota_set": {"cores": 100, "ram": -1, ...}}   (PUT, POST dry-run)
                 {"quota_class_set": {...}}                      (class PUT)
Delete some:     {"quota_set": ["cores", "ram"]}
Region setting:  {"region_setting": {"excluded": false, "pins": {"cores": 40}}}
Headroom policy: {"headroom_policy": {"name": "proportional", "floor": 0.2}}

A limit is a JSON integer from -1 (unlimited) to MAX_LIMIT: 0 and -1 are
limits like any other (Kingbird refused them). Strings of digits and
booleans are refused, as Kingbird's type check refused them; its client
sends integers. Resource names are checked in code against the catalogue
(kingsync.quota.resources), which also knows cinder's per volume type keys.
"""

from __future__ import annotations

from typing import Any

from kingsync.quota.resources import MAX_LIMIT, UNLIMITED

MAX_NAMES = 500

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
LIMIT: dict[str, Any] = {"type": "integer", "minimum": UNLIMITED, "maximum": MAX_LIMIT}
_LIMITS: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": MAX_NAMES,
    "propertyNames": _NAME,
    "additionalProperties": LIMIT,
}


def _wrapped(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


UPDATE = _wrapped("quota_set", _LIMITS)
DELETE = _wrapped(
    "quota_set", {"type": "array", "items": _NAME, "minItems": 1, "maxItems": MAX_NAMES, "uniqueItems": True}
)
CLASS_UPDATE = _wrapped("quota_class_set", _LIMITS)
REGION_SETTING = _wrapped(
    "region_setting",
    {
        "type": "object",
        "properties": {
            "excluded": {"type": "boolean"},
            "pins": {
                "type": "object",
                "maxProperties": MAX_NAMES,
                "propertyNames": _NAME,
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_LIMIT},
            },
        },
        "minProperties": 1,
        "additionalProperties": False,
    },
)
HEADROOM_POLICY = _wrapped(
    "headroom_policy",
    {
        "type": "object",
        "properties": {
            "name": {"enum": ["even", "proportional"]},
            "floor": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
)

# What each property must be, leading the 400 message when it is at fault.
# The first words are Kingbird's messages where it had one.
_LIMITS_HINT = "an object of resource names and integer limits from -1 (unlimited) to %d" % MAX_LIMIT
UPDATE_HINTS = {"quota_set": "Missing quota_set in the body: " + _LIMITS_HINT}
CLASS_UPDATE_HINTS = {"quota_class_set": "Missing quota_class_set in the body: " + _LIMITS_HINT}
DELETE_HINTS = {"quota_set": "quota_set must be a non-empty list of resource names"}
REGION_SETTING_HINTS = {
    "region_setting": 'region_setting required: {"excluded": true|false, "pins": {resource: limit}}',
    "excluded": "excluded must be true or false",
    "pins": "pins must map split resources to integer limits (0 or more)",
}
HEADROOM_POLICY_HINTS = {
    "headroom_policy": 'headroom_policy required: {"name": "even"|"proportional", "floor": 0..1}',
    "name": 'name must be "even" or "proportional"',
    "floor": "floor must be a number from 0 to 1",
}
