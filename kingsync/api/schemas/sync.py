"""Bodies of ``POST /v1.0/{project_id}/os-sync``: Kingbird's single and template forms.

Single:   {"resource_set": {"resource_type", "resources", "source", "target", "force"}}
Template: {"resource_set": {"Sync": [<the same entry>, ...]}}

``force`` takes JSON booleans and the strings "True"/"False" that
python-kingbirdclient sends. ``source`` is a region or a list of regions, as
Kingbird accepted. Unknown properties are refused, so a misspelt ``force``
is an error rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

MAX_RESOURCES = 100
MAX_REGIONS = 50
MAX_TEMPLATE_ENTRIES = 50

_NAME: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
_REGIONS: dict[str, Any] = {"type": "array", "items": _NAME, "minItems": 1, "maxItems": MAX_REGIONS}

ENTRY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_type": {"type": "string", "minLength": 1, "maxLength": 32},
        "resources": {"type": "array", "items": _NAME, "minItems": 1, "maxItems": MAX_RESOURCES},
        "source": {"anyOf": [_NAME, _REGIONS]},
        "target": _REGIONS,
        "force": {"anyOf": [{"type": "boolean"}, {"enum": ["True", "False"]}]},
    },
    "required": ["resource_type", "resources", "source", "target"],
    "additionalProperties": False,
}

TEMPLATE: dict[str, Any] = {
    "type": "object",
    "properties": {"Sync": {"type": "array", "items": ENTRY, "minItems": 1, "maxItems": MAX_TEMPLATE_ENTRIES}},
    "required": ["Sync"],
    "additionalProperties": False,
}

CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        # A resource set with a "Sync" key is a template, anything else one entry.
        "resource_set": {"if": {"type": "object", "required": ["Sync"]}, "then": TEMPLATE, "else": ENTRY},
    },
    "required": ["resource_set"],
    "additionalProperties": False,
}

# What each property must be, leading the 400 message when it is at fault.
# The first words are Kingbird's messages, so scripts matching them still do.
HINTS = {
    "resource_set": "resource_set required: an object with resource_type, resources, source and target, "
    'or a template {"Sync": [...]}',
    "Sync": "Sync must be a non-empty list of entries, each with resource_type, resources, source and target",
    "resource_type": 'Bad resource_type: a string such as "keypair"',
    "resources": "Source resources required: a non-empty list of names (keypairs) or ids",
    "source": "Source region required: a region name or a non-empty list of them",
    "target": "Target regions required: a non-empty list of region names",
    "force": 'force must be true, false, "True" or "False"',
}
