"""Fuzzing ``validators``: every kind, from raw bytes, text and mutated real documents.

Property: ``validators.validate`` always returns a well-formed ``Report`` — every issue names
a registered rule, a severity, a location string and a message, and the report serialises
to JSON as the CLI and the hub print it — and kind recognition never raises.  Mutations
start from the bundled examples, the test fixtures and synthetic CTFs, so the cases reach
the schema checks and the rules rather than stopping at the parser.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendx import validators
from sendx.validators import kinds, parsing
from sendx.validators.report import Report, Severity
from sendx.validators.rules import Context
from tests.fuzz.fuzzkit import (
    ctf_bases,
    fuzz,
    guarded,
    json_bases,
    json_values,
    mutated_json,
    mutated_xml,
    nasty_text,
)

#: JSON kinds with the folder of their test fixtures under tests/data.
JSON_KINDS = {
    "ehcp": "ehcp",
    "passport": "passport",
    "movement": "movement",
    "envelope": "envelope",
    "health-advice": "fhir",
    "fhir": "fhir/base",
}
KIND_NAMES = [None, *sorted(k.name for k in kinds.all_kinds())]
BASES = {kind: json_bases(kind, folder) for kind, folder in JSON_KINDS.items()}
CTF_BASES = ctf_bases()
RULE_IDS = {r.id for r in validators.all_rules()}
CTX = Context()


def check_report(result: object, kind: str | None) -> Report:
    """A report, sound enough for every printer the CLI and the hub have."""
    assert isinstance(result, Report), f"validate raised {result!r}"
    if kind is not None:
        assert result.kind in (kind, None) or not result.valid
    for issue in result.issues:
        assert issue.rule in RULE_IDS, f"unregistered rule {issue.rule}"
        assert isinstance(issue.severity, Severity)
        assert isinstance(issue.location, str)
        assert isinstance(issue.message, str) and issue.message
    json.dumps(result.to_dict())
    return result


def test_every_base_document_is_what_it_claims() -> None:
    # The mutations below are only meaningful if they start from documents of the kind.
    for kind, docs in BASES.items():
        assert validators.validate(docs[0], kind).valid, kind
    assert validators.validate(CTF_BASES[0], "ctf").valid


@fuzz()
@given(data=st.binary(max_size=2000), kind=st.sampled_from(KIND_NAMES))
def test_raw_bytes(data: bytes, kind: str | None) -> None:
    check_report(guarded("validate: raw bytes", validators.validate, data, kind, context=CTX), kind)


@fuzz()
@given(text=nasty_text | st.text(alphabet="{}[]<>\"':,/ 0123456789abcxyz\\\n", max_size=300))
def test_text(text: str) -> None:
    check_report(guarded("validate: text", validators.validate, text, context=CTX), None)


@fuzz()
@given(doc=json_values, kind=st.sampled_from(KIND_NAMES))
def test_arbitrary_json_objects(doc: object, kind: str | None) -> None:
    raw = json.dumps(doc).encode()
    check_report(guarded("validate: arbitrary JSON", validators.validate, raw, kind, context=CTX), kind)


@pytest.mark.parametrize("kind", sorted(JSON_KINDS))
@fuzz()
@given(data=st.data(), as_bytes=st.booleans(), named=st.booleans())
def test_mutated_documents(kind: str, data: st.DataObject, as_bytes: bool, named: bool) -> None:
    doc = data.draw(mutated_json(BASES[kind]), label="document")
    source = json.dumps(doc).encode() if as_bytes else doc
    if not as_bytes and not isinstance(doc, dict):
        source = json.dumps(doc)  # validate takes objects as mappings only; others as text
    target = kind if named else None
    check_report(guarded(f"validate: mutated {kind}", validators.validate, source, target, context=CTX), target)


@fuzz()
@given(xml=mutated_xml(CTF_BASES), named=st.booleans())
def test_mutated_ctf(xml: bytes, named: bool) -> None:
    kind = "ctf" if named else None
    check_report(guarded("validate: mutated ctf", validators.validate, xml, kind, context=CTX), kind)


@fuzz(scale=0.5)
@given(xml=mutated_xml(CTF_BASES), as_text=st.booleans())
def test_mutated_ctf_in_an_envelope(xml: bytes, as_text: bool) -> None:
    envelope = json.loads(json.dumps(BASES["envelope"][0]))
    envelope["kind"] = "ctf"
    # As text (how CTFs travel), or wrongly as an object: either way one report, never a traceback.
    envelope["document"] = xml.decode("utf-8", "replace") if as_text else {"xml": xml.decode("latin-1")}
    check_report(guarded("validate: ctf envelope", validators.validate, envelope, "envelope", context=CTX), "envelope")


@fuzz()
@given(doc=json_values | mutated_json([d for docs in BASES.values() for d in docs]), root=nasty_text)
def test_kind_recognition(doc: object, root: str) -> None:
    found = guarded("kinds: detect", kinds.detect_json, doc)
    assert found is None or found.syntax == "json"
    assert guarded("kinds: detect xml root", kinds.detect_xml, root) in (None, kinds.get_kind("ctf"))
    raw = json.dumps(doc).encode()
    assert parsing.sniff_format(raw) in ("json", "xml", "empty", "unknown")
    # sendx's strict parser agrees with the standard one on every document it accepts.
    assert guarded("parsing: load_json", parsing.load_json, raw) == json.loads(raw)
