"""A project's quotas region by region (kingsync's, not Kingbird's).

    GET        .../os-quota-sets/{target_id}/regions            what each region holds now
    GET/PUT/DELETE .../os-quota-sets/{target_id}/regions/{region}   pins and exclusion there

Everything shown comes from the database, as the engine last found it:
nothing here calls a region, so the page answers while regions are down,
and says when each value was last confirmed.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from typing import Any

import flask
from oslo_log import log as logging

from kingsync.api import errors, runtime, validation
from kingsync.api.handlers import quota, quota_headroom
from kingsync.api.schemas import quota as schema
from kingsync.db import session
from kingsync.db.quota import limits as global_limits
from kingsync.db.quota import projects
from kingsync.db.quota import regional as regional_state
from kingsync.db.quota import settings as project_settings
from kingsync.db.quota.errors import NotFound
from kingsync.policies import quota as rules
from kingsync.quota import resources

LOG = logging.getLogger(__name__)

REACHABLE = "reachable"
UNREACHABLE = "unreachable"
UNKNOWN = "unknown"


def overview(project_id: str, target_id: str) -> flask.Response:
    quota.caller(project_id, rules.REGIONS, target_id)
    known = quota.region_names()
    with session.transaction(runtime.get().database_url) as db:
        regional = regional_state.get_regional(db, target_id)
        statuses = regional_state.list_region_status(db)
        settings = project_settings.get_region_settings(db, target_id)
        state = projects.get_project_state(db, target_id)
        limits = global_limits.effective_limits(db, target_id) if state is not None else {}
        headroom = quota_headroom.view(*project_settings.get_project_policy(db, target_id))
    # A region that left the catalog still shows what kingsync last set there.
    stored = {region for region, _ in regional} | set(settings)
    names = [*known, *sorted(stored - set(known))]
    # A managed project shows every resource the engine manages, confirmed or not yet.
    managed = [name for name in limits if resources.managed_kind(name) != resources.IGNORED]
    by_region: dict[str, list[regional_state.RegionStatus]] = collections.defaultdict(list)
    for (region, _service), status in sorted(statuses.items()):
        by_region[region].append(status)
    return flask.jsonify(
        {
            "regions": [
                _region_view(name, by_region.get(name, []), settings.get(name), regional, managed) for name in names
            ],
            "project": {
                "managed": state is not None,
                "headroom_policy": headroom,
                "last_reconciled_at": quota.iso_time(state.last_reconciled_at) if state else None,
                "last_status": state.last_status if state else None,
                "last_error": state.last_error if state else None,
                "next_check_at": quota.iso_time(state.next_check_at) if state else None,
            },
        }
    )


def _region_view(
    region: str,
    statuses: list[regional_state.RegionStatus],
    setting: project_settings.RegionSetting | None,
    regional: Mapping[tuple[str, str], regional_state.Regional],
    managed: Iterable[str],
) -> dict[str, Any]:
    if not statuses:
        state = UNKNOWN
    elif all(status.reachable for status in statuses):
        state = REACHABLE
    else:
        state = UNREACHABLE
    pins = setting.pins if setting is not None else {}
    names = {*managed, *pins, *(resource for (where, resource) in regional if where == region)}
    shown: dict[str, Any] = {}
    for name in sorted(names):
        row = regional.get((region, name))
        shown[name] = {
            "usage": row.usage if row else None,
            "limit": row.limit if row else None,
            "pin": pins.get(name),
            "confirmed_at": quota.iso_time(row.confirmed_at) if row else None,
            "usage_at": quota.iso_time(row.usage_at) if row else None,
        }
    return {
        "region": region,
        "state": state,
        "services": {
            status.service: {
                "reachable": status.reachable,
                "last_error": status.last_error,
                "checked_at": quota.iso_time(status.checked_at),
                "last_ok_at": quota.iso_time(status.last_ok_at),
            }
            for status in statuses
        },
        "excluded": setting.excluded if setting is not None else False,
        "resources": shown,
    }


# -- one region's setting -----------------------------------------------------------------


def show_setting(project_id: str, target_id: str, region: str) -> flask.Response:
    quota.caller(project_id, rules.REGION_SETTING_SHOW, target_id)
    with session.transaction(runtime.get().database_url) as db:
        setting = project_settings.get_region_settings(db, target_id).get(region)
    if setting is None:
        _check_region(region)
    return flask.jsonify({"region_setting": _setting_view(region, setting)})


def update_setting(project_id: str, target_id: str, region: str) -> flask.Response:
    who = quota.caller(project_id, rules.REGION_SETTING_UPDATE, target_id)
    body = validation.json_body()
    validation.validate(body, schema.REGION_SETTING, schema.REGION_SETTING_HINTS)
    _check_region(region)
    wanted = body["region_setting"]
    pins: dict[str, int] = wanted.get("pins", {})
    _check_pins(pins)
    with session.transaction(runtime.get().database_url) as db:
        setting = project_settings.set_region_setting(
            db, target_id, region, wanted.get("excluded", False), pins, quota.actor(who)
        )
    quota.ring(who, target_id)
    LOG.info("Set the setting of project %s in region %s: %s", target_id, region, setting)
    return flask.jsonify({"region_setting": _setting_view(region, setting)})


def delete_setting(project_id: str, target_id: str, region: str) -> flask.Response:
    who = quota.caller(project_id, rules.REGION_SETTING_DELETE, target_id)
    with session.transaction(runtime.get().database_url) as db:
        try:
            project_settings.delete_region_setting(db, target_id, region, quota.actor(who))
        except NotFound:
            raise errors.ApiError(
                404,
                errors.REGION_SETTING_NOT_FOUND,
                "Project %s has no pins nor exclusion in region %s." % (target_id, region),
            ) from None
    quota.ring(who, target_id)
    LOG.info("Deleted the setting of project %s in region %s", target_id, region)
    return flask.jsonify({"region_setting": _setting_view(region, None)})


def _setting_view(region: str, setting: project_settings.RegionSetting | None) -> dict[str, Any]:
    if setting is None:
        return {"region": region, "excluded": False, "pins": {}}
    return {"region": region, "excluded": setting.excluded, "pins": dict(setting.pins)}


def _check_region(region: str) -> None:
    known = quota.region_names()
    if region not in known:
        raise errors.bad_request(
            errors.UNKNOWN_REGION, "Unknown region %s; the regions are: %s." % (region, ", ".join(sorted(known)))
        )


def _check_pins(pins: Mapping[str, int]) -> None:
    quota.checked_limits(pins)
    not_split = sorted(name for name in pins if not resources.is_divided(name))
    if not_split:
        raise errors.bad_request(
            errors.INVALID_BODY,
            "Only resources divided between the regions can be pinned; every region gets the whole limit of %s."
            % ", ".join(not_split),
        )
