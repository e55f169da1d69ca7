"""The flavor sync's I/O shell against an in-memory nova: what it sends, what it
keeps on record, and the half-made copies and races it must survive."""

from __future__ import annotations

import json
import types
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions

from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, REPLACED, SUCCESS, UNCHANGED, UPDATED
from kingsync.regions import rest
from kingsync.sync import errors, flavor, flavor_plan
from kingsync.sync.task import Outcome, Task
from tests.unit.sync import items
from tests.unit.sync.record import MemoryRecord

BAD_SPEC = "Validation failed; 'bogus' is not one of: dedicated, shared, mixed."
NO_PROJECT = "Project ID %s is not a valid project."
PROJECTS = {"p1", "p2"}


def _response(status: int, body: Any = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = b"" if body is None else json.dumps(body).encode()
    resp.headers["Content-Type"] = "application/json"
    return resp


def _fault(status: int, message: str) -> requests.Response:
    name = {400: "badRequest", 404: "itemNotFound", 409: "conflictingRequest"}.get(status, "computeFault")
    return _response(status, {name: {"code": status, "message": message}})


def _valid(specs: dict[str, Any], mv: tuple[int, ...]) -> bool:
    return mv < (2, 86) or specs.get("hw:cpu_policy", "shared") in ("dedicated", "shared", "mixed")


class FakeNova:
    """The flavor API of one region as kingsync calls it (compute ``request``), from 2.61 on.

    Faithful where kingsync depends on it: ids and names unique without
    regard to case, specs validated from 2.86 (here: ``hw:cpu_policy`` only),
    access only for private flavors and for projects Keystone knows.
    """

    def __init__(self, max_microversion: tuple[int, int] | None = (2, 104)) -> None:
        self.flavors: dict[str, dict[str, Any]] = {}  # by id, folded
        self.max_microversion = max_microversion
        self.calls: list[str] = []  # "METHOD path" (unquoted), plus " @mv" for extra specs
        self.before: dict[str, list[Callable[[], Any]]] = {}  # "METHOD /flavors..." -> run before the call lands
        self.fail: dict[str, int] = {}  # "METHOD /flavors..." -> answer that status once

    # -- what the shell calls ------------------------------------------------------------------

    def get_endpoint_data(self) -> Any:
        return types.SimpleNamespace(max_microversion=self.max_microversion)

    def request(self, path: str, method: str, **options: Any) -> requests.Response:
        path, _, query = path.partition("?")
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        mv = tuple(int(n) for n in options["microversion"].split("."))
        shape = "%s /%s" % (method, "/".join(parts[:1] + ["{id}"] * (len(parts) > 1) + parts[2:3]))
        self.calls.append("%s %s" % (method, "/".join(parts)) + (" @%d.%d" % mv if "os-extra_specs" in parts else ""))
        for hook in self.before.pop(shape, []):
            hook()
        if shape in self.fail:
            return _fault(self.fail.pop(shape), "failed on purpose")
        body: Any = options.get("json")
        if parts == ["flavors", "detail"]:
            return self._list(urllib.parse.parse_qs(query))
        if parts == ["flavors"] and method == "POST":
            return self._create(body["flavor"])
        if parts[2:3] == ["os-extra_specs"] and method == "POST" and not _valid(body["extra_specs"], mv):
            return _fault(400, BAD_SPEC)  # nova checks the specs before it looks the flavor up
        found = self.flavors.get(parts[1].lower())
        if found is None:
            return _fault(404, "Flavor %s could not be found." % parts[1])
        rest_of = parts[2:]
        if not rest_of:
            if method == "GET":
                return _response(200, {"flavor": dict(found)})
            if method == "PUT":
                found["description"] = body["flavor"]["description"]
                return _response(200, {"flavor": dict(found)})
            del self.flavors[parts[1].lower()]
            return _response(202)
        if rest_of[0] == "os-extra_specs":
            return self._specs(found, method, rest_of[1:], body, mv)
        if rest_of[0] == "os-flavor-access":
            if found["os-flavor-access:is_public"]:
                return _fault(404, "Access list not available for public flavors.")
            return self._access(found)
        return self._action(found, body)

    # -- nova's behaviour ------------------------------------------------------------------------

    def _list(self, query: dict[str, list[str]]) -> requests.Response:
        assert query.get("is_public") == ["None"]  # or an admin sees the public flavors only
        flavors = sorted(self.flavors.values(), key=lambda f: str(f["id"]))
        marker = query.get("marker")
        if marker:
            flavors = [f for f in flavors if str(f["id"]) > marker[0]]
        page, more = flavors[:2], len(flavors) > 2  # small pages, to be followed
        answer: dict[str, Any] = {"flavors": [{k: v for k, v in f.items() if k != "access"} for f in page]}
        if more:
            answer["flavors_links"] = [{"rel": "next", "href": "..."}]
        return _response(200, answer)

    def _create(self, vals: dict[str, Any]) -> requests.Response:
        if vals["id"].lower() in self.flavors:
            return _fault(409, "Flavor with ID %s already exists." % vals["id"])
        if any(f["name"].lower() == vals["name"].lower() for f in self.flavors.values()):
            return _fault(409, "Flavor with name %s already exists." % vals["name"])
        self.put(vals)
        return _response(200, {"flavor": self.flavors[vals["id"].lower()]})

    def put(self, vals: dict[str, Any], specs: dict[str, str] | None = None, access: list[str] | None = None) -> None:
        """A flavor made the way a POST /flavors makes one (plus ``specs`` and ``access``)."""
        self.flavors[vals["id"].lower()] = {
            "id": vals["id"],
            "name": vals["name"],
            "ram": vals["ram"],
            "vcpus": vals["vcpus"],
            "disk": vals["disk"],
            "swap": vals.get("swap") or "",
            "OS-FLV-EXT-DATA:ephemeral": vals.get("OS-FLV-EXT-DATA:ephemeral", 0),
            "OS-FLV-DISABLED:disabled": False,
            "os-flavor-access:is_public": vals.get("os-flavor-access:is_public", True),
            "rxtx_factor": float(vals.get("rxtx_factor", 1.0)),
            "description": vals.get("description"),
            "extra_specs": dict(specs or {}),
            "links": [],
            "access": list(access or []),
        }

    def _specs(
        self, found: dict[str, Any], method: str, key: list[str], body: Any, mv: tuple[int, ...]
    ) -> requests.Response:
        if method == "DELETE":
            if key[0] not in found["extra_specs"]:
                return _fault(404, "Flavor %s has no extra specs with key %s." % (found["id"], key[0]))
            del found["extra_specs"][key[0]]
            return _response(200)
        specs = body["extra_specs"]
        found["extra_specs"].update({k: str(v) for k, v in specs.items()})
        return _response(200, body)

    def _access(self, found: dict[str, Any]) -> requests.Response:
        rows = [{"flavor_id": found["id"], "tenant_id": p} for p in found["access"]]
        return _response(200, {"flavor_access": rows})

    def _action(self, found: dict[str, Any], body: dict[str, Any]) -> requests.Response:
        ((action, args),) = body.items()
        tenant = args["tenant"]
        if action == "addTenantAccess":
            if tenant not in PROJECTS:
                return _fault(400, NO_PROJECT % tenant)
            if tenant in found["access"]:
                return _fault(409, "Flavor access already exists for flavor 1 and project %s combination." % tenant)
            found["access"].append(tenant)
        else:
            if tenant not in found["access"]:
                return _fault(404, "Flavor access not found for 1 / %s combination." % tenant)
            found["access"].remove(tenant)
        return self._access(found)

    # -- for the tests ---------------------------------------------------------------------------

    def shown(self, flavor_id: str) -> flavor_plan.Flavor | None:
        found = self.flavors.get(flavor_id.lower())
        return None if found is None else flavor_plan.Flavor.from_api(found, found["access"])


class FakeConnection:
    def __init__(self, region: str) -> None:
        self.compute = FakeNova()
        self.config = types.SimpleNamespace(region_name=region)


SMALL = {
    "id": "42",
    "name": "m1.small",
    "ram": 2048,
    "vcpus": 1,
    "disk": 20,
    "swap": 512,
    "OS-FLV-EXT-DATA:ephemeral": 0,
    "os-flavor-access:is_public": False,
    "rxtx_factor": 1.0,
    "description": "small",
}
SPECS = {"hw:cpu_policy": "dedicated", "mycompany:x": "y"}


@pytest.fixture
def clouds() -> dict[str, FakeConnection]:
    regions = {name: FakeConnection(name) for name in ("RegionOne", "RegionTwo")}
    regions["RegionOne"].compute.put(SMALL, SPECS, ["p2", "p1"])
    return regions


def _source(clouds: dict[str, FakeConnection]) -> flavor_plan.Flavor:
    found = clouds["RegionOne"].compute.shown("42")
    assert found is not None
    return found


def _run(
    clouds: dict[str, FakeConnection], force: bool = False, record: MemoryRecord | None = None, resource: str = "42"
) -> Outcome:
    item = items.item("flavor", resource, force)
    task = Task(item, "p-admin", "u-admin", clouds.__getitem__, record or MemoryRecord())  # type: ignore[arg-type]
    return flavor.sync(task)


def _failure(outcome: Outcome, result: str) -> str:
    assert (outcome.status, outcome.result) == (FAILURE, result), outcome
    assert outcome.error is not None
    return outcome.error


# -- creating -------------------------------------------------------------------------------------


def test_a_private_flavor_is_copied_with_its_id_specs_and_access(clouds: dict[str, FakeConnection]) -> None:
    record = MemoryRecord()
    assert _run(clouds, record=record) == Outcome(SUCCESS, CREATED, "42")
    assert clouds["RegionTwo"].compute.shown("42") == _source(clouds)
    # On record as soon as nova made it, complete once everything was done.
    assert record.writes == [("keep", "42", "42", False), ("keep", "42", "42", True)]


def test_a_flavor_is_found_in_the_source_by_name_too(clouds: dict[str, FakeConnection]) -> None:
    assert _run(clouds, resource="m1.small") == Outcome(SUCCESS, CREATED, "42")
    assert clouds["RegionTwo"].compute.shown("42") == _source(clouds)


def test_specs_are_sent_at_2_86_so_nova_checks_them(clouds: dict[str, FakeConnection]) -> None:
    _run(clouds)
    assert "POST flavors/42/os-extra_specs @2.86" in clouds["RegionTwo"].compute.calls


def test_a_region_before_2_86_gets_its_specs_at_2_61(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute.max_microversion = (2, 85)
    assert _run(clouds).result == CREATED
    assert "POST flavors/42/os-extra_specs @2.61" in clouds["RegionTwo"].compute.calls


def test_a_region_whose_version_discovery_failed_is_tried_again_later(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute.max_microversion = None
    with pytest.raises(errors.RetryLater, match="RegionTwo did not say which compute microversions"):
        _run(clouds)


def test_a_flavor_gone_from_the_source_fails_clearly(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.flavors.clear()
    error = _failure(_run(clouds), ERROR)
    assert error == "Flavor 42 no longer exists in the source region RegionOne; nothing to copy."


# -- the same, or different -----------------------------------------------------------------------


def test_an_identical_flavor_is_unchanged_and_kept_on_record(clouds: dict[str, FakeConnection]) -> None:
    # Nova answers swap "" for none before 2.75; a description of "" is none.
    clouds["RegionTwo"].compute.put(SMALL, SPECS, ["p1", "p2"])
    record = MemoryRecord()
    assert _run(clouds, force=True, record=record) == Outcome(SUCCESS, UNCHANGED, "42")
    assert record.writes == [("keep", "42", "42", True)]
    assert not any(call.startswith(("POST", "PUT", "DELETE")) for call in clouds["RegionTwo"].compute.calls)


def test_a_different_flavor_is_a_conflict_naming_the_fields(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute.put({**SMALL, "ram": 4096}, {"hw:cpu_policy": "shared"}, ["p1", "p2"])
    record = MemoryRecord()
    outcome = _run(clouds, record=record)
    assert _failure(outcome, CONFLICT) == (
        "Flavor m1.small (id 42) in RegionTwo differs from RegionOne in ram, extra_specs; "
        "sync with force to replace it."
    )
    assert outcome.target_id == "42" and record.writes == []


def test_force_replaces_a_flavor_whose_sizes_differ(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.put({**SMALL, "ram": 4096})
    assert _run(clouds, force=True) == Outcome(SUCCESS, REPLACED, "42")
    assert target.shown("42") == _source(clouds)
    writes = [call for call in target.calls if not call.startswith("GET")]
    # The specs are asked about on a flavor that does not exist, before anything is deleted.
    assert writes[0].startswith("POST flavors/kingsync-check-") and writes[0].endswith("/os-extra_specs @2.86")
    assert writes[1:3] == ["DELETE flavors/42", "POST flavors"]


def test_force_updates_in_place_what_nova_lets_change(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.put({**SMALL, "description": None}, {"hw:cpu_policy": "shared", "old": "1"}, ["p1"])
    assert _run(clouds, force=True) == Outcome(SUCCESS, UPDATED, "42")
    assert target.shown("42") == _source(clouds)
    assert [call for call in target.calls if not call.startswith("GET")] == [
        "POST flavors/42/os-extra_specs @2.86",
        "DELETE flavors/42/os-extra_specs/old @2.61",
        "PUT flavors/42",
        "POST flavors/42/action",
    ]


def test_a_flavor_holding_the_name_under_another_id_is_the_target(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.put({**SMALL, "id": "7", "name": "M1.SMALL"}, SPECS, ["p1", "p2"])  # nova's names ignore case
    outcome = _run(clouds)
    assert "Flavor M1.SMALL (id 7) in RegionTwo differs from RegionOne in id, name;" in _failure(outcome, CONFLICT)
    assert _run(clouds, force=True) == Outcome(SUCCESS, REPLACED, "42")
    assert target.shown("7") is None and target.shown("42") == _source(clouds)


def test_the_name_is_found_among_many_pages_of_flavors(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    for n in range(7):
        target.put({**SMALL, "id": "a%d" % n, "name": "other-%d" % n})
    target.put({**SMALL, "id": "z9", "ram": 1})
    assert "Flavor m1.small (id z9) in RegionTwo differs from RegionOne in id, ram," in _failure(_run(clouds), CONFLICT)


# -- half-made copies and refusals ----------------------------------------------------------------


def test_a_half_made_copy_on_record_is_finished_on_retry_without_force(clouds: dict[str, FakeConnection]) -> None:
    # An earlier attempt made the flavor and stopped before its specs and access.
    clouds["RegionTwo"].compute.put(SMALL)
    record = MemoryRecord()
    record.keep("42", "42", complete=False)
    assert _run(clouds, record=record) == Outcome(SUCCESS, UPDATED, "42")
    assert clouds["RegionTwo"].compute.shown("42") == _source(clouds)
    assert record.find("42") is not None and record.find("42").complete  # type: ignore[union-attr]


def test_the_same_flavor_not_on_record_as_kingsyncs_is_a_conflict(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute.put(SMALL)
    assert "differs from RegionOne in extra_specs, access;" in _failure(_run(clouds), CONFLICT)


def test_a_copy_interrupted_by_a_server_error_is_finished_by_the_retry(clouds: dict[str, FakeConnection]) -> None:
    target, record = clouds["RegionTwo"].compute, MemoryRecord()
    target.fail["POST /flavors/{id}/action"] = 503
    with pytest.raises(rest.ServiceError) as raised:
        _run(clouds, record=record)
    assert raised.value.status == 503  # for the engine to retry
    assert record.writes == [("keep", "42", "42", False)]
    assert _run(clouds, record=record) == Outcome(SUCCESS, UPDATED, "42")
    assert target.shown("42") == _source(clouds)


def test_refused_specs_delete_the_flavor_kingsync_just_made(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.flavors["42"]["extra_specs"]["hw:cpu_policy"] = "bogus"
    record = MemoryRecord()
    outcome = _run(clouds, record=record)
    assert _failure(outcome, ERROR) == (
        "RegionTwo refused the extra specs of flavor m1.small: %s kingsync deleted the flavor it had made there, "
        "so none stays without its extra specs." % BAD_SPEC
    )
    assert clouds["RegionTwo"].compute.shown("42") is None
    assert record.writes == [("keep", "42", "42", False), ("forget", "42", None, None)]
    assert record.find("42") is None


def test_refused_specs_leave_a_flavor_that_was_there_before(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.flavors["42"]["extra_specs"]["hw:cpu_policy"] = "bogus"
    target = clouds["RegionTwo"].compute
    target.put({**SMALL, "description": "theirs"}, {"hw:cpu_policy": "shared"}, ["p1"])
    before = target.shown("42")
    outcome = _run(clouds, force=True)
    assert _failure(outcome, ERROR).endswith(": %s The flavor there was left as it was." % BAD_SPEC)
    assert target.shown("42") == before


def test_refused_specs_delete_kingsyncs_own_unfinished_copy_too(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.flavors["42"]["extra_specs"]["hw:cpu_policy"] = "bogus"
    clouds["RegionTwo"].compute.put(SMALL)
    record = MemoryRecord()
    record.keep("42", "42", complete=False)
    assert "kingsync deleted the flavor it had made there" in _failure(_run(clouds, record=record), ERROR)
    assert clouds["RegionTwo"].compute.shown("42") is None and record.find("42") is None


def test_specs_a_replace_would_have_refused_leave_the_old_flavor_in_place(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.flavors["42"]["extra_specs"]["hw:cpu_policy"] = "bogus"
    target = clouds["RegionTwo"].compute
    target.put({**SMALL, "ram": 1})
    before = target.shown("42")
    error = _failure(_run(clouds, force=True), ERROR)
    assert error.endswith(": %s The flavor there was left as it was." % BAD_SPEC)
    assert target.shown("42") == before
    assert not any(call.startswith(("DELETE", "POST flavors ")) for call in target.calls)


def test_access_for_a_project_keystone_does_not_know_fails_with_novas_words(
    clouds: dict[str, FakeConnection],
) -> None:
    clouds["RegionOne"].compute.flavors["42"]["access"] = ["p1", "gone"]
    record = MemoryRecord()
    outcome = _run(clouds, record=record)
    assert _failure(outcome, ERROR) == (
        "RegionTwo refused access to flavor m1.small for project gone: %s" % (NO_PROJECT % "gone")
    )
    # The flavor stays, unfinished on record: a later sync finishes it once the project exists.
    assert clouds["RegionTwo"].compute.shown("42") is not None
    assert record.writes == [("keep", "42", "42", False)]


# -- races ------------------------------------------------------------------------------------------


def test_the_same_flavor_made_meanwhile_by_someone_else_is_unchanged(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.before["POST /flavors"] = [lambda: target.put(SMALL, SPECS, ["p1", "p2"])]
    assert _run(clouds) == Outcome(SUCCESS, UNCHANGED, "42")


def test_a_different_flavor_made_meanwhile_is_a_conflict(clouds: dict[str, FakeConnection]) -> None:
    target = clouds["RegionTwo"].compute
    target.before["POST /flavors"] = [lambda: target.put({**SMALL, "id": "99", "vcpus": 8})]
    assert "differs from RegionOne in id, vcpus, extra_specs, access;" in _failure(_run(clouds), CONFLICT)


class Flickering(FakeNova):
    """A flavor nobody sees whenever kingsync looks, yet there whenever it creates."""

    def _create(self, vals: dict[str, Any]) -> requests.Response:
        return _fault(409, "Flavor with ID %s already exists." % vals["id"])


def test_a_flavor_there_at_every_create_yet_gone_at_every_look_gives_up(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionTwo"].compute = Flickering()
    assert "kept changing while kingsync copied it" in _failure(_run(clouds), ERROR)
    assert clouds["RegionTwo"].compute.calls.count("POST flavors") == 2  # bounded: no endless loop


# -- the API's check of the source ----------------------------------------------------------------


def _connect(clouds: dict[str, FakeConnection]) -> Any:
    return clouds.__getitem__


def test_find_sources_finds_a_flavor_by_id_or_by_name(clouds: dict[str, FakeConnection]) -> None:
    flavor.find_sources(None, _connect(clouds), "RegionOne", ["42", "m1.small"])  # type: ignore[arg-type]


def test_find_sources_names_what_it_did_not_find(clouds: dict[str, FakeConnection]) -> None:
    with pytest.raises(errors.SourceNotFound) as raised:
        flavor.find_sources(None, _connect(clouds), "RegionOne", ["42", "m1.huge"])  # type: ignore[arg-type]
    assert raised.value.message == "Flavor 'm1.huge' not found in region RegionOne (by id or by name)."


def test_find_sources_in_a_failing_region_is_unavailable(clouds: dict[str, FakeConnection]) -> None:
    clouds["RegionOne"].compute.fail["GET /flavors/{id}"] = 503
    with pytest.raises(errors.SourceUnavailable) as raised:
        flavor.find_sources(None, _connect(clouds), "RegionOne", ["42"])  # type: ignore[arg-type]
    assert raised.value.message == (
        "Region RegionOne could not be asked whether flavor '42' exists (nova answered 503: failed on purpose); "
        "try again later."
    )


def test_find_sources_in_an_unreachable_region_is_unavailable(clouds: dict[str, FakeConnection]) -> None:
    def refused(path: str, method: str, **options: Any) -> requests.Response:
        raise ks_exceptions.ConnectFailure("Unable to establish connection")

    clouds["RegionOne"].compute.request = refused  # type: ignore[method-assign]
    with pytest.raises(errors.SourceUnavailable, match=r"flavor '42' exists \(ConnectFailure\)"):
        flavor.find_sources(None, _connect(clouds), "RegionOne", ["42"])  # type: ignore[arg-type]
