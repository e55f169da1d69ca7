"""The security group sync's I/O shell against an in-memory neutron: the
order of its writes, the id record, and what it does when neutron says no."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import types
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exceptions

from kingsync.context import RequestContext
from kingsync.db.models import CONFLICT, CREATED, ERROR, FAILURE, SUCCESS, UNCHANGED, UPDATED
from kingsync.sync import errors, security_group, sg_rules
from kingsync.sync.task import Outcome, Task
from tests.unit.sync import items
from tests.unit.sync.record import MemoryRecord

PROJECT = "p-1"
OTHER = "p-2"
Json = dict[str, Any]


class Answer:
    """Just what kingsync.regions.rest reads of a requests.Response."""

    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.content = b"" if body is None else json.dumps(body).encode()
        self.headers = {"Content-Type": "application/json"}
        self.reason = ""
        self._body = body

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return self._body


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeNeutron:
    """Security groups of one region as neutron serves them to an admin: the default
    group made by a listing, template rules in new groups, duplicate and quota
    checks (409) with neutron's texts, bulk rule creation all or nothing."""

    def __init__(self) -> None:
        self.groups: dict[str, Json] = {}
        self.rules: dict[str, Json] = {}
        self.limits = {"security_group": 10, "security_group_rule": 100}
        self.calls: list[str] = []
        self.before: dict[str, list[Callable[[], object]]] = {}  # "POST /security-group-rules" -> hooks, run once
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # -- what tests set up and look at --------------------------------------------------

    def new_id(self, kind: str) -> str:
        return "%s-%d" % (kind, next(self._ids))

    def add_group(self, name: str, *rules: Json, project: str = PROJECT, templates: bool = False, **fields: Any) -> str:
        gid = self.new_id("sg")
        self.groups[gid] = {
            "id": gid,
            "name": name,
            "description": fields.get("description", ""),
            "stateful": fields.get("stateful", True),
            "project_id": project,
            "created_at": fields.get("created_at") or "2026-01-01T00:00:%02dZ" % next(self._clock),
        }
        if templates or name == "default":
            for ethertype in ("IPv4", "IPv6"):
                self.add_rule(gid, {"direction": "egress", "ethertype": ethertype})
        if name == "default":
            for ethertype in ("IPv4", "IPv6"):
                self.add_rule(gid, {"direction": "ingress", "ethertype": ethertype, "remote_group_id": gid})
        for rule in rules:
            self.add_rule(gid, rule)
        return gid

    def add_rule(self, gid: str, fields: Json) -> str:
        rid = self.new_id("rule")
        self.rules[rid] = {
            "id": rid,
            "security_group_id": gid,
            "project_id": fields.get("project_id", self.groups[gid]["project_id"]),
            "remote_group_id": None,
            "remote_ip_prefix": None,
            "remote_address_group_id": None,
            "protocol": None,
            "port_range_min": None,
            "port_range_max": None,
            "description": None,
            **{k: v for k, v in fields.items() if k != "project_id"},
        }
        return rid

    def named(self, name: str, project: str = PROJECT) -> list[Json]:
        return [g for g in self.groups.values() if g["name"] == name and g["project_id"] == project]

    def rules_of(self, gid: str) -> list[Json]:
        return [r for r in self.rules.values() if r["security_group_id"] == gid]

    def keys_of(self, gid: str, remote: Callable[[str], str | None] = lambda g: g) -> set[sg_rules.RuleKey]:
        return {sg_rules.key(r, remote=remote) for r in self.rules_of(gid)}

    def default_of(self, project: str = PROJECT) -> str:
        found = self.named("default", project)
        return str(found[0]["id"]) if found else self.add_group("default", project=project)

    # -- the API ---------------------------------------------------------------------------

    def request(self, path: str, method: str, **options: Any) -> Answer:
        call = "%s %s" % (method, path.split("?")[0])
        self.calls.append(call)
        for hook in self.before.pop(_generic(call), []):
            hook()
        try:
            return self._serve(method, path, options.get("json"))
        except Refusal as refusal:
            return Answer(refusal.status, {"NeutronError": {"type": "X", "message": refusal.message, "detail": ""}})

    def _serve(self, method: str, path: str, body: Json | None) -> Answer:
        route, _, query = path.partition("?")
        wanted = urllib.parse.parse_qs(query)
        parts = route.strip("/").split("/")
        if parts == ["security-groups"] and method == "GET":
            project = wanted["project_id"][0]
            self.default_of(project)
            found = [g for g in self.groups.values() if g["project_id"] == project]
            if "name" in wanted:
                found = [g for g in found if g["name"] == wanted["name"][0]]
            return Answer(200, {"security_groups": [self._view(g) for g in found]})
        if parts == ["security-groups"] and method == "POST":
            assert body is not None
            asked = body["security_group"]
            self._check_quota(asked["project_id"], "security_group", 1)
            self._check_quota(asked["project_id"], "security_group_rule", 2)
            gid = self.add_group(
                asked["name"], project=asked["project_id"], templates=True, description=asked["description"]
            )
            self.groups[gid]["stateful"] = asked["stateful"]
            return Answer(201, {"security_group": self._view(self.groups[gid])})
        if parts[0] == "security-groups" and method == "PUT":
            assert body is not None
            self.groups[parts[1]].update(body["security_group"])
            return Answer(200, {"security_group": self._view(self.groups[parts[1]])})
        if parts[0] == "security-groups" and method == "DELETE":
            if self.groups.pop(parts[1], None) is None:
                raise Refusal(404, "Security group %s does not exist" % parts[1])
            for rule in [r for r in self.rules.values() if parts[1] in (r["security_group_id"], r["remote_group_id"])]:
                del self.rules[rule["id"]]
            return Answer(204)
        if parts == ["security-group-rules"] and method == "POST":
            assert body is not None
            asked = body["security_group_rules"] if "security_group_rules" in body else [body["security_group_rule"]]
            return Answer(201, {"security_group_rules": self._create_rules(asked)})
        if parts[0] == "security-group-rules" and method == "DELETE":
            if self.rules.pop(parts[1], None) is None:
                raise Refusal(404, "Security group rule %s does not exist" % parts[1])
            return Answer(204)
        raise AssertionError("unexpected call %s %s" % (method, path))

    def _create_rules(self, asked: list[Json]) -> list[Json]:
        self._check_quota(asked[0].get("project_id", "service"), "security_group_rule", len(asked))
        seen = set()
        for rule in asked:
            rule_key = (rule["security_group_id"], sg_rules.key(rule))
            if rule_key in seen:
                raise Refusal(409, "Duplicate Security Group Rule in POST.")
            seen.add(rule_key)
        for existing in self.rules.values():
            if (existing["security_group_id"], sg_rules.key(existing)) in seen:
                raise Refusal(409, "Security group rule already exists. Rule id is %s." % existing["id"])
        created = [self.add_rule(rule["security_group_id"], rule) for rule in asked]
        return [self.rules[rid] for rid in created]

    def _check_quota(self, project: str, resource: str, more: int) -> None:
        if resource == "security_group":
            used = len([g for g in self.groups.values() if g["project_id"] == project])
        else:
            used = len([r for r in self.rules.values() if r["project_id"] == project])
        if used + more > self.limits[resource]:
            raise Refusal(409, "Quota exceeded for resources: ['%s']." % resource)

    def _view(self, group: Json) -> Json:
        return {**group, "security_group_rules": [dict(r) for r in self.rules_of(group["id"])]}


