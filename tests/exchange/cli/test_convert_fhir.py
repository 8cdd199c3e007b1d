"""``sendx convert`` rows for FHIR health advice and passports."""

from __future__ import annotations

import json
from pathlib import Path

from sendx import schemas, validators
from tests.conftest import DATA

ADVICE = schemas.examples("health-advice")[0]
PLAN = schemas.examples("ehcp")[0]


def test_advice_to_ehcp_sections(run_cli) -> None:
    result = run_cli("convert", ADVICE, "--to", "ehcp-sections")
    assert result.exit_code == 0, result.output
    sections = json.loads(result.stdout)
    assert {n["id"] for n in sections["C"]["needs"]} and sections["G"]["provision"]
    assert all(p["frequency"] and p["duration"] and p["deliveredBy"] for p in sections["G"]["provision"])


def test_plan_to_fhir_validates(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    assert run_cli("convert", PLAN, "--to", "fhir", "-o", out).exit_code == 0
    report = validators.validate(out)
    assert report.kind == "health-advice" and report.valid, [i.to_dict() for i in report.issues]


def test_plan_to_passport_draft_needs_consent(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "passport.json"
    assert run_cli("convert", PLAN, "--to", "passport", "-o", out).exit_code == 0
    report = validators.validate(out)
    assert report.kind == "passport" and report.rules() == {"PASSPORT-CONSENT"}


def test_invalid_advice_is_refused_with_the_rule(run_cli) -> None:
    result = run_cli("convert", DATA / "fhir" / "vague-provision.json", "--to", "ehcp-sections")
    assert result.exit_code == 2 and "FHIR-PROVISION-QUANTIFIED" in result.stderr


def test_unsupported_pair(run_cli) -> None:
    result = run_cli("convert", PLAN, "--to", "ctf")
    assert result.exit_code == 2 and "cannot convert ehcp to ctf" in result.stderr


def test_a_plan_off_its_schema_is_a_clear_error(run_cli) -> None:
    # Found by tests/fuzz: --to passport ended in "internal error (KeyError)", --to fhir in a bare "missing 'child'".
    for target in ("passport", "fhir"):
        result = run_cli("convert", DATA / "ehcp" / "ehcp-schema-missing-child.json", "--to", target)
        assert result.exit_code == 2, result.output
        assert "not an EHC plan" in result.output and "child" in result.output and "internal error" not in result.output
