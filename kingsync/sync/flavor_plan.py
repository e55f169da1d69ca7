"""Flavor sync, the pure part: a flavor as kingsync compares it, and the steps
that make a target equal to its source.

``Flavor.from_api`` normalises what nova shows (swap "" before 2.75 and 0
after it are the same; so are no description and ""), ``differences`` names
the fields that differ, and ``decide`` returns the steps: create then specs
then access; in place where nova allows it (description, extra specs,
access); else, with force, check the specs, delete and create anew. No I/O
here: kingsync.sync.flavor takes the steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from kingsync.db.models import CONFLICT, CREATED, REPLACED, UNCHANGED, UPDATED


@dataclasses.dataclass(frozen=True)
class Flavor:
    """A flavor as kingsync compares it: everything a copy must have the same, normalised
    (``from_api``) so that two answers of nova for the same flavor are equal."""

    id: str
    name: str
    vcpus: int
    ram: int  # MiB
    disk: int  # GiB
    ephemeral: int = 0  # GiB
    swap: int = 0  # MiB
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)
    access: tuple[str, ...] = ()  # project ids, sorted; always empty for a public flavor

    @classmethod
    def from_api(cls, body: Mapping[str, Any], access: Sequence[str] = ()) -> Flavor:
        """``body`` is nova's flavor at 2.61 or later; ``access`` its os-flavor-access tenant ids."""
        is_public = bool(body.get("os-flavor-access:is_public", True))
        rxtx_factor = body.get("rxtx_factor")
        return cls(
            id=str(body["id"]),
            name=str(body["name"]),
            vcpus=int(body["vcpus"]),
            ram=int(body["ram"]),
            disk=int(body["disk"]),
            ephemeral=int(body.get("OS-FLV-EXT-DATA:ephemeral") or 0),
            # "" for none before 2.75, 0 from then on
            swap=int(body.get("swap") or 0),
            # a float; "" only where nova has none to show (never below 2.102)
            rxtx_factor=float(rxtx_factor) if rxtx_factor not in (None, "") else 1.0,
            is_public=is_public,
            # nova shows what it was given: no description may be None or ""
            description=body.get("description") or None,
            extra_specs={str(key): str(value) for key, value in (body.get("extra_specs") or {}).items()},
            access=() if is_public else tuple(sorted(set(access))),
        )


# The fields in the order a message names them; the last three can be changed in place.
FIELDS = tuple(field.name for field in dataclasses.fields(Flavor))
IN_PLACE = frozenset({"description", "extra_specs", "access"})


def differences(source: Flavor, target: Flavor) -> tuple[str, ...]:
    """The names of the fields in which ``target`` differs from ``source``."""
    return tuple(name for name in FIELDS if getattr(source, name) != getattr(target, name))


# -- the steps a decision is made of --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Create:
    """POST the flavor with its id and fields; its extra specs and access are steps of their own."""

    flavor: Flavor


@dataclasses.dataclass(frozen=True)
class CheckSpecs:
    """Ask the target whether it would take these extra specs, before a replace deletes
    the flavor there: a refusal then leaves the old flavor in place."""

    specs: Mapping[str, str] = dataclasses.field(hash=False)


@dataclasses.dataclass(frozen=True)
class Delete:
    flavor_id: str


@dataclasses.dataclass(frozen=True)
class SetSpecs:
    """Add or change these extra specs (nova merges them into the flavor's)."""

    specs: Mapping[str, str] = dataclasses.field(hash=False)


@dataclasses.dataclass(frozen=True)
class UnsetSpec:
    key: str


@dataclasses.dataclass(frozen=True)
class Describe:
    description: str | None


@dataclasses.dataclass(frozen=True)
class Grant:
    project_id: str


@dataclasses.dataclass(frozen=True)
class Revoke:
    project_id: str


Step = CheckSpecs | Create | Delete | SetSpecs | UnsetSpec | Describe | Grant | Revoke


@dataclasses.dataclass(frozen=True)
class Decision:
    result: str  # CREATED, UNCHANGED, UPDATED, REPLACED or CONFLICT
    steps: tuple[Step, ...] = ()
    differing: tuple[str, ...] = ()  # the target's differing fields, in FIELDS order


def decide(source: Flavor, target: Flavor | None, force: bool, resume: bool = False) -> Decision:
    """``resume``: the target is kingsync's own copy, left unfinished by an earlier
    attempt; what can be finished in place is finished, as if with force."""
    if target is None:
        return Decision(CREATED, _make(source))
    differing = differences(source, target)
    if not differing:
        return Decision(UNCHANGED)
    if (force or resume) and IN_PLACE.issuperset(differing):
        return Decision(UPDATED, _amend(source, target), differing)
    if force:
        check: tuple[Step, ...] = (CheckSpecs(dict(source.extra_specs)),) if source.extra_specs else ()
        return Decision(REPLACED, (*check, Delete(target.id), *_make(source)), differing)
    return Decision(CONFLICT, (), differing)


def _make(source: Flavor) -> tuple[Step, ...]:
    specs: tuple[Step, ...] = (SetSpecs(dict(source.extra_specs)),) if source.extra_specs else ()
    return (Create(source), *specs, *(Grant(project) for project in source.access))


def _amend(source: Flavor, target: Flavor) -> tuple[Step, ...]:
    """The in-place changes that turn ``target`` into ``source``. The specs come first:
    they are the step a region may refuse, and then nothing else has been changed."""
    steps: list[Step] = []
    changed = {key: value for key, value in source.extra_specs.items() if target.extra_specs.get(key) != value}
    if changed:
        steps.append(SetSpecs(changed))
    steps.extend(UnsetSpec(key) for key in sorted(set(target.extra_specs) - set(source.extra_specs)))
    if source.description != target.description:
        steps.append(Describe(source.description))
    steps.extend(Grant(project) for project in source.access if project not in target.access)
    steps.extend(Revoke(project) for project in target.access if project not in source.access)
    return tuple(steps)
