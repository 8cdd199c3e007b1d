"""sendx's own FHIR test files (tests/data/fhir/base): each fires exactly the rules listed for it.

Each file restates, in sendx's own synthetic data, the facts of one HL7 validator test case
(named in cases.json as ``mirrors``) or one R4 rule, so the base checks are pinned in the
repository while the HL7 corpus itself stays outside it (``sendx conformance fhir`` runs that).
"""

from __future__ import annotations

import json

import pytest

from sendx import validators
from sendx.validators.rules import all_rules
from tests.conftest import DATA

BASE = DATA / "fhir" / "base"
CASES: dict[str, dict] = json.loads((BASE / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_fires_exactly_its_rules(name: str) -> None:
    report = validators.validate(BASE / name, "fhir")
    assert sorted(report.rules()) == CASES[name]["rules"], [i.to_dict() for i in report.issues]


def test_every_file_is_listed() -> None:
    assert {p.name for p in BASE.glob("*.json")} - {"cases.json"} == set(CASES)


def test_every_base_rule_has_a_firing_case() -> None:
    fired = {r for case in CASES.values() for r in case["rules"]}
    base = {r.id for r in all_rules() if r.kind == "fhir"}
    assert base <= fired, sorted(base - fired)


def test_valid_cases_are_recognised_as_fhir() -> None:
    for name in (n for n, c in CASES.items() if not c["rules"]):
        report = validators.validate(BASE / name)
        assert report.kind == "fhir" and report.issues == [], name


@pytest.mark.parametrize(
    ("name", "code"),
    [("id-too-long.json", "value"), ("empty-array.json", "structure"), ("missing-required.json", "structure")],
)
def test_operation_outcome_issue_codes(name: str, code: str) -> None:
    from sendx.validators.formats import operation_outcome

    (issue,) = operation_outcome([validators.validate(BASE / name, "fhir")])["issue"]
    assert issue["code"] == code and issue["expression"]
