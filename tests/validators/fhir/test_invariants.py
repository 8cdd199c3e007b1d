"""Tests for validators/fhir/invariants.py: the hand-written invariants (per-1 above all)."""

from __future__ import annotations

import pytest

from sendx.validators.fhir.invariants import _start_after_end
from sendx.validators.fhir.structure import structure_issues


@pytest.mark.parametrize(
    ("start", "end", "fails"),
    [
        ("2023-06-20", "2023-06-21", False),
        ("2023-06-21", "2023-06-21", False),
        ("2023-06-22", "2023-06-21", True),
        ("2023-06-21", "2023-06-21T06:20:00Z", True),  # same day, different precision: unknown
        ("2023-06-20", "2023-06-21T06:20:00Z", False),  # decided at day precision
        ("2023", "2023-06", True),
        ("2022", "2023-06", False),
        ("2023-06-21T10:00:00+02:00", "2023-06-21T09:00:00Z", False),  # 08:00Z is before 09:00Z
        ("2023-06-21T10:00:00Z", "2023-06-21T09:00:00+02:00", True),
        ("2023-06-21T09:00:00.5Z", "2023-06-21T09:00:00.25Z", True),
    ],
)
def test_per_1_orders_dates_as_fhirpath_does(start: str, end: str, fails: bool) -> None:
    assert _start_after_end(start, end) is fails


def test_per_1_ignores_what_is_not_a_date() -> None:
    assert _start_after_end("soon", "2023") is None
    doc = {"resourceType": "Encounter", "status": "finished", "class": {"code": "A"}, "period": {"start": "soon"}}
    assert [i.rule for i in structure_issues(doc)] == ["FHIR-VALUE"]


def test_ref_1_and_dom_3_see_references_anywhere_in_the_resource() -> None:
    doc = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "contained": [{"resourceType": "Practitioner", "id": "a"}, {"resourceType": "Device", "id": "b"}],
        "performer": [{"reference": "#a"}],
        "extension": [{"url": "https://example.org/StructureDefinition/device", "valueCanonical": "#b"}],
    }
    assert structure_issues(doc) == []
    doc["performer"] = [{"reference": "#c"}]
    assert sorted(i.rule for i in structure_issues(doc)) == ["FHIR-DOM-3", "FHIR-REF-1"]


def test_contained_ids_are_per_resource_in_a_bundle() -> None:
    # #a in the second entry does not see the first entry's contained resource.
    first = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "contained": [{"resourceType": "Practitioner", "id": "a"}],
        "performer": [{"reference": "#a"}],
    }
    second = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "performer": [{"reference": "#a"}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:5b1d0000-0000-4000-8000-000000000001", "resource": first},
            {"fullUrl": "urn:uuid:5b1d0000-0000-4000-8000-000000000002", "resource": second},
        ],
    }
    assert [(i.rule, i.location) for i in structure_issues(bundle)] == [
        ("FHIR-REF-1", "Bundle.entry[1].resource.performer[0].reference")
    ]
