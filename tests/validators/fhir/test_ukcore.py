"""Tests for validators/fhir/ukcore.py: NHS numbers and ODS codes wherever UK Core applies."""

from __future__ import annotations

import json

import pytest

from sendx import validators
from sendx.validators.fhir import NHS_NUMBER_SYSTEM, ODS_ORG_SYSTEM, validate_resource
from sendx.validators.fhir.ukcore import nhs_number_problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9434765919", None),
        ("943 476 5919", "must be 10 digits without spaces"),
        ("9434765918", "modulus 11"),
        ("94347659", "must be 10 digits"),
        ("９４３４７６５９１９", "must be 10 digits"),  # full-width digits are not ASCII digits
        (9434765919, "must be a string"),
    ],
)
def test_nhs_number_problems(value: object, problem: str | None) -> None:
    found = nhs_number_problem(value)
    assert (found is None) if problem is None else (problem in found)


def test_identifiers_are_checked_wherever_they_are() -> None:
    # Not only Patient.identifier: a Reference's identifier too.
    doc = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": "943 476 5919"}},
        "serviceProvider": {"identifier": {"system": ODS_ORG_SYSTEM, "value": "not an ods code!"}},
    }
    report = validate_resource(doc)
    assert [(i.rule, i.location) for i in report.issues] == [
        ("ID-ODS", "Encounter.serviceProvider.identifier.value"),
        ("ID-NHS-NUMBER", "Encounter.subject.identifier.value"),
    ]


def test_a_ukcore_patient_validates_from_the_cli(run_cli, shared_dir) -> None:
    ok = run_cli("validate", shared_dir / "fhir" / "examples" / "UKCore-Patient-RichardSmith-Example.json")
    assert ok.exit_code == 0, ok.output
    assert ": fhir: valid" in ok.output


def test_the_baby_patient_example_nhs_number_is_caught_from_the_cli(run_cli, shared_dir) -> None:
    bad = run_cli(
        "validate", shared_dir / "fhir" / "examples" / "UKCore-Patient-BabyPatient-Example.json", "--format", "json"
    )
    assert bad.exit_code == 1
    (report,) = json.loads(bad.output)["files"]
    assert report["kind"] == "fhir"
    assert [(i["rule"], i["location"]) for i in report["issues"]] == [("ID-NHS-NUMBER", "Patient.identifier[0].value")]
    assert "9912003890" in report["issues"][0]["message"]


def test_two_nhs_numbers_on_a_patient() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": NHS_NUMBER_SYSTEM, "value": "9434765919"},
            {"system": "https://example.org/mrn", "value": "1"},
            {"system": NHS_NUMBER_SYSTEM, "value": "9434765919"},
        ],
    }
    report = validators.validate(patient)
    assert [(i.rule, i.location) for i in report.issues] == [("FHIR-UKCORE-NHS-NUMBER", "Patient.identifier[2]")]
