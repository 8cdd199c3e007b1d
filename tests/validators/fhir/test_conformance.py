"""Tests for validators/fhir/conformance.py and ``sendx conformance fhir``, on a corpus built here.

The corpus is a miniature of a FHIR/fhir-test-cases checkout (manifest, Java outcomes, case
files) and of a directory of valid examples, written by the test: the real corpora stay
outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sendx.validators.fhir import conformance

GOOD = {"resourceType": "Patient", "id": "p1", "gender": "female"}
LONG_ID = {"resourceType": "Patient", "id": "x" * 70}
NHS = "https://fhir.nhs.uk/Id/nhs-number"


def _outcome(*errors: str) -> dict[str, Any]:
    issues = [{"severity": "error", "code": "invalid", "details": {"text": t}} for t in errors]
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": "information", "code": "informational"}],
    }


def _write(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "fhir-test-cases"
    v = root / "validator"
    cases: list[dict[str, Any]] = []

    def case(name: str, doc: Any, errors: tuple[str, ...] = (), suffix: str = "json", **extra: Any) -> None:
        (v / f"{name}.{suffix}").parent.mkdir(parents=True, exist_ok=True)
        (v / f"{name}.{suffix}").write_text(json.dumps(doc) if suffix == "json" else "<Patient/>")
        _write(v / "outcomes" / "java" / f"R4.{name}-base.json", _outcome(*errors))
        cases.append(
            {"name": name, "file": f"{name}.{suffix}", "version": "4.0", "java": f"java/R4.{name}.json", **extra}
        )

    case("good", GOOD)
    case("long-id", LONG_ID, ("Invalid Resource id: Too long (70 chars)",))
    case("missed", GOOD, ("A rule sendx does not know",))
    case("tx", GOOD, ("Unknown code 'x' in the CodeSystem 'http://loinc.org'",), module="tx")
    case("display", GOOD, ("Wrong Display Name 'x' for http://loinc.org#1",))
    case("example-url", GOOD, ("Example URLs are not allowed in this context (http://example.org/x)",))
    case("fetch", GOOD, ("Unable to resolve",), fetcher="x")
    case("as-xml", GOOD, ("Undefined element 'x'",), suffix="xml")
    cases.append({"name": "r5-only", "file": "good.json", "version": "5.0", "java": "java/R4.good-base.json"})
    cases.append(
        {
            "name": "inline",
            "file": "long-id.json",
            "version": "4.0.1",
            "java": {"errorCount": 1, "output": ["ERROR: Patient.id: Invalid Resource id: Too long (70 chars)"]},
        }
    )
    _write(v / "manifest.json", {"test-cases": cases})
    return root


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    d = tmp_path / "examples"
    _write(d / "Patient-good.json", GOOD)
    _write(d / "package.json", {"name": "not a resource"})
    _write(
        d / "nested" / "UKCore-Patient-BabyPatient-Example.json",
        {"resourceType": "Patient", "identifier": [{"system": NHS, "value": "9912003890"}]},
    )
    return d


def test_cases_are_read_and_scoped(checkout: Path) -> None:
    cases = {c.id: c for c in conformance.hl7_cases(checkout)}
    assert "r5-only" not in cases
    assert cases["good"].scope == "in-scope" and cases["good"].valid
    assert cases["long-id"].errors == ("Invalid Resource id: Too long (70 chars)",)
    assert cases["inline"].scope == "in-scope" and not cases["inline"].valid
    assert cases["tx"].reason == "terminology (needs a terminology server)"
    assert cases["display"].reason.startswith("every expected error is about terminology")
    assert cases["example-url"].reason.startswith("every expected error is about terminology")
    assert cases["fetch"].reason == "needs a non-default validator option: fetcher"
    assert cases["as-xml"].scope == "xml"


def test_run_counts_caught_missed_and_false_positives(checkout: Path, examples: Path) -> None:
    out = conformance.run(checkout, [examples])
    assert [c.id for c in out.caught] == ["long-id", "inline"]
    assert [c.id for c in out.missed] == ["missed"]
    assert out.corpora[str(examples)] == [2, 1]  # package.json is not a resource
    assert out.known == [(str(examples), "UKCore-Patient-BabyPatient-Example.json", ["ID-NHS-NUMBER"])]
    assert out.unexplained == []
    assert out.caught_ratio == pytest.approx(2 / 3) and not out.goals_met


def test_a_flagged_valid_file_not_in_the_known_defects_is_a_false_positive(checkout: Path, examples: Path) -> None:
    _write(examples / "Patient-bad.json", LONG_ID)
    out = conformance.run(None, [examples])
    assert [(u[1], u[2]) for u in out.unexplained] == [("Patient-bad.json", ["FHIR-VALUE"])]
    assert not out.goals_met


def test_the_command_prints_the_figures_and_exits_by_the_goals(run_cli, checkout: Path, examples: Path) -> None:
    result = run_cli("conformance", "fhir", "--hl7", checkout, "--valid", examples)
    assert result.exit_code == 1
    assert "HL7 validator R4 invalid cases in scope: 2/3 caught (66.7%; goal 95%)" in result.output
    assert "MISSED missed: A rule sendx does not know" in result.output
    assert "UKCore-Patient-BabyPatient-Example.json ID-NHS-NUMBER: UK Core example" in result.output
    (checkout / "validator" / "missed.json").write_text(json.dumps(LONG_ID))  # now sendx catches it
    ok = run_cli("conformance", "fhir", "--hl7", checkout, "--format", "json")
    assert ok.exit_code == 0
    figures = json.loads(ok.output)
    assert figures["invalid_cases"] | {"missed": []} == {
        "caught": 3,
        "total": 3,
        "ratio": 1.0,
        "goal": 0.95,
        "missed": [],
    }
    assert {"id": "tx", "reason": "terminology (needs a terminology server)"} in figures["out_of_scope"]


def test_the_command_needs_a_corpus(run_cli, tmp_path: Path) -> None:
    assert run_cli("conformance", "fhir").exit_code == 2
    assert run_cli("conformance", "fhir", "--hl7", tmp_path).exit_code == 2  # no manifest


def test_every_known_defect_names_registered_rules_and_a_reason() -> None:
    from sendx.validators.rules import all_rules

    ids = {r.id for r in all_rules()}
    for name, defect in conformance.known_defects().items():
        assert set(defect["rules"]) <= ids and defect["reason"], name
