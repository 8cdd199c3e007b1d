"""validators/xml.py: what the hardened parser does with comments and processing instructions.

(The attacks it refuses — entities, DTDs, XInclude, stylesheets, depth — are in tests/security.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import schemas
import validators
from adapters import ctf as ctf_adapter
from validators import xml as safe_xml
from validators.errors import InputError
from validators.rules import Context

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
