"""Tests for adapters/fhir.py: advice Bundle → EHCP C/G, EHCP → FHIR document Bundle, round trips."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendx import schemas, validators
from sendx.adapters.fhir import advice_to_ehcp_sections, duration_text, ehcp_to_bundle, frequency_text
from sendx.validators.errors import InputError
from sendx.validators.rules import Context

AS_OF = Context(as_of=dt.date(2026, 6, 1))
ADVICE = schemas.schema_dir("health-advice") / "examples" / "health-advice-ot-sensory.json"
PLAN = schemas.schema_dir("ehcp") / "examples" / "ehcp-final-secondary.json"
STAMP = "2026-04-01T09:00:00Z"


def load(path) -> dict[str, Any]:
    return json.loads(path.read_text())


def strip(sections: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """C/G items without their ``source`` pointers (which name the Bundle they came from)."""
    return {
        "C": [{k: v for k, v in n.items() if k != "source"} for n in sections["C"]["needs"]],
        "G": [{k: v for k, v in p.items() if k != "source"} for p in sections["G"]["provision"]],
    }


def with_sections(plan: dict[str, Any], cg: dict[str, Any]) -> dict[str, Any]:
    return {**plan, "sections": {**plan["sections"], **cg}}


# --- advice → C and G -----------------------------------------------------------------


def test_advice_example_to_sections():
    cg = advice_to_ehcp_sections(load(ADVICE), context=AS_OF)
    assert [n["id"] for n in cg["C"]["needs"]] == ["c1", "c2"]
    g1, g2 = cg["G"]["provision"]
    assert g1["frequency"] == "6 sessions of 60 minutes a year"  # from Timing.repeat
    assert g1["duration"] == "12 months"  # from boundsDuration
    assert g2["frequency"] == "3 sessions of 20 minutes each week"  # Timing.code.text wins
    assert g2["duration"].startswith("6 months from February 2026")  # the duration extension
    assert g2["needs"] == ["c2", "c1"]
    assert g1["source"]["resourceType"] == "ServiceRequest" and g1["source"]["fullUrl"].startswith("urn:uuid:")
    assert cg["C"]["needs"][0]["source"]["resourceType"] == "Condition"


def test_sections_fit_the_ehcp_schema():
    plan = with_sections(load(PLAN), advice_to_ehcp_sections(load(ADVICE), context=AS_OF))
    plan["sections"]["E"]["outcomes"][4]["needs"] = ["c1", "d1"]
    rep = validators.validate(plan, context=AS_OF)
    assert "EHCP-SCHEMA" not in rep.rules(), rep.issues


def test_invalid_advice_is_refused_with_the_first_error(data_dir):
    doc = load(data_dir / "fhir" / "vague-provision.json")
    with pytest.raises(InputError) as err:
        advice_to_ehcp_sections(doc, context=AS_OF)
    assert "FHIR-PROVISION-QUANTIFIED" in err.value.message


def test_careplan_activity_details_are_read():
    doc = load(ADVICE)
    plan = next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "CarePlan")
    cond = next(e["fullUrl"] for e in doc["entry"] if e["resource"]["resourceType"] == "Condition")
    plan["activity"].append(
        {
            "detail": {
                "status": "scheduled",
                "description": "Ear defenders for assemblies and fire drills",
                "performer": [{"display": "Class teacher"}],
                "scheduledTiming": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk", "count": 40}},
                "reasonReference": [{"reference": cond}],
            }
        }
    )
    g3 = advice_to_ehcp_sections(doc, context=AS_OF)["G"]["provision"][2]
    assert g3["description"] == "Ear defenders for assemblies and fire drills"
    assert g3["deliveredBy"] == "Class teacher"
    assert g3["frequency"] == "2 sessions each week" and g3["duration"] == "40 sessions in total"
    assert g3["source"]["path"] == "activity[2].detail" and g3["needs"] == ["c1"]


def test_need_and_provision_ids_may_coincide():
    plan = load(PLAN)
    plan["sections"]["C"]["needs"][0]["id"] = "g1"
    for item in plan["sections"]["G"]["provision"]:
        item["needs"] = ["g1" if n == "c1" else n for n in item["needs"]]
    back = strip(advice_to_ehcp_sections(ehcp_to_bundle(plan, timestamp=STAMP), context=AS_OF))
    assert back == {"C": plan["sections"]["C"]["needs"], "G": plan["sections"]["G"]["provision"]}


def test_timing_words():
    assert frequency_text({"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}}) == "1 session every 4 weeks"
    assert frequency_text({}) is None
    assert duration_text({}, {"repeat": {"boundsPeriod": {"start": "2026-04-01"}}}) == "from 2026-04-01"


# --- EHCP → FHIR ----------------------------------------------------------------------


def test_ehcp_to_bundle_validates_and_parses():
    bundle = ehcp_to_bundle(load(PLAN), timestamp=STAMP)
    rep = validators.validate(bundle, context=AS_OF)
    assert rep.kind == "health-advice" and rep.issues == []
    parsed = Bundle.model_validate(bundle)
    assert parsed.entry[0].resource.get_resource_type() == "Composition"
    codes = [s.code.coding[0].code for s in parsed.entry[0].resource.section]
    assert codes == ["A", "B", "C", "D", "E", "F", "G", "H1", "H2", "I", "J", "K"]


def test_ehcp_to_bundle_is_deterministic_and_keeps_c_and_g():
    plan = load(PLAN)
    a, b = ehcp_to_bundle(plan, timestamp=STAMP), ehcp_to_bundle(plan, timestamp=STAMP)
    assert a == b
    back = strip(advice_to_ehcp_sections(a, context=AS_OF))
    assert back == {"C": plan["sections"]["C"]["needs"], "G": plan["sections"]["G"]["provision"]}


def test_ehcp_without_nhs_number_is_refused():
    plan = load(PLAN)
    del plan["child"]["nhsNumber"]
    with pytest.raises(InputError, match="NHS number"):
        ehcp_to_bundle(plan)


def test_provision_for_unknown_need_is_refused():
    plan = load(PLAN)
    plan["sections"]["G"]["provision"][0]["needs"] = ["b1"]
    with pytest.raises(InputError, match="not in section C"):
        ehcp_to_bundle(plan)


def test_not_a_plan_is_refused():
    with pytest.raises(InputError, match="not an EHC plan"):
        ehcp_to_bundle({"resourceType": "Bundle"})


# --- round trips (property tests) -----------------------------------------------------

_ids = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    str.strip
)


@st.composite
def _advice(draw) -> dict[str, Any]:
    """The example advice with generated needs and structured provision."""
    doc = load(ADVICE)
    entries = doc["entry"]
    comp = entries[0]["resource"]
    cond_t = next(e for e in entries if e["resource"]["resourceType"] == "Condition")
    sr_t = next(e for e in entries if e["resource"]["resourceType"] == "ServiceRequest")
    plan = next(e["resource"] for e in entries if e["resource"]["resourceType"] == "CarePlan")
    keep = [e for e in entries if e["resource"]["resourceType"] not in ("Condition", "ServiceRequest")]
    need_ids = draw(st.lists(_ids, min_size=1, max_size=5, unique=True))
    conds = []
    for n, nid in enumerate(need_ids):
        e = copy.deepcopy(cond_t)
        e["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
        e["resource"]["id"] = f"cond-{n}"
        e["resource"]["identifier"][0]["value"] = nid
        e["resource"]["code"] = {"text": draw(_text)}
        conds.append(e)
    srs = []
    for n in range(draw(st.integers(0, 5))):
        e = copy.deepcopy(sr_t)
        e["fullUrl"] = f"urn:uuid:00000000-0000-4000-9000-{n:012d}"
        r = e["resource"]
        r["id"] = f"sr-{n}"
        if draw(st.booleans()):  # an item without an identifier is known by its id (FHIR has no empty arrays)
            r["identifier"] = [{"system": r["identifier"][0]["system"], "value": f"p{n}"}]
        else:
            del r["identifier"]
        r["code"] = {"text": draw(_text)}
        r["performerType"] = {"text": draw(_text)}
        r["occurrenceTiming"] = {
            "repeat": {
                "frequency": draw(st.integers(1, 10)),
                "period": draw(st.integers(1, 6)),
                "periodUnit": draw(st.sampled_from(["d", "wk", "mo", "a"])),
                "boundsDuration": {"value": draw(st.integers(1, 24)), "unit": "months"},
            }
        }
        picks = draw(st.lists(st.sampled_from(conds), min_size=1, max_size=3, unique_by=lambda c: c["fullUrl"]))
        r["reasonReference"] = [{"reference": c["fullUrl"]} for c in picks]
        srs.append(e)
    plan["activity"] = [{"reference": {"reference": e["fullUrl"]}} for e in srs]
    if not srs:
        del plan["activity"]
    plan["addresses"] = [{"reference": c["fullUrl"]} for c in conds]
    comp["section"][0]["entry"] = [{"reference": c["fullUrl"]} for c in conds]
    doc["entry"] = keep[:1] + conds + srs + keep[1:]
    return doc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_advice())
def test_advice_to_sections_to_fhir_keeps_every_item(doc):
    assert validators.validate(doc, context=AS_OF).valid
    cg = advice_to_ehcp_sections(doc, context=AS_OF)
    assert len(cg["C"]["needs"]) == sum(e["resource"]["resourceType"] == "Condition" for e in doc["entry"])
    assert len(cg["G"]["provision"]) == sum(e["resource"]["resourceType"] == "ServiceRequest" for e in doc["entry"])
    bundle = ehcp_to_bundle(with_sections(load(PLAN), cg), timestamp=STAMP)
    rep = validators.validate(bundle, context=AS_OF)
    assert rep.valid, rep.issues
    Bundle.model_validate(bundle)
    assert strip(advice_to_ehcp_sections(bundle, context=AS_OF)) == strip(cg)


_need = st.builds(lambda i, d: {"id": i, "description": d}, _ids, _text)


@st.composite
def _sections(draw) -> dict[str, Any]:
    needs = draw(st.lists(_need, min_size=1, max_size=5, unique_by=lambda n: n["id"]))
    ids = [n["id"] for n in needs]
    provision = []
    for n in range(draw(st.integers(0, 5))):
        item = {
            "id": f"g{n}",
            "needs": draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)),
            "description": draw(_text),
            "deliveredBy": draw(_text),
            "frequency": draw(_text),
            "duration": draw(_text),
        }
        if draw(st.booleans()):
            item["groupSize"] = draw(_text)
        provision.append(item)
    return {"C": {"needs": needs}, "G": {"provision": provision}}


@settings(max_examples=40, deadline=None)
@given(_sections())
def test_ehcp_sections_round_trip_through_fhir(cg):
    bundle = ehcp_to_bundle(with_sections(load(PLAN), cg), timestamp=STAMP)
    assert validators.validate(bundle, context=AS_OF).valid
    assert strip(advice_to_ehcp_sections(bundle, context=AS_OF)) == strip(cg)


@pytest.mark.parametrize("damage", ["child", "sections", "needs", "list"])
def test_a_plan_off_its_schema_is_refused_not_crashed(damage: str) -> None:
    # Found by tests/fuzz: these raised KeyError/TypeError from deep inside the adapter.
    plan: Any = load(PLAN)
    if damage == "child":
        del plan["child"]
    elif damage == "sections":
        plan["sections"] = []
    elif damage == "needs":
        del plan["sections"]["C"]["needs"][0]["id"]
    else:
        plan = [plan]
    with pytest.raises(InputError, match="not an EHC plan"):
        ehcp_to_bundle(plan)
