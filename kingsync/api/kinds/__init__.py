"""The kinds of resource a sync job can copy, as the API sees them.

A kind plugs in here with the check the API runs before a job is created:
every named resource must exist in the source region, for the caller (a
missing one is a 404 and no job is made). The engine side of a kind, the
copy itself, lives in the engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from kingsync.api import errors
from kingsync.api.kinds import keypair
from kingsync.context import RequestContext

SourceCheck = Callable[[RequestContext, str, Sequence[str]], None]


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    check_sources: SourceCheck


KINDS: dict[str, Kind] = {kind.name: kind for kind in (Kind("keypair", keypair.check_sources),)}

# Kingbird's other kinds, and security groups: known names, served by later releases.
PLANNED = ("image", "flavor", "security_group")


def get(resource_type: str) -> Kind:
    """The kind named ``resource_type``, or a 400 that says which kinds there are."""
    kind = KINDS.get(resource_type)
    if kind is not None:
        return kind
    supported = ", ".join(sorted(KINDS))
    if resource_type in PLANNED:
        message = "resource_type %r is not supported yet; supported: %s." % (resource_type, supported)
    else:
        message = "Bad resource_type %r; supported: %s." % (resource_type, supported)
    raise errors.bad_request(errors.UNSUPPORTED_RESOURCE_TYPE, message)