def _generic(call: str) -> str:
    """ "DELETE /security-group-rules/rule-7" -> "DELETE /security-group-rules/{id}"."""
    return re.sub(r"/[a-z]+-\d+$", "/{id}", call)


def writes(fake: FakeNeutron) -> list[str]:
    """The calls that change something, in their order."""
    return [_generic(call) for call in fake.calls if not call.startswith("GET")]


class Connection:
    def __init__(self, region: str) -> None:
        self.network = FakeNeutron()
        self.config = types.SimpleNamespace(region_name=region)


@pytest.fixture
def clouds() -> dict[str, Connection]:
    return {"RegionOne": Connection("RegionOne"), "RegionTwo": Connection("RegionTwo")}


def neutron(clouds: dict[str, Connection], region: str) -> FakeNeutron:
    return clouds[region].network


def _run(
    clouds: dict[str, Connection], resource: str, force: bool = False, record: MemoryRecord | None = None
) -> Outcome:
    item = items.item("security_group", resource, force)
    task = Task(item, PROJECT, "u-1", clouds.__getitem__, record or MemoryRecord())  # type: ignore[arg-type]
    return security_group.sync(task)


SSH = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}
HTTP = {**SSH, "port_range_min": 80, "port_range_max": 80}


def mapped(record: MemoryRecord) -> Callable[[str], str | None]:
    """A source group id to its copy's id, as the record has it: for comparing keys across regions."""

    def remote(group_id: str) -> str | None:
        copy = record.find(group_id)
        return copy.target_id if copy else None

    return remote


