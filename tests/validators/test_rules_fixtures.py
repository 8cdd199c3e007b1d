"""Every invalid fixture fires exactly its expected rules; every rule fires somewhere and passes
on the bundled examples; and each fixture's full report (locations, wording, hints, order) stays
exactly what it was, so speeding the validators up cannot quietly change what people read."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sendx import schemas, validators
from sendx.validators.rules import Context, all_rules
from tests.conftest import DATA

AS_OF = Context(as_of=dt.date(2026, 11, 24))
EXPECTED: dict[str, list[str]] = json.loads((DATA / "expected-rules.json").read_text())
#: Each fixture's issues as ``Issue.to_dict()``, in report order (recorded before the
#: validators were optimised; regenerate only for a deliberate change of wording).
EXPECTED_ISSUES: dict[str, list[dict[str, str]]] = json.loads((DATA / "expected-issues.json").read_text())
JSON_KINDS = ("ehcp", "passport", "movement", "envelope", "pupil-json")


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_fixture_fires_exactly_its_rules(fixture: str) -> None:
    report = validators.validate(DATA / fixture, context=AS_OF)
    assert report.rules() == set(EXPECTED[fixture]), [i.to_dict() for i in report.issues]


@pytest.mark.parametrize("fixture", sorted(EXPECTED_ISSUES))
def test_fixture_report_is_unchanged(fixture: str) -> None:
    report = validators.validate(DATA / fixture, context=AS_OF)
    assert [i.to_dict() for i in report.issues] == EXPECTED_ISSUES[fixture]


def test_every_fixture_has_a_recorded_report() -> None:
    assert set(EXPECTED_ISSUES) == set(EXPECTED)


@pytest.mark.parametrize("example", [p for k in JSON_KINDS for p in schemas.examples(k)], ids=str)
def test_bundled_examples_are_clean(example) -> None:
    report = validators.validate(example, context=AS_OF)
    assert report.valid
    assert report.issues == [], [i.to_dict() for i in report.issues]


def test_every_json_rule_has_a_firing_fixture() -> None:
    fired = {r for rules in EXPECTED.values() for r in rules}
    ours = {r.id for r in all_rules() if r.kind in JSON_KINDS}
    assert ours <= fired, f"rules with no fixture that fires them: {sorted(ours - fired)}"


def test_identifier_rules_fire_from_fixtures() -> None:
    fired = {r for rules in EXPECTED.values() for r in rules}
    ids = {r.id for r in all_rules() if r.id.startswith("ID-")}
    assert ids <= fired, sorted(ids - fired)


def test_every_rule_has_source_and_summary() -> None:
    for r in all_rules():
        assert r.source and r.summary and r.id == r.id.upper()
