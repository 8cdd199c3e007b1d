"""EHCP → passport draft: traceable, diagnosis-free, and valid once consent is recorded."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sendx import schemas, validators
from sendx.adapters.passport import draft_passport
from sendx.validators.errors import InputError
from sendx.validators.rules import Context

PLAN = json.loads(schemas.examples("ehcp")[0].read_text())
ISSUER = {"type": "la", "id": "330", "name": "Birmingham City Council SEND Service"}
TODAY = dt.date(2026, 7, 1)
CONSENT = {"given": True, "by": "young-person", "date": "2026-06-24", "shareWith": ["education", "health"]}


def test_draft_with_consent_is_a_valid_passport() -> None:
    draft = draft_passport(PLAN, issuer=ISSUER, issued=TODAY, consent=CONSENT)
    report = validators.validate(draft, context=Context(as_of=TODAY))
    assert report.kind == "passport"
    assert report.valid, [i.to_dict() for i in report.issues]


def test_draft_without_consent_cannot_be_shared() -> None:
    draft = draft_passport(PLAN, issuer=ISSUER, issued=TODAY)
    report = validators.validate(draft, context=Context(as_of=TODAY))
    assert "PASSPORT-CONSENT" in report.rules() and not report.valid


def test_every_need_and_serving_provision_is_carried_over() -> None:
    draft = draft_passport(PLAN, issuer=ISSUER, issued=TODAY, consent=CONSENT)
    plan_needs = {n["id"] for s in ("B", "C") for n in PLAN["sections"][s]["needs"]}
    assert {n["id"] for n in draft["needs"]} == plan_needs
    plan_provision = {p["id"] for s in ("F", "G") for p in PLAN["sections"][s]["provision"]}
    assert {a["id"].removeprefix("adj-") for a in draft["adjustments"]} == plan_provision
    assert draft["source"]["planId"] == PLAN["planId"]


def test_no_diagnosis_travels() -> None:
    draft = draft_passport(PLAN, issuer=ISSUER, issued=TODAY, consent=CONSENT)
    assert all("diagnosis" not in n and "primaryNeed" not in n for n in draft["needs"])
    assert "ASD" not in json.dumps(draft)


def test_identifiers_from_ctf_fill_gaps() -> None:
    plan = json.loads(json.dumps(PLAN))
    del plan["child"]["uln"]
    draft = draft_passport(plan, issuer=ISSUER, issued=TODAY, consent=CONSENT, pupil={"uln": "6123456783"})
    assert draft["subject"]["uln"] == "6123456783"


def test_a_plan_off_its_schema_is_refused_not_crashed() -> None:
    # Found by tests/fuzz: a provision item without "deliveredBy" raised KeyError.
    plan = json.loads(json.dumps(PLAN))
    del plan["sections"]["F"]["provision"][0]["deliveredBy"]
    with pytest.raises(InputError, match="not an EHC plan") as err:
        draft_passport(plan, issuer=ISSUER, issued=TODAY)
    assert err.value.where == "/sections/F/provision/0"
