"""Identifier checks of the JSON kinds: every field found wherever its pointer pattern points,
and each bad value reported at its own JSON Pointer."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from sendx import schemas, validators
from sendx.validators.jsonkind import IDENTIFIER_RULES, identifier_issues, pointer_values
from sendx.validators.rules import Context

AS_OF = Context(as_of=dt.date(2026, 11, 24))


def _plan() -> dict[str, Any]:
    return json.loads(schemas.examples("ehcp")[0].read_text())


def _id_issues(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    report = validators.validate(json.dumps(doc).encode(), context=AS_OF)
    return [(i.rule, i.location, i.message) for i in report.issues if i.rule.startswith("ID-")]


def test_every_bad_code_in_an_array_is_reported_at_its_own_index() -> None:
    plan = _plan()
    advice = plan["sections"]["K"]["advice"]
    advice[1]["odsCode"] = "ryw"
    advice[3]["odsCode"] = "1234"
    assert _id_issues(plan) == [
        ("ID-ODS", "/sections/K/advice/1/odsCode", "'ryw' is not a valid ODS code"),
        ("ID-ODS", "/sections/K/advice/3/odsCode", "'1234' is not a valid ODS code"),
    ]


def test_fields_sharing_an_object_are_each_checked() -> None:
    plan = _plan()
    plan["child"].update(upn="A330200119042", uln="4812345670", nhsNumber="9434765918", postcode="B15")
    plan["la"]["code"] = "000"
    found = {(rule, where) for rule, where, _ in _id_issues(plan)}
    assert found == {
        ("ID-LA-CODE", "/la/code"),
        ("ID-UPN", "/child/upn"),
        ("ID-ULN", "/child/uln"),
        ("ID-NHS-NUMBER", "/child/nhsNumber"),
        ("ID-POSTCODE", "/child/postcode"),
    }


def test_absent_and_null_identifiers_are_not_checked() -> None:
    plan = _plan()
    del plan["child"]["uln"]
    plan["sections"]["K"]["advice"] = []
    assert _id_issues(plan) == []


FIELDS = {"/upn": "ID-UPN", "/a/*/b/*/uln": "ID-ULN", "/a/*/urn": "ID-URN", "/x/y/ukprn": "ID-UKPRN"}
DOC = {
    "upn": "B80120000500",
    "a": [
        {"urn": "045832", "b": [{"uln": "4812345676"}, {"uln": "4812345677"}]},
        "not an object",
        {"urn": "145832", "b": {"uln": "4812345677"}},  # "b" is not an array: nothing to check
    ],
    "x": {"y": {"ukprn": "20012345"}},
}


def test_identifier_issues_follows_every_pattern_shape() -> None:
    got = sorted((i.rule, i.location) for i in identifier_issues(DOC, FIELDS))
    assert got == [
        ("ID-UKPRN", "/x/y/ukprn"),
        ("ID-ULN", "/a/0/b/1/uln"),
        ("ID-UPN", "/upn"),
        ("ID-URN", "/a/0/urn"),
    ]


@pytest.mark.parametrize("pattern", ["/a/*/urn", "/a/*/b/*/uln", "/x/y/ukprn", "/upn"])
def test_identifier_issues_agrees_with_pointer_values(pattern: str) -> None:
    # The lazy walk behind identifier_issues must find what the general walker finds.
    rid = FIELDS[pattern]
    check = IDENTIFIER_RULES[rid][0]
    expected = [ptr for ptr, value in pointer_values(DOC, pattern) if value is not None and not check(value)]
    assert [i.location for i in identifier_issues(DOC, {pattern: rid})] == expected


def test_identifier_issues_leaves_the_document_alone() -> None:
    before = copy.deepcopy(DOC)
    list(identifier_issues(DOC, FIELDS))
    assert before == DOC
