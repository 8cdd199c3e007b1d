"""Bad input never escapes as a traceback: it becomes a DOC-PARSE / DOC-KIND issue."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendx import schemas, validators
from sendx.validators import parsing
from sendx.validators.errors import InputError
from sendx.validators.rules import Context


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{not json", "not valid JSON"),
        (b"\x00\x01\x02\xff\xfe", "not UTF-8"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"<<not xml", "not well-formed XML"),
    ],
)
def test_unparseable_documents_are_reported(data: bytes, words: str) -> None:
    report = validators.validate(data)
    assert not report.valid
    assert report.rules() == {"DOC-PARSE"}
    assert words in report.issues[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": "abc', "not valid JSON: unterminated string starting at line 1, column 7"),
        (b'{"a": 1,\n "b" 2}', "not valid JSON: expecting ':' delimiter at line 2, column 6"),
        (b'{"a": 1} x', "not valid JSON: extra data at line 1, column 10"),
    ],
)
def test_a_json_syntax_message_is_a_whole_sentence(data: bytes, message: str) -> None:
    # The decoder's "Unterminated string starting at" was cut off where its place was left out.
    with pytest.raises(InputError) as refused:
        parsing.load_json(data)
    assert refused.value.message == message
    assert validators.validate(data).issues[0].message == message


def test_unknown_kind() -> None:
    report = validators.validate(b'{"hello": "world"}')
    assert report.rules() == {"DOC-KIND"} and not report.valid
    # Any FHIR R4 resource is a kind of its own: the hint offers a resourceType, not only a Bundle.
    assert "FHIR R4 resource" in report.issues[0].hint and "--kind" in report.issues[0].hint
    report = validators.validate(b'{"$schema": "https://example.org/other"}')
    assert report.issues[0].location == "/$schema"
    assert validators.validate(b"[1, 2]").rules() == {"DOC-KIND"}


def test_unknown_xml_root() -> None:
    report = validators.validate(b"<html><body/></html>")
    assert report.rules() == {"DOC-KIND"}


def test_too_large_file_is_an_invalid_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.write(b'{"x": "')
        fh.write(b"a" * (parsing.MAX_JSON_BYTES + 10))
        fh.write(b'"}')
    report = validators.validate(big)
    assert report.rules() == {"DOC-PARSE"}
    assert "more than the limit" in report.issues[0].message


@pytest.mark.parametrize("value", ["9999-12-31", "9999-06-30", "0001-01-01"])
@pytest.mark.parametrize(
    "field",
    [
        ("child", "dateOfBirth"),
        ("timeline", "requestDate"),
        ("timeline", "decisionDate"),
        ("timeline", "draftIssuedDate"),
        ("timeline", "finalIssuedDate"),
        ("timeline", "lastReviewDate"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_findings_not_crashes(field: tuple[str, str], value: str) -> None:
    # Schema-valid dates whose deadlines (20 weeks, 12 months, the age-25 year) fall past
    # 9999-12-31 used to raise OverflowError/ValueError out of validate().
    plan = json.loads(schemas.examples("ehcp")[0].read_text())
    plan[field[0]][field[1]] = value
    report = validators.validate(json.dumps(plan).encode(), context=Context(as_of=dt.date(2026, 11, 24)))
    assert report.kind == "ehcp" and "EHCP-SCHEMA" not in report.rules()  # the rules did run
    if value.startswith("9999"):
        assert ("EHCP-AGE" if field[1] == "dateOfBirth" else "EHCP-TIMELINE-ORDER") in report.rules()


_EVERY_DOCUMENT = sorted(
    p
    for p in [*Path(schemas.__file__).parent.glob("*/examples/*"), *(Path(__file__).parents[1] / "data").rglob("*")]
    if p.suffix in (".json", ".xml")
)


@pytest.mark.parametrize("today", [dt.date.max, dt.date.min], ids=["9999-12-31", "0001-01-01"])
def test_today_at_the_ends_of_the_calendar_is_no_crash(today: dt.date) -> None:
    # ``sendx validate --as-of 9999-12-31`` on a CTF used to raise OverflowError (file date + 1 day).
    for path in _EVERY_DOCUMENT:
        report = validators.validate(path, context=Context(as_of=today))
        assert report.kind is not None or report.rules() <= {"DOC-PARSE", "DOC-KIND"}, path


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read file"):
        validators.validate(tmp_path / "missing.json")


def test_unknown_kind_name_raises() -> None:
    with pytest.raises(InputError, match="unknown kind"):
        validators.validate(b"{}", kind="statement")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    report = validators.validate(data)
    assert isinstance(report, validators.Report)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=20,
    ),
    st.sampled_from(["ehcp", "passport", "movement", "envelope"]),
)
def test_arbitrary_json_for_each_kind_never_raises(doc: object, kind: str) -> None:
    if isinstance(doc, dict):
        doc = {**doc, "$schema": f"https://schemas.sendx.org.uk/{kind}/v1"}
    report = validators.validate(parsing.json.dumps(doc).encode(), kind=kind)
    assert not report.valid


@pytest.mark.parametrize("data", [b"<:/>", b"<a:/>", b"<:CTfile/>"])
def test_root_names_namespaces_forbid_are_reported(data: bytes) -> None:
    # Found by tests/fuzz: lxml's QName raised ValueError on these root names.
    report = validators.validate(data)
    assert not report.valid and report.rules() <= {"DOC-KIND", "DOC-PARSE"}
