"""Tests for validators/fhir/advice.py: the health-advice kind and its rules, on top of the base FHIR checks."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from sendx import schemas, validators
from sendx.validators import fhir
from sendx.validators.formats import operation_outcome
from sendx.validators.rules import Context, all_rules

AS_OF = Context(as_of=dt.date(2026, 6, 1))
EXAMPLE = schemas.schema_dir("health-advice") / "examples" / "health-advice-ot-sensory.json"


@pytest.fixture
def advice() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def check(doc: Any) -> validators.Report:
    return validators.validate(doc, "health-advice", context=AS_OF)


def entry(doc: dict[str, Any], rtype: str, n: int = 0) -> dict[str, Any]:
    return [e for e in doc["entry"] if e["resource"]["resourceType"] == rtype][n]


def res(doc: dict[str, Any], rtype: str, n: int = 0) -> dict[str, Any]:
    return entry(doc, rtype, n)["resource"]


# --- the example and the kind ---------------------------------------------------------


def test_example_is_valid_with_no_issues(advice):
    rep = validators.validate(advice, context=AS_OF)
    assert rep.kind == "health-advice"
    assert rep.issues == []


def test_a_document_without_ehcp_sections_is_plain_fhir(advice):
    # A GP summary is a document Bundle too: it gets the base checks, not the health-advice rules.
    for section in res(advice, "Composition")["section"]:
        section["code"]["coding"][0]["system"] = fhir.UKCORE_HEADINGS_SYSTEM
    del res(advice, "Organization")["identifier"]  # FHIR-ORGANISATION-ID: a health-advice rule
    rep = validators.validate(advice, context=AS_OF)
    assert rep.kind == "fhir" and rep.issues == []
    assert "FHIR-ORGANISATION-ID" in check(advice).rules()


def test_example_parses_with_r4b_models(advice):
    assert Bundle.model_validate(advice).type == "document"


def test_every_fhir_rule_has_a_source_and_severity():
    mine = [r for r in all_rules() if r.kind in ("fhir", "health-advice")]
    assert len(mine) >= 30
    for r in mine:
        assert r.id.startswith("FHIR-") and r.source and r.summary


# --- every rule fires on a bad document (and passes on the example) -------------------


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        path(doc)[key] = value

    return mutate


def _del(path: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        del path(doc)[key]

    return mutate


def _patient_first(doc):
    doc["entry"].insert(0, doc["entry"].pop(1))


def _duplicate_fullurl(doc):
    entry(doc, "Condition", 1)["fullUrl"] = entry(doc, "Condition", 0)["fullUrl"]


def _no_fullurl(doc):
    del entry(doc, "Practitioner")["fullUrl"]


def _uncoded_section(doc):
    del res(doc, "Composition")["section"][0]["code"]


def _unknown_ehcp_section(doc):
    res(doc, "Composition")["section"][0]["code"]["coding"][0]["code"] = "Z"


def _empty_section(doc):
    sec = res(doc, "Composition")["section"][2]
    del sec["text"], sec["entry"]


def _wrong_entry_in_c(doc):
    res(doc, "Composition")["section"][0]["entry"].append({"reference": entry(doc, "Organization")["fullUrl"]})


def _subject_not_patient(doc):
    res(doc, "Composition")["subject"] = {"reference": entry(doc, "Organization")["fullUrl"]}


def _author_patient(doc):
    res(doc, "Composition")["author"] = [{"reference": entry(doc, "Patient")["fullUrl"]}]


def _no_author_org(doc):
    del res(doc, "PractitionerRole")["organization"]
    del res(doc, "Composition")["custodian"]


def _other_patient(doc):
    other = copy.deepcopy(entry(doc, "Patient"))
    other["fullUrl"] = "urn:uuid:5b1d0000-0000-4000-8000-000000000001"
    other["resource"]["id"] = "other-child"
    doc["entry"].append(other)
    res(doc, "Condition")["subject"] = {"reference": other["fullUrl"]}


def _two_nhs_numbers(doc):
    ids = res(doc, "Patient")["identifier"]
    ids.append({"system": fhir.NHS_NUMBER_SYSTEM, "value": "9434765919"})


def _orphan(doc):
    doc["entry"].append(
        {
            "fullUrl": "urn:uuid:5b1d0000-0000-4000-8000-000000000002",
            "resource": {"resourceType": "Practitioner", "id": "orphan", "name": [{"family": "Nobody"}]},
        }
    )


BREAKERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "FHIR-BUNDLE-DOCUMENT": _set(lambda d: d, "type", "collection"),
    "FHIR-BUNDLE-IDENTIFIER": _del(lambda d: d, "identifier"),
    "FHIR-BUNDLE-TIMESTAMP": _del(lambda d: d, "timestamp"),
    "FHIR-COMPOSITION-FIRST": _patient_first,
    "FHIR-FULLURL-UNIQUE": _duplicate_fullurl,
    "FHIR-COMPOSITION-SUBJECT": _subject_not_patient,
    "FHIR-COMPOSITION-AUTHOR": _author_patient,
    "FHIR-SECTION-CODE": _uncoded_section,
    "FHIR-SECTION-CONTENT": _empty_section,
    "FHIR-REFERENCE-RESOLVES": _set(lambda d: res(d, "Condition"), "recorder", {"reference": "PractitionerRole/nope"}),
    "FHIR-ENTRY-REACHABLE": _orphan,
    "FHIR-PATIENT-NHS-NUMBER": _del(lambda d: res(d, "Patient"), "identifier"),
    "FHIR-ORGANISATION-ID": _del(lambda d: res(d, "Organization"), "identifier"),
    "FHIR-SUBJECT-CONSISTENT": _other_patient,
    "FHIR-PROVISION-QUANTIFIED": _del(lambda d: res(d, "ServiceRequest"), "occurrenceTiming"),
    "FHIR-DATE-FUTURE": _set(lambda d: res(d, "Condition"), "recordedDate", "2026-07-01"),
    "FHIR-DATE-BEFORE-BIRTH": _set(lambda d: res(d, "Condition"), "recordedDate", "2010-12-31"),
    "FHIR-STRUCTURE": _set(lambda d: res(d, "Patient"), "gender", 7),
    "ID-NHS-NUMBER": lambda d: res(d, "Patient")["identifier"][0].update(value="9434765918"),
    "ID-ODS": lambda d: res(d, "Organization")["identifier"][0].update(value="ryw!"),
}


def test_every_health_advice_rule_has_a_firing_case():
    fhir_rules = {r.id for r in all_rules() if r.kind == "health-advice"}
    assert fhir_rules <= set(BREAKERS)


@pytest.mark.parametrize("rule_id", sorted(BREAKERS))
def test_rule_fires(advice, rule_id):
    BREAKERS[rule_id](advice)
    rep = check(advice)
    assert rule_id in rep.rules(), rep.issues
    issue = next(i for i in rep.issues if i.rule == rule_id)
    assert issue.location.startswith("Bundle") and issue.message


@pytest.mark.parametrize("rule_id", sorted(BREAKERS))
def test_rule_passes_on_the_example(advice, rule_id):
    assert rule_id not in check(advice).rules()


@pytest.mark.parametrize(
    ("mutate", "rule_id"),
    [
        (_no_fullurl, "FHIR-FULLURL-PRESENT"),
        (_unknown_ehcp_section, "FHIR-SECTION-CODE"),
        (_wrong_entry_in_c, "FHIR-SECTION-CONTENT"),
        (_no_author_org, "FHIR-COMPOSITION-AUTHOR"),
        (_two_nhs_numbers, "FHIR-UKCORE-NHS-NUMBER"),
        (_del(lambda d: res(d, "Composition"), "author"), "FHIR-COMPOSITION-AUTHOR"),
    ],
)
def test_rule_variants_fire(advice, mutate, rule_id):
    mutate(advice)
    assert rule_id in check(advice).rules()


def test_only_first_entry_counts_as_the_composition(advice):
    _patient_first(advice)
    issue = next(i for i in check(advice).issues if i.rule == "FHIR-COMPOSITION-FIRST")
    assert issue.location == "Bundle.entry[0].resource" and "Patient" in issue.message


def test_la_organisation_is_accepted_by_la_number(advice):
    res(advice, "Organization")["identifier"] = [{"system": fhir.LA_CODE_SYSTEM, "value": "330"}]
    assert check(advice).valid


def test_partial_dates_are_compared_by_their_range(advice):
    res(advice, "Condition")["recordedDate"] = "2026"  # could be before as_of: not future
    res(advice, "Patient")["birthDate"] = "2011-02"
    assert check(advice).valid


def test_restful_full_urls_and_relative_references_resolve(advice):
    # Every entry at https://fhir.example.nhs.uk/Type/id, every reference written "Type/id".
    text = json.dumps(advice)
    for e in advice["entry"]:
        r = e["resource"]
        text = text.replace(f'"{e["fullUrl"]}"', f'"{r["resourceType"]}/{r["id"]}"')
    doc = json.loads(text)
    for e in doc["entry"]:
        e["fullUrl"] = "https://fhir.example.nhs.uk/" + e["fullUrl"]
    rep = check(doc)
    assert rep.issues == []


def test_a_relative_reference_from_a_urn_entry_does_not_resolve(advice):
    # R4 resolves "Type/id" against the referring entry's RESTful fullUrl only (the HL7 validator agrees).
    cond = res(advice, "Condition")
    cond["subject"] = {"reference": f"Patient/{res(advice, 'Patient')['id']}"}
    issue = next(i for i in check(advice).issues if i.rule == "FHIR-REFERENCE-RESOLVES")
    assert "an entry has that type and id" in issue.message


def test_contained_references(advice):
    cond = res(advice, "Condition")
    cond["contained"] = [{"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Inline"}]}]
    cond["asserter"] = {"reference": "#p1"}
    assert "FHIR-REFERENCE-RESOLVES" not in check(advice).rules()
    cond["asserter"] = {"reference": "#p2"}
    assert {"FHIR-REF-1", "FHIR-DOM-3"} <= check(advice).rules()


# --- structure: FHIRPath locations, unknown types -------------------------------------


def test_structure_errors_have_fhirpath_locations(data_dir):
    rep = validators.validate(data_dir / "fhir" / "structure-errors.json", context=AS_OF)
    locs = {i.location for i in rep.issues if i.rule in ("FHIR-STRUCTURE", "FHIR-VALUE")}
    assert "Bundle.entry[1].resource.identifier[0].value" in locs
    assert "Bundle.entry[1].resource.birthDate" in locs
    assert "Bundle.entry[1].resource.gender" in locs


def test_unknown_resource_type_is_reported_not_raised(data_dir):
    rep = validators.validate(data_dir / "fhir" / "unknown-resource-type.json", context=AS_OF)
    issue = next(i for i in rep.issues if i.rule == "FHIR-STRUCTURE")
    assert issue.location == "Bundle.entry[2].resource.resourceType"
    assert "'HealthNeed' is not a FHIR R4 resource type" in issue.message


def test_r5_only_content_is_rejected_under_r4b(advice):
    # R5 made Composition.attester.mode a CodeableConcept; in R4 it is a code string.
    res(advice, "Composition")["attester"] = [{"mode": {"coding": [{"code": "legal"}]}}]
    rep = check(advice)
    assert any(i.location.startswith("Bundle.entry[0].resource.attester[0].mode") for i in rep.issues)


# --- the reliability cases ------------------------------------------------------------


def test_malformed_json_is_a_parse_issue(data_dir):
    rep = validators.validate(data_dir / "fhir" / "malformed.json")
    assert not rep.valid and rep.rules() == {"DOC-PARSE"}


def test_non_bundle_resource_is_a_clear_issue(data_dir):
    rep = validators.validate(data_dir / "fhir" / "patient-only.json", "health-advice", context=AS_OF)
    assert rep.kind == "health-advice" and not rep.valid
    (issue,) = rep.issues
    assert issue.rule == "FHIR-BUNDLE-DOCUMENT" and "not a Patient resource" in issue.message
    assert "kind 'fhir'" in issue.hint
    assert validators.validate(data_dir / "fhir" / "patient-only.json", context=AS_OF).kind == "fhir"


def test_reference_cycles_terminate(data_dir):
    rep = validators.validate(data_dir / "fhir" / "reference-cycle.json", context=AS_OF)
    assert rep.valid
    orphans = [i for i in rep.issues if i.rule == "FHIR-ENTRY-REACHABLE"]
    assert [i.location for i in orphans] == ["Bundle.entry[11].resource", "Bundle.entry[12].resource"]


def test_ten_thousand_entry_bundle_is_validated(advice):
    cond = entry(advice, "Condition")
    section = res(advice, "Composition")["section"][0]["entry"]
    for k in range(10_000):
        e = copy.deepcopy(cond)
        e["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{k:012d}"
        e["resource"]["id"] = f"n{k}"
        advice["entry"].append(e)
        section.append({"reference": e["fullUrl"]})
    advice["entry"][-1]["resource"]["recorder"] = {"reference": "urn:uuid:missing"}
    rep = check(json.dumps(advice))
    assert [i.rule for i in rep.issues] == ["FHIR-REFERENCE-RESOLVES"]
    assert rep.issues[0].location == "Bundle.entry[10009].resource.recorder.reference"


def test_dangling_reference_fixture(data_dir):
    rep = validators.validate(data_dir / "fhir" / "dangling-reference.json", context=AS_OF)
    assert {"FHIR-REFERENCE-RESOLVES", "FHIR-PROVISION-QUANTIFIED"} <= rep.rules()


def test_vague_provision_fixture_names_what_is_missing(data_dir):
    rep = validators.validate(data_dir / "fhir" / "vague-provision.json", context=AS_OF)
    issue = next(i for i in rep.issues if i.rule == "FHIR-PROVISION-QUANTIFIED")
    # the timing held both "how often" and "how long"; "what" and "which need" remain
    assert all(w in issue.message for w in ("who", "how often", "how long"))
    assert "what" not in issue.message and "which need" not in issue.message


def test_invalid_nhs_number_fixture(data_dir):
    rep = validators.validate(data_dir / "fhir" / "invalid-nhs-number.json", context=AS_OF)
    assert rep.rules() == {"ID-NHS-NUMBER"}
    assert rep.issues[0].location == "Bundle.entry[1].resource.identifier[0].value"


# --- OperationOutcome -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["structure-errors.json", "dangling-reference.json", "malformed.json"])
def test_operation_outcome_parses_under_r4b(data_dir, name):
    rep = validators.validate(data_dir / "fhir" / name, context=AS_OF)
    oo = OperationOutcome.model_validate(operation_outcome([rep]))
    assert len(oo.issue) == len(rep.issues)


def test_operation_outcome_for_valid_advice_parses(advice):
    oo = OperationOutcome.model_validate(operation_outcome([check(advice)]))
    assert oo.issue[0].severity == "information"


def test_operation_outcome_uses_fhirpath_expressions(data_dir):
    rep = validators.validate(data_dir / "fhir" / "structure-errors.json", context=AS_OF)
    oo = operation_outcome([rep])
    assert any(i.get("expression") == ["Bundle.entry[1].resource.gender"] for i in oo["issue"])


# --- single resources: the real UK Core examples --------------------------------------


UKCORE = [
    "UKCore-Patient-RichardSmith-Example.json",
    "UKCore-Patient-BabyPatient-Example.json",
    "UKCore-Condition-BleedingFromEar-Example.json",
    "UKCore-CarePlan-WellnessPlan-Example.json",
    "UKCore-Composition-Discharge-Example.json",
    "UKCore-QuestionnaireResponse-EOLPlan-Example.json",
]


def _ukcore(shared_dir: Path, name: str) -> dict[str, Any]:
    path = shared_dir / "fhir" / "examples" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in ../shared/fhir/examples")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name", UKCORE)
def test_ukcore_examples_parse_and_validate(shared_dir, name):
    rep = fhir.validate_resource(_ukcore(shared_dir, name), AS_OF)
    structural = [i for i in rep.issues if i.rule == "FHIR-STRUCTURE"]
    assert structural == []
    if "BabyPatient" in name:
        assert rep.rules() == {"ID-NHS-NUMBER"}
    else:
        assert rep.valid, rep.issues


def test_baby_patient_nhs_number_fails_mod11(shared_dir):
    rep = fhir.validate_resource(_ukcore(shared_dir, "UKCore-Patient-BabyPatient-Example.json"), AS_OF)
    (issue,) = rep.issues
    assert issue.rule == "ID-NHS-NUMBER" and "9912003890" in issue.message
    assert issue.location == "Patient.identifier[0].value"


def test_richard_smith_nhs_number_passes(shared_dir):
    doc = _ukcore(shared_dir, "UKCore-Patient-RichardSmith-Example.json")
    nhs = [i["value"] for i in doc["identifier"] if i["system"] == fhir.NHS_NUMBER_SYSTEM]
    assert nhs == ["9912003888"]
    assert "ID-NHS-NUMBER" not in fhir.validate_resource(doc, AS_OF).rules()


def test_ukcore_patient_via_validate_is_a_fhir_resource(shared_dir):
    rep = validators.validate(_ukcore(shared_dir, "UKCore-Patient-RichardSmith-Example.json"))
    assert rep.kind == "fhir" and rep.issues == []


def test_validate_resource_is_the_base_spec_only():
    # A birthDate in the future is a sendx health-advice rule, not a FHIR one.
    rep = fhir.validate_resource({"resourceType": "Patient", "gender": 1, "birthDate": "2030-01-01"}, AS_OF)
    assert rep.rules() == {"FHIR-STRUCTURE"}
    assert fhir.validate_resource({"resourceType": "Nope"}).rules() == {"FHIR-STRUCTURE"}
    assert fhir.validate_resource([]).rules() == {"FHIR-STRUCTURE"}  # type: ignore[arg-type]


# --- through the CLI ------------------------------------------------------------------


def test_cli_validates_the_example_and_renders_operation_outcome(run_cli, data_dir):
    ok = run_cli("validate", EXAMPLE, "--as-of", "2026-06-01")
    assert ok.exit_code == 0, ok.output
    bad = run_cli("validate", data_dir / "fhir" / "structure-errors.json", "--format", "fhir")
    assert bad.exit_code == 1
    oo = OperationOutcome.model_validate_json(bad.output)
    assert "structure" in {i.code for i in oo.issue}


def _listify(doc: dict[str, Any], rtype: str, key: str) -> None:
    resource = res(doc, rtype)
    resource[key] = [resource[key]]


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: _listify(d, "Condition", "resourceType"),  # FHIR-SUBJECT-CONSISTENT, FHIR-DATE-*
        lambda d: _listify(d, "ServiceRequest", "resourceType"),  # FHIR-SECTION-CONTENT (section G entries)
        lambda d: _listify(d, "PractitionerRole", "resourceType"),  # FHIR-COMPOSITION-AUTHOR
        lambda d: res(d, "Organization")["identifier"][0].update(system=[fhir.ODS_ORG_SYSTEM]),
        lambda d: res(d, "Patient").update(contained=[{"resourceType": "Basic", "id": ["x"]}]),
    ],
    ids=["condition-type", "service-request-type", "author-type", "organisation-system", "contained-id"],
)
def test_a_list_where_a_rule_looks_up_a_string_is_a_finding(advice: dict[str, Any], damage: Callable) -> None:
    # Found by tests/fuzz: a list in these places crashed the rules' set and dict look-ups.
    damage(advice)
    report = check(advice)
    assert not report.valid and "FHIR-STRUCTURE" in report.rules()
