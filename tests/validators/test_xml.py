"""validators/xml.py: what the hardened parser does with comments and processing instructions.

(The attacks it refuses — entities, DTDs, XInclude, stylesheets, depth — are in tests/security.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sendx import schemas, validators
from sendx.adapters import ctf as ctf_adapter
from sendx.validators import xml as safe_xml
from sendx.validators.errors import InputError
from sendx.validators.rules import Context

EXAMPLE = (Path(schemas.__file__).parent / "ctf" / "examples" / "ctf-two-pupils-primary-to-primary.xml").read_bytes()
TODAY = Context(as_of=dt.date(2026, 1, 1))
SOURCE_LEA = b"<LEA>820</LEA>"  # the first is the source school's


def _with(old: bytes, new: bytes) -> bytes:
    assert old in EXAMPLE
    return EXAMPLE.replace(old, new, 1)


def test_a_comment_inside_a_value_is_read_as_the_schema_reads_it():
    # Found by tests/fuzz: "8<!---->20" is LA 820 to the XSD, but read as "8" it gave movement
    # events an empty source LA, and the lossless converter dropped the "20".
    ctf = _with(SOURCE_LEA, b"<LEA>8<!-- split -->20</LEA>").replace(
        b"<Surname>Lewis</Surname>", b"<Surname>Le<!---->wis</Surname>", 1
    )
    assert validators.validate(ctf, "ctf", context=TODAY).valid
    assert {e["from"]["la"] for e in ctf_adapter.ctf_to_movements(ctf) if "from" in e} == {"820"}
    pupils = ctf_adapter.ctf_to_pupils(ctf)
    assert pupils == ctf_adapter.ctf_to_pupils(EXAMPLE)  # comments carry no data


@pytest.mark.parametrize("reader", ["validate", "convert", "parse", "filtered stream"])
def test_a_processing_instruction_inside_an_element_is_refused_with_its_place(reader):
    ctf = _with(b"<Surname>Lewis</Surname>", b"<Surname>Le<?mis note?>wis</Surname>")
    where = "/CTfile/CTFpupilData/Pupil/Surname"
    if reader == "validate":
        report = validators.validate(ctf, "ctf", context=TODAY)
        assert [(i.rule, i.location) for i in report.errors] == [("DOC-PARSE", where)]
        assert "processing instruction" in report.errors[0].message
        return
    with pytest.raises(InputError, match=r"processing instruction inside an element \(<\?mis") as caught:
        if reader == "convert":
            ctf_adapter.ctf_to_pupils(ctf)
        elif reader == "parse":
            safe_xml.parse(ctf)
        else:
            list(safe_xml.iterparse(ctf, tag="UPN"))
    assert caught.value.where == where


def test_processing_instructions_outside_the_root_are_no_trouble():
    ctf = EXAMPLE.replace(b"<CTfile>", b"<?mis exported-by='x'?>\n<CTfile>", 1) + b"<?mis end?>\n"
    assert validators.validate(ctf, "ctf", context=TODAY).valid
    assert ctf_adapter.ctf_to_pupils(ctf) == ctf_adapter.ctf_to_pupils(EXAMPLE)


# --------------------------------------------------------------------------- the prolog scan

BOMB = b'<!DOCTYPE CTfile [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'


def _no_libxml2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any call into libxml2's parsers fail the test: the refusal must come before them."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("libxml2 was handed a document the prolog scan should have refused")

    monkeypatch.setattr(safe_xml.etree, "parse", refuse)
    monkeypatch.setattr(safe_xml.etree, "iterparse", refuse)


@pytest.mark.parametrize(
    ("prolog", "line"),
    [
        (b"", 1),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n', 2),
        (b'<?xml version="1.0"?>\n<!-- exported\n by the MIS -->\n<?mis x?>\n\n', 6),
        (b"<!--" + b"x" * 300_000 + b"-->\n", 2),  # past the first read: the scan reads on
        (b" " * 200_000, 1),
    ],
    ids=["bare", "declaration", "comments-and-pis", "long-comment", "long-whitespace"],
)
@pytest.mark.parametrize("reader", ["parse", "iterparse", "validate"])
def test_a_doctype_is_refused_in_sendx_words_with_its_line_before_libxml2_reads(monkeypatch, prolog, line, reader):
    data = prolog + BOMB + EXAMPLE.split(b"?>", 1)[1]
    _no_libxml2(monkeypatch)
    if reader == "validate":
        [issue] = validators.validate(data, "ctf", context=TODAY).errors
        assert (issue.rule, issue.location) == ("DOC-PARSE", f"line {line}")
        assert issue.message == "XML with a document type declaration (<!DOCTYPE ...>) is refused"
        return
    with pytest.raises(InputError, match=r"document type declaration \(<!DOCTYPE") as caught:
        if reader == "parse":
            safe_xml.parse(data)
        else:
            list(safe_xml.iterparse(data))
    assert caught.value.where == f"line {line}" and "remove it" in caught.value.diagnostics()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_a_doctype_is_seen_in_every_encoding_libxml2_detects(monkeypatch, encoding, bom):
    text = f'<?xml version="1.0" encoding="{encoding[:6].upper()}"?>\n<!DOCTYPE a>\n<a/>'
    data = ("\ufeff" if bom else "").encode(encoding) + text.encode(encoding)
    _no_libxml2(monkeypatch)
    with pytest.raises(InputError, match="DOCTYPE") as caught:
        safe_xml.parse(data)
    assert caught.value.where == "line 2"


def test_utf16_without_a_doctype_is_read():
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!-- Zoë -->\n<a>Zoë</a>'
    assert safe_xml.parse("\ufeff".encode("utf-16-le") + text.encode("utf-16-le")).text == "Zoë"


@pytest.mark.parametrize("encoding", ["UTF-7", "IBM037", "ISO-2022-JP"])
def test_an_encoding_the_scan_cannot_read_is_refused(monkeypatch, encoding):
    # In UTF-7, "+ADw-!DOCTYPE" is "<!DOCTYPE": a scan of the bytes could not see it.
    data = f'<?xml version="1.0" encoding="{encoding}"?>+ADw-!DOCTYPE a+AD4-<a/>'.encode("ascii")
    _no_libxml2(monkeypatch)
    with pytest.raises(InputError, match=f"encoding '{encoding}' is refused") as caught:
        safe_xml.parse(data)
    assert "UTF-8" in caught.value.diagnostics()


@pytest.mark.parametrize("encoding", ["UTF-8", "utf-8", "ISO-8859-1", "windows-1252", "US-ASCII"])
def test_ascii_compatible_encodings_are_read(encoding):
    assert safe_xml.parse(f'<?xml version="1.0" encoding="{encoding}"?><a>x</a>'.encode("ascii")).text == "x"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"<a>" * 300 + b"</a>" * 300, "nested deeper than the limit of 256 levels"),
        (b'<a x="' + b"y" * 10_000_001 + b'"/>', "value longer than the limit of 10,000,000 characters"),
        (b"<a>" + b"y" * 10_000_001 + b"</a>", "value longer than the limit of 10,000,000 characters"),
    ],
    ids=["depth", "attribute", "text"],
)
def test_libxml2_limits_are_reported_in_sendx_words(document, words):
    for read in (safe_xml.parse, lambda d: list(safe_xml.iterparse(d))):
        with pytest.raises(InputError) as caught:
            read(document)
        message = caught.value.diagnostics()
        assert words in message and "XML_PARSE_HUGE" not in message and caught.value.where.startswith("line 1")


def test_a_syntax_error_states_its_place_once():
    with pytest.raises(InputError) as caught:
        safe_xml.parse(b"<a><b></a>")
    assert caught.value.where.startswith("line 1, column") and "column" not in caught.value.message


def test_a_ctf_in_utf16_is_recognised_and_validated():
    text = EXAMPLE.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    for data in ("\ufeff".encode("utf-16-le") + text.encode("utf-16-le"), text.encode("utf-16-be")):
        assert validators.validate(data, context=TODAY).kind == "ctf"
        assert validators.validate(data, context=TODAY).valid
