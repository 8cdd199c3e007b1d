"""Tests for validators/fhir/structure.py: the one-pass R4 structure walk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sendx import schemas
from sendx.validators.fhir.structure import MAX_STRING, structure_issues

PATIENT = json.loads((schemas.schema_dir("fhir") / "examples" / "ukcore-patient.json").read_text())


def issues(doc: Any) -> list[tuple[str, str]]:
    return [(i.rule, i.location) for i in structure_issues(doc)]


def test_the_example_has_no_issue() -> None:
    assert structure_issues(PATIENT) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"gender": 1}, ("FHIR-STRUCTURE", "Patient.gender")),
        ({"name": {"family": "X"}}, ("FHIR-STRUCTURE", "Patient.name")),
        ({"birthDate": ["2011-02-09"]}, ("FHIR-STRUCTURE", "Patient.birthDate")),
        ({"deceasedBoolean": True, "deceasedDateTime": "2020"}, ("FHIR-STRUCTURE", "Patient.deceasedDateTime")),
        ({"photo": [{"data": "%%%"}]}, ("FHIR-VALUE", "Patient.photo[0].data")),
        ({"name": []}, ("FHIR-EMPTY", "Patient.name")),
        ({"gender": None}, ("FHIR-EMPTY", "Patient.gender")),
        ({"id": "x" * 65}, ("FHIR-VALUE", "Patient.id")),
        ({"multipleBirthInteger": 2**31}, ("FHIR-VALUE", "Patient.multipleBirthInteger")),
        ({"multipleBirthInteger": True}, ("FHIR-STRUCTURE", "Patient.multipleBirthInteger")),
        ({"_gender": "female"}, ("FHIR-STRUCTURE", "Patient._gender")),
        ({"_name": {}}, ("FHIR-STRUCTURE", "Patient._name")),
    ],
)
def test_each_kind_of_problem_is_found_where_it_is(change: dict[str, Any], expected: tuple[str, str]) -> None:
    assert expected in issues({**PATIENT, **change})


def test_locations_inside_nested_resources_and_backbone_elements() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:0c3f6e62-1ad6-4c4e-9b0a-2f7c8f0a0001", "resource": {**PATIENT, "gender": 5}}],
    }
    bundle["entry"][0]["resource"]["contact"] = [{"relationship": [{"text": "mother"}], "gender": "unknown "}]
    assert issues(bundle) == [
        ("FHIR-STRUCTURE", "Bundle.entry[0].resource.gender"),
        ("FHIR-VALUE", "Bundle.entry[0].resource.contact[0].gender"),
    ]


def test_content_references_are_followed() -> None:
    # Questionnaire.item.item has the children of Questionnaire.item (contentReference).
    q = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "1", "type": "group", "item": [{"type": "x"}]}],
    }
    assert issues(q) == [("FHIR-STRUCTURE", "Questionnaire.item[0].item[0].linkId")]


def test_strings_over_one_megabyte_are_refused() -> None:
    doc = {**PATIENT, "address": [{"text": "x" * (MAX_STRING + 1)}]}
    (issue,) = structure_issues(doc)
    assert issue.rule == "FHIR-VALUE" and "more than 1 MB" in issue.message


def test_a_narrative_over_one_megabyte_is_not_a_string() -> None:
    doc = {
        **PATIENT,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{"x" * MAX_STRING}</p></div>',
        },
    }
    assert structure_issues(doc) == []


@pytest.mark.parametrize("junk", [None, [], "Patient", 3, {"resourceType": ["Patient"]}, {"resourceType": "Nope"}])
def test_what_is_not_a_resource_is_an_issue(junk: Any) -> None:
    (issue,) = structure_issues(junk)
    assert issue.rule == "FHIR-STRUCTURE"


def test_resource_type_must_be_r4() -> None:
    (issue,) = structure_issues({"resourceType": "Resource"})  # abstract
    assert issue.location == "Resource.resourceType" and "not a FHIR R4 resource type" in issue.message


def test_r4_only_resource_types_are_read_from_the_r4_definitions() -> None:
    # No R4B model has these; the walk knows their elements, so it finds a wrong one.
    doc = {"resourceType": "SubstanceSpecification", "code": [{"code": {"text": "x"}, "notAnElement": 1}]}
    assert issues(doc) == [("FHIR-STRUCTURE", "SubstanceSpecification.code[0].notAnElement")]


def test_keys_that_are_not_strings_are_unrecognised_not_a_crash() -> None:
    # Only the Python API can hand over such a dict; JSON keys are always strings.
    assert issues({**PATIENT, 1: "x"}) == [("FHIR-STRUCTURE", "Patient.1")]
