"""Image sync's pure decisions: what is the same, what to do, what a copy must be."""

from __future__ import annotations

from typing import Any

import pytest

from kingsync.sync import image_plan as plan

SOURCE_ID = "11111111-2222-3333-4444-555555555555"


def body(**overrides: Any) -> dict[str, Any]:
    image = {
        "id": SOURCE_ID,
        "name": "golden",
        "status": "active",
        "visibility": "private",
        "protected": False,
        "os_hidden": False,
        "owner": "p1",
        "disk_format": "qcow2",
        "container_format": "bare",
        "min_disk": 1,
        "min_ram": 512,
        "tags": ["a", "b"],
        "size": 1024,
        "checksum": "c" * 32,
        "os_hash_algo": "sha512",
        "os_hash_value": "f" * 128,
        "hw_disk_bus": "scsi",
        "os_distro": "debian",
        "os_glance_importing_to_stores": "",
        "self": "/v2/images/x",
        "file": "/v2/images/x/file",
        "schema": "/v2/schemas/image",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "virtual_size": None,
        "stores": "fs",
    }
    image.update(overrides)
    return image


def test_properties_are_the_user_keys_only() -> None:
    image = plan.read(body(kernel_id="k"))
    assert dict(image.properties) == {"hw_disk_bus": "scsi", "os_distro": "debian", "kernel_id": "k"}
    assert image.tags == frozenset({"a", "b"})
    assert image.references() == {"kernel_id": "k"}


def test_the_same_image_is_unchanged_whatever_glance_adds() -> None:
    source = plan.read(body())
    target = plan.read(body(created_at="2027-01-01T00:00:00Z", os_glance_failed_import="", stores="other"))
    assert plan.decide(source, target, own=False, force=False).result == "unchanged"


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        ({"name": "other"}, ["name"]),
        ({"tags": ["a"]}, ["tags"]),
        ({"min_ram": 0}, ["min_ram"]),
        ({"os_distro": "ubuntu"}, ["property os_distro"]),
        ({"extra": "x"}, ["property extra"]),
    ],
)
def test_different_metadata_is_a_conflict_or_with_force_an_update(change: dict[str, Any], differing: list[str]) -> None:
    source = plan.read(body())
    target = plan.read(body(**change))
    assert plan.metadata_differs(source, target) == differing
    conflict = plan.decide(source, target, own=False, force=False)
    assert conflict.result == "conflict" and ", ".join(differing) in conflict.reason
    forced = plan.decide(source, target, own=False, force=True)
    assert (forced.result, forced.update, forced.copy) == ("updated", True, False)


def test_the_patch_makes_the_target_the_source() -> None:
    source = plan.read(body())
    target = plan.read(body(name="old", tags=["z"], os_distro="ubuntu", extra="x", os_hidden=True))
    ops = plan.patch(source, target)
    assert {"op": "replace", "path": "/name", "value": "golden"} in ops
    assert {"op": "replace", "path": "/os_hidden", "value": False} in ops
    assert {"op": "replace", "path": "/tags", "value": ["a", "b"]} in ops
    assert {"op": "replace", "path": "/os_distro", "value": "debian"} in ops
    assert {"op": "remove", "path": "/extra"} in ops
    patched = body(name="golden", tags=["a", "b"], os_distro="debian", os_hidden=False)
    assert plan.patch(source, plan.read(patched)) == []


@pytest.mark.parametrize(
    "change", [{"size": 1025}, {"os_hash_value": "e" * 128}, {"os_hash_algo": "sha256", "checksum": "d" * 32}]
)
def test_different_data_is_a_conflict_or_with_force_a_new_copy(change: dict[str, Any]) -> None:
    source = plan.read(body())
    target = plan.read(body(**change))
    assert plan.data_differs(source, target) is not None
    assert plan.decide(source, target, own=False, force=False).result == "conflict"
    forced = plan.decide(source, target, own=False, force=True)
    assert (forced.result, forced.copy, forced.new_id, forced.discard_after) == ("replaced", True, True, (SOURCE_ID,))


def test_a_different_hash_algorithm_compares_checksums() -> None:
    source = plan.read(body())
    assert plan.data_differs(source, plan.read(body(os_hash_algo="sha256", os_hash_value="0" * 64))) is None


def test_no_target_is_a_copy_under_the_source_id() -> None:
    decision = plan.decide(plan.read(body()), None, own=False, force=False)
    assert (decision.result, decision.copy, decision.new_id, decision.into) == ("created", True, False, None)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", {"copy": True, "into": SOURCE_ID, "new_id": False}),
        ("importing", {"follow": True, "into": SOURCE_ID}),
        ("saving", {"copy": True, "new_id": True, "discard_before": (SOURCE_ID,)}),
    ],
)
def test_kingsyncs_unfinished_copy_is_finished(status: str, expected: dict[str, Any]) -> None:
    decision = plan.decide(plan.read(body()), plan.read(body(status=status)), own=True, force=False)
    assert decision.result == "created"
    for name, value in expected.items():
        assert getattr(decision, name) == value


def test_an_unfinished_copy_that_is_not_kingsyncs_is_a_conflict() -> None:
    decision = plan.decide(plan.read(body()), plan.read(body(status="queued")), own=False, force=False)
    assert decision.result == "conflict" and "queued" in decision.reason


def test_a_verified_copy_still_hidden_is_finished_without_force() -> None:
    target = plan.read(body(os_hidden=True))
    decision = plan.decide(plan.read(body()), target, own=True, force=False)
    assert (decision.result, decision.update) == ("created", True)


def test_the_create_body_hides_the_copy_and_names_the_kernel_by_its_target_id() -> None:
    source = plan.read(body(kernel_id="k-src", protected=True, visibility="public"))
    want = plan.wanted(source, {"k-src": "k-dst"})
    created = plan.create_body(want, SOURCE_ID)
    assert created["id"] == SOURCE_ID and created["kernel_id"] == "k-dst"
    assert (created["os_hidden"], created["protected"], created["visibility"]) == (True, False, "public")
    assert "checksum" not in created and "size" not in created and "status" not in created
    assert "id" not in plan.create_body(want, None)


def test_verify_names_what_is_wrong() -> None:
    source = plan.read(body())
    assert plan.verify(source, plan.read(body())) is None
    assert "queued" in str(plan.verify(source, plan.read(body(status="queued"))))
    assert "size 10" in str(plan.verify(source, plan.read(body(size=10))))


def test_an_image_with_only_a_checksum_is_checked_by_its_checksum() -> None:
    legacy = plan.read(body(os_hash_algo=None, os_hash_value=None))
    assert plan.verify(legacy, plan.read(body(os_hash_algo="sha512", os_hash_value="1" * 128))) is None
    assert "checksum" in str(plan.verify(legacy, plan.read(body(checksum="d" * 32))))
