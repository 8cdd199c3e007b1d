"""Tests for validators/fhir/xhtml.py: narrative XHTML (txt-1, txt-2)."""

from __future__ import annotations

import pytest

from sendx.validators.fhir.xhtml import check_div
from sendx.validators.report import Issue

NS = 'xmlns="http://www.w3.org/1999/xhtml"'


def check(div: str) -> list[Issue]:
    out: list[Issue] = []
    check_div(div, "Patient.text.div", out)
    return out


def test_ordinary_narrative_passes() -> None:
    div = (
        f'<div {NS} xml:lang="en"><h2 class="x">Amara</h2><table border="1"><tr><th scope="col">A</th></tr>'
        '<tr><td colspan="2"><a href="https://example.org/#x">link</a> &amp; <b>bold</b><br/></td></tr></table>'
        '<!-- a comment --><img src="#p" alt="photo"/><ul><li value="1">x</li></ul></div>'
    )
    assert check(div) == []


@pytest.mark.parametrize(
    ("div", "words"),
    [
        (f"<div {NS}><script>alert(1)</script>x</div>", "invalid element name in the XHTML ('script')"),
        (f'<div {NS}><p onClick="x()">x</p></div>', "invalid attribute name in the XHTML ('onClick' on <p>)"),
        (f"<div {NS}>&nbsp;</div>", "invalid entity in the XHTML ('&nbsp;')"),
        ('<div xmlns="http://www.w3.org/1999/html">x</div>', "wrong namespace on the XHTML"),
        (f"<p {NS}>x</p>", "root element is <p>"),
        (f'<div {NS}><svg xmlns="http://www.w3.org/2000/svg"/>x</div>', "not in the XHTML namespace"),
        (f"<div {NS}><p>a<p>b</p></p></div>", "a <p> inside a <p>"),
        (f'<div {NS}><a href="urn:uuid:1">x</a></div>', "the scheme 'urn'"),
        (f"<!doctype div><div {NS}>x</div>", "DOCTYPE"),
        (f"<div {NS}>x", "not well-formed"),
    ],
)
def test_txt_1(div: str, words: str) -> None:
    (issue,) = check(div)
    assert issue.rule == "FHIR-TXT-1" and words in issue.message


def test_txt_2_wants_some_content() -> None:
    (issue,) = check(f"<div {NS}> <p>  </p> </div>")
    assert issue.rule == "FHIR-TXT-2"
    assert check(f'<div {NS}><img src="#x" alt=""/></div>') == []
