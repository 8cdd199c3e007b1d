"""Fuzzing ``adapters``: CTF ⇄ pupil JSON, CTF → movements, FHIR ⇄ EHCP, passport drafts, HTML.

Property: each adapter returns its output or raises a ``SendxError`` naming what is wrong —
the CLI's ``sendx convert`` and ``sendx render`` call these on whatever file a user has.
Where an adapter accepts its input, its own promises are checked too: a CTF converted to
JSON converts back and again to the same JSON (lossless), the movements drawn from a valid
CTF are valid movement events, and a rendered page is a complete HTML document.
"""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given
from hypothesis import strategies as st

from sendx import validators
from sendx.adapters import ctf as ctf_adapter
from sendx.adapters import fhir as fhir_adapter
from sendx.adapters.html import render_document, render_plan
from sendx.adapters.passport import draft_passport
from sendx.validators.errors import SendxError
from tests.adapters.test_ctf import canonical
from tests.fuzz.fuzzkit import ctf_bases, fuzz, guarded, json_bases, json_values, mutated_json, mutated_xml

CTF_BASES = ctf_bases()
PUPIL_JSON = [ctf_adapter.ctf_to_pupils(x) for x in CTF_BASES[:4]]
PLANS = json_bases("ehcp", "ehcp")
ADVICE = json_bases("health-advice", "fhir")
ISSUER = {"type": "la", "id": "330", "name": "Northfield Council"}


def _schema_valid(plan: object) -> bool:
    report = validators.validate(plan if isinstance(plan, dict) else json.dumps(plan), "ehcp")
    return not any(i.rule in ("EHCP-SCHEMA", "DOC-PARSE", "DOC-KIND") for i in report.errors)


@fuzz()
@given(xml=mutated_xml(CTF_BASES))
def test_ctf_to_pupil_json_and_back(xml: bytes) -> None:
    pupils = guarded("ctf: ctf_to_pupils", ctf_adapter.ctf_to_pupils, xml)
    if isinstance(pupils, SendxError):
        return
    # Whatever the adapter reads, it writes back: the same canonical XML (comments and
    # indentation aside), through real JSON text.
    back = ctf_adapter.pupils_to_ctf(json.loads(json.dumps(pupils)))
    assert canonical(back) == canonical(xml)


@fuzz()
@given(xml=mutated_xml(CTF_BASES))
def test_ctf_to_movements(xml: bytes) -> None:
    events = guarded("ctf: ctf_to_movements", ctf_adapter.ctf_to_movements, xml)
    if isinstance(events, SendxError) or not validators.validate(xml, "ctf").valid:
        return
    for event in events:
        report = validators.validate(event, "movement")
        assert "MOVEMENT-SCHEMA" not in report.rules(), report.issues[:3]


@fuzz()
@given(doc=mutated_json(PUPIL_JSON) | json_values)
def test_pupil_json_to_ctf(doc: object) -> None:
    xml = guarded("ctf: pupils_to_ctf", ctf_adapter.pupils_to_ctf, doc)
    if isinstance(xml, bytes):
        # Whatever it writes is well-formed XML that sendx reads back as a CTF-rooted file.
        assert validators.validate(xml).kind in ("ctf", None)
        assert guarded("ctf: ctf_to_pupils", ctf_adapter.ctf_to_pupils, xml) is not None


@fuzz(scale=0.5)  # validates a FHIR Bundle with fhir.resources first: the slowest target
@given(bundle=mutated_json(ADVICE))
def test_advice_to_ehcp_sections(bundle: object) -> None:
    sections = guarded("fhir: advice_to_ehcp_sections", fhir_adapter.advice_to_ehcp_sections, bundle)
    if isinstance(sections, dict):
        assert set(sections) <= {"C", "G"}
        json.dumps(sections)


@fuzz()
@given(plan=mutated_json(PLANS))
def test_ehcp_to_bundle(plan: object) -> None:
    bundle = guarded("fhir: ehcp_to_bundle", fhir_adapter.ehcp_to_bundle, plan, timestamp="2026-11-01T09:00:00Z")
    if isinstance(bundle, dict):
        assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["resourceType"] == "Composition"
        json.dumps(bundle)


@fuzz()
@given(plan=mutated_json(PLANS), with_pupil=st.booleans())
def test_draft_passport(plan: object, with_pupil: bool) -> None:
    pupil = PUPIL_JSON[0]["pupils"][0] if with_pupil else None
    issued = dt.date(2026, 9, 1)
    draft = guarded("passport: draft_passport", draft_passport, plan, issuer=ISSUER, issued=issued, pupil=pupil)
    if isinstance(draft, dict):
        # A draft is a passport document (consent is the young person's to add, so it may be invalid).
        assert validators.validate(draft).kind == "passport"


@fuzz()
@given(plan=mutated_json(PLANS), as_bytes=st.booleans())
def test_render_document(plan: object, as_bytes: bool) -> None:
    source = json.dumps(plan).encode() if as_bytes or not isinstance(plan, dict) else plan
    result = guarded("html: render_document", render_document, source)
    if isinstance(result, tuple):
        page, report = result
        assert page.lstrip().lower().startswith("<!doctype html") and page.rstrip().endswith("</html>")
        assert report.valid


@fuzz()
@given(plan=mutated_json(PLANS))
def test_render_plan_of_any_schema_valid_plan(plan: object) -> None:
    # render_plan's contract is a schema-valid plan: rule errors (a draft's) must still render.
    if not _schema_valid(plan):
        return
    page = guarded("html: render_plan", render_plan, plan)
    assert isinstance(page, str) and page.rstrip().endswith("</html>")