# -- creating --------------------------------------------------------------------------------


def test_a_new_copy_gets_the_rules_and_loses_the_template_rules(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    web = one.add_group("web", SSH, HTTP, description="front", stateful=False)
    record = MemoryRecord()

    outcome = _run(clouds, "web", record=record)

    (copy,) = two.named("web")
    assert outcome == Outcome(SUCCESS, CREATED, copy["id"])
    assert (copy["description"], copy["stateful"]) == ("front", False)
    assert two.keys_of(copy["id"]) == one.keys_of(web)  # the egress templates went
    assert {r["project_id"] for r in two.rules_of(copy["id"])} == {PROJECT}  # the tenant's, not kingsync's
    assert record.writes == [("keep", web, copy["id"], False), ("keep", web, copy["id"], True)]


def test_the_templates_of_a_new_group_go_before_its_rules_come(clouds: dict[str, Connection]) -> None:
    # Nothing can use a group just made, and deleting first spares the rule quota.
    neutron(clouds, "RegionOne").add_group("web", SSH, HTTP)
    _run(clouds, "web")
    assert writes(neutron(clouds, "RegionTwo")) == [
        "POST /security-groups",
        "DELETE /security-group-rules/{id}",
        "DELETE /security-group-rules/{id}",
        "POST /security-group-rules",
    ]


def test_a_cycle_creates_both_groups_and_maps_every_reference(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    a, b = one.add_group("a"), one.add_group("b")
    one.add_rule(a, {**SSH, "remote_group_id": b})
    one.add_rule(b, {**SSH, "remote_group_id": a})
    one.add_rule(b, {**HTTP, "remote_group_id": b})  # and itself
    record = MemoryRecord()

    outcome = _run(clouds, "a", record=record)

    assert (outcome.status, outcome.result) == (SUCCESS, CREATED)
    (a2,), (b2,) = two.named("a"), two.named("b")
    assert outcome.target_id == a2["id"]
    for source, copy in ((a, a2["id"]), (b, b2["id"])):
        assert two.keys_of(copy) == one.keys_of(source, remote=mapped(record))
        assert record.find(source) is not None and record.find(source).complete  # type: ignore[union-attr]


def test_a_referenced_group_the_target_has_is_mapped_and_left_alone(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    db = one.add_group("db", SSH)
    one.add_group("web", {**HTTP, "remote_group_id": db})
    theirs = two.add_group("db", HTTP, description="theirs")
    before = two.keys_of(theirs)
    record = MemoryRecord()

    assert _run(clouds, "web", record=record).result == CREATED

    (web2,) = two.named("web")
    assert [r["remote_group_id"] for r in two.rules_of(web2["id"])] == [theirs]
    assert two.keys_of(theirs) == before and two.groups[theirs]["description"] == "theirs"
    assert record.find(db) is not None and record.find(db).target_id == theirs  # type: ignore[union-attr]


def test_an_identical_group_is_unchanged_and_adopted(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    web = one.add_group("web", SSH)
    same = two.add_group("web", {**SSH, "protocol": "6", "description": "other words"})
    record = MemoryRecord()
    assert _run(clouds, "web", record=record) == Outcome(SUCCESS, UNCHANGED, same)
    assert record.writes == [("keep", web, same, True)]
    assert writes(two) == []


# -- differences -----------------------------------------------------------------------------------


def test_a_different_group_is_a_conflict_and_nothing_is_written(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    one.add_group("web", SSH, HTTP, description="new")
    theirs = two.add_group("web", SSH, templates=True, description="old")
    record = MemoryRecord()
    outcome = _run(clouds, "web", record=record)
    assert (outcome.status, outcome.result, outcome.target_id) == (FAILURE, CONFLICT, theirs)
    assert outcome.error == (
        "Security group web in RegionTwo differs from RegionOne: 1 rule missing, 2 extra, description; "
        "sync with force to make it equal."
    )
    assert writes(two) == [] and record.writes == []


def test_force_adds_before_it_deletes(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    web = one.add_group("web", SSH, HTTP, description="new")
    theirs = two.add_group("web", SSH, templates=True, description="old")
    outcome = _run(clouds, "web", force=True)
    assert outcome == Outcome(SUCCESS, UPDATED, theirs)
    assert two.keys_of(theirs) == one.keys_of(web) and two.groups[theirs]["description"] == "new"
    assert writes(two) == [
        "PUT /security-groups/{id}",
        "POST /security-group-rules",
        "DELETE /security-group-rules/{id}",
        "DELETE /security-group-rules/{id}",
    ]


def test_a_stateful_change_neutron_refuses_fails_the_item_with_its_words(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    one.add_group("web", SSH, stateful=False)
    theirs = two.add_group("web", SSH)
    original = two._serve

    def serve(method: str, path: str, body: Json | None) -> Answer:
        if method == "PUT":
            raise Refusal(409, "Security Group %s in use." % theirs)
        return original(method, path, body)

    two._serve = serve  # type: ignore[method-assign]
    outcome = _run(clouds, "web", force=True)
    assert (outcome.status, outcome.result, outcome.target_id) == (FAILURE, ERROR, theirs)
    assert outcome.error is not None and outcome.error.endswith("Security Group %s in use." % theirs)


def test_the_default_group_is_merged_never_duplicated(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    source = one.default_of()
    one.add_rule(source, SSH)
    target = two.default_of()
    two.groups[target]["description"] = "theirs"
    two.add_rule(target, HTTP)
    record = MemoryRecord()

    assert _run(clouds, "default", record=record) == Outcome(SUCCESS, UPDATED, target)

    assert [g["id"] for g in two.named("default")] == [target]
    assert two.keys_of(target) == one.keys_of(source, remote=lambda g: target if g == source else g)
    assert two.groups[target]["description"] == "theirs"
    assert record.writes == [("keep", source, target, True)]
    assert _run(clouds, "default", record=record).result == UNCHANGED


# -- resuming, and neutron's refusals ------------------------------------------------------------------


def test_a_half_made_copy_is_finished_by_the_retry_without_force(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    web = one.add_group("web", SSH, HTTP, {**SSH, "port_range_min": 443, "port_range_max": 443})
    # Room for the default group's 4 rules and a new group's 2 templates: once the templates
    # go, one short of its 3 rules.
    two.limits["security_group_rule"] = 4 + 2
    record = MemoryRecord()

    with pytest.raises(errors.RetryLater) as later:
        _run(clouds, "web", record=record)

    (half,) = two.named("web")
    assert "Quota exceeded for resources: ['security_group_rule']." in str(later.value)
    assert later.value.rebalance == PROJECT
    assert record.find(web) is not None and record.find(web).complete is False  # type: ignore[union-attr]

    two.limits["security_group_rule"] = 100  # the global quota moved room here
    outcome = _run(clouds, "web", record=record)

    assert outcome == Outcome(SUCCESS, CREATED, half["id"])
    assert len(two.named("web")) == 1 and two.keys_of(half["id"]) == one.keys_of(web)
    assert record.find(web).complete is True  # type: ignore[union-attr]


def test_no_room_for_the_group_is_retry_later_with_nothing_on_record(clouds: dict[str, Connection]) -> None:
    neutron(clouds, "RegionOne").add_group("web", SSH)
    neutron(clouds, "RegionTwo").limits["security_group"] = 1  # the default group takes it
    record = MemoryRecord()
    with pytest.raises(errors.RetryLater, match=r"Quota exceeded for resources: \['security_group'\]"):
        _run(clouds, "web", record=record)
    assert record.writes == []


def test_a_rule_that_appears_meanwhile_turns_the_bulk_post_into_single_ones(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    web = one.add_group("web", SSH, HTTP)
    theirs = two.add_group("web", templates=True)
    # Someone adds one of the rules between kingsync's look and its bulk POST.
    two.before["POST /security-group-rules"] = [lambda: two.add_rule(theirs, {**SSH, "protocol": "6"})]

    outcome = _run(clouds, "web", force=True)

    assert outcome == Outcome(SUCCESS, UPDATED, theirs)
    assert two.keys_of(theirs) == one.keys_of(web)
    assert [c for c in two.calls if c == "POST /security-group-rules"] == ["POST /security-group-rules"] * 3


def test_a_rule_neutron_calls_existing_is_kept_not_deleted_as_extra(clouds: dict[str, Connection]) -> None:
    one, two = neutron(clouds, "RegionOne"), neutron(clouds, "RegionTwo")
    one.add_group("web", SSH, HTTP)
    theirs = two.add_group("web")
    # A target rule kingsync's key reads differently from neutron's duplicate check.
    odd = two.add_rule(theirs, {"direction": "ingress", "ethertype": "IPv4", "protocol": "bogus"})
    original = two._create_rules

    def create(asked: list[Json]) -> list[Json]:
        if any(rule["port_range_min"] == 80 for rule in asked):
            raise Refusal(409, "Security group rule already exists. Rule id is %s." % odd)
        return original(asked)

    two._create_rules = create  # type: ignore[method-assign]
    assert _run(clouds, "web", force=True).result == UPDATED
    assert odd in two.rules


def test_the_target_is_read_and_written_while_holding_the_projects_regional_lock(
    clouds: dict[str, Connection],
) -> None:
    # Two items of the project at once could both create a group they refer to:
    # everything done in the target happens inside the one lock of (project, region).
    neutron(clouds, "RegionOne").add_group("web", SSH)
    two = neutron(clouds, "RegionTwo")
    held: list[str] = []
    outside: list[int] = []

    @contextlib.contextmanager
    def exclusive(name: str) -> Iterator[None]:
        held.append(name)
        outside.append(len(two.calls))
        yield
        outside.append(len(two.calls))

    item = items.item("security_group", "web", False)
    task = Task(item, PROJECT, "u-1", clouds.__getitem__, MemoryRecord(), exclusive)  # type: ignore[arg-type]
    assert security_group.sync(task).result == CREATED
    assert held == ["security_group/%s/RegionTwo" % PROJECT]
    assert outside[0] == 0 and outside[1] == len(two.calls) > 0


def test_a_source_gone_since_the_request_is_an_error(clouds: dict[str, Connection]) -> None:
    outcome = _run(clouds, "web")
    assert (outcome.status, outcome.result) == (FAILURE, ERROR)
    assert outcome.error == "Security group 'web' not found in project p-1 in region RegionOne. Nothing to copy."


def test_several_groups_of_the_name_in_the_target_are_a_conflict(clouds: dict[str, Connection]) -> None:
    neutron(clouds, "RegionOne").add_group("web", SSH)
    two = neutron(clouds, "RegionTwo")
    two.add_group("web")
    two.add_group("web")
    outcome = _run(clouds, "web", force=True)
    assert (outcome.status, outcome.result) == (FAILURE, CONFLICT)
    assert outcome.error is not None and "kingsync cannot tell which is the copy" in outcome.error


# -- the API's check ---------------------------------------------------------------------------------


def _find(clouds: dict[str, Connection], *names: str) -> None:
    ctxt = RequestContext(user_id="u-1", project_id=PROJECT)
    security_group.find_sources(ctxt, clouds.__getitem__, "RegionOne", names)  # type: ignore[arg-type]


def test_the_check_finds_groups_by_id_and_by_name(clouds: dict[str, Connection]) -> None:
    web = neutron(clouds, "RegionOne").add_group("web")
    _find(clouds, "web", web, "default")


def test_the_check_does_not_show_another_projects_group(clouds: dict[str, Connection]) -> None:
    theirs = neutron(clouds, "RegionOne").add_group("web", project=OTHER)
    with pytest.raises(errors.SourceNotFound):
        _find(clouds, theirs)


def test_the_check_asks_for_an_id_when_a_name_is_shared(clouds: dict[str, Connection]) -> None:
    one = neutron(clouds, "RegionOne")
    ids = sorted([one.add_group("web"), one.add_group("web")])
    with pytest.raises(errors.SourceAmbiguous, match="%s, %s" % tuple(ids)):
        _find(clouds, "web")


def test_the_check_on_an_unreachable_region_is_unavailable(clouds: dict[str, Connection]) -> None:
    def refuse(path: str, method: str, **options: Any) -> Answer:
        raise ks_exceptions.ConnectFailure("Unable to establish connection")

    neutron(clouds, "RegionOne").request = refuse  # type: ignore[method-assign]
    with pytest.raises(errors.SourceUnavailable, match="Region RegionOne could not be asked"):
        _find(clouds, "web")
