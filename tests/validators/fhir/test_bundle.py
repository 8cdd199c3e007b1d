"""Tests for validators/fhir/bundle.py: resolving references in Bundles as R4 says."""

from __future__ import annotations

from typing import Any

from sendx.validators.fhir.bundle import BundleIndex

BASE = "http://example.org/fhir/"


def bundle(*entries: tuple[str, dict[str, Any]], kind: str = "collection") -> BundleIndex:
    return BundleIndex.build(
        {"resourceType": "Bundle", "type": kind, "entry": [{"fullUrl": u, "resource": r} for u, r in entries]}
    )


def patient(pid: str, version: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if version:
        res["meta"] = {"versionId": version}
    return res


def test_absolute_references_match_full_urls() -> None:
    idx = bundle(("urn:uuid:1", patient("a")), (BASE + "Patient/b", patient("b")))
    assert idx.matches("urn:uuid:1") == [0]
    assert idx.matches(BASE + "Patient/b") == [1]
    assert idx.matches(BASE + "Patient/a") == []


def test_relative_references_resolve_against_the_referring_entrys_base() -> None:
    idx = bundle((BASE + "Patient/a", patient("a")), ("http://other.org/fhir/Patient/a", patient("a")))
    assert idx.matches("Patient/a", BASE + "Observation/o") == [0]
    assert idx.matches("Patient/a", "http://other.org/fhir/Observation/o") == [1]
    # From a urn:uuid entry a relative reference names nothing in the Bundle.
    assert idx.matches("Patient/a", "urn:uuid:9") == []
    assert idx.matches("Patient/a") == []


def test_versioned_references_need_their_version() -> None:
    idx = bundle((BASE + "Patient/a", patient("a", "1")), (BASE + "Patient/a", patient("a", "2")))
    assert idx.matches("Patient/a/_history/2", BASE + "List/l") == [1]
    assert idx.matches(BASE + "Patient/a/_history/1") == [0]
    assert idx.matches(BASE + "Patient/a/_history/3") == []
    assert idx.matches(BASE + "Patient/a") == [0, 1]  # ambiguous: FHIR-REFERENCE-RESOLVES says so
    assert idx.resolve(BASE + "Patient/a/_history/2") == 1


def test_entries_without_resources_or_full_urls_are_indexed_safely() -> None:
    idx = BundleIndex.build(
        {"resourceType": "Bundle", "entry": [{}, {"resource": patient("a")}, "junk", {"fullUrl": 3}]}
    )
    assert [e[0] for e in idx.entries] == [1]
    assert idx.matches("urn:uuid:x") == []


def test_a_bundle_type_that_is_not_a_string_is_a_finding_not_a_crash() -> None:
    # Found by tests/fuzz: {"type": {...}} reached a dict look-up keyed by the type.
    from sendx import validators

    for junk in ({"x": 1}, ["document"], 7):
        doc = {"resourceType": "Bundle", "type": junk, "entry": [{"fullUrl": "urn:uuid:1", "resource": patient("a")}]}
        assert validators.validate(doc).rules() == {"FHIR-STRUCTURE"}
