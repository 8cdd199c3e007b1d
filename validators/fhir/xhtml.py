"""Narrative XHTML (``Narrative.div``): invariants txt-1 and txt-2.

Flow position: **validate**, called by the structure walk on each ``xhtml`` value.  R4 says
the div is well-formed XHTML in the XHTML namespace holding "only the basic HTML formatting
elements and attributes" of HTML 4.0 chapters 7-12 (less 9.4), ``<a>`` links, images and
style attributes — so no script, forms, objects, frames, event handlers, DOCTYPE or
entities beyond XML's own (txt-1) — and that it has some non-whitespace content (txt-2).
The div is parsed with sendx's hardened parser (no entity expansion, no DTD, no network).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sendx.validators.report import Issue
from sendx.validators.rules import declare

__all__ = ["check_div"]

XHTML_NS = "http://www.w3.org/1999/xhtml"
_NS = "{" + XHTML_NS + "}"
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"

TXT_1 = declare(
    "FHIR-TXT-1",
    severity="error",
    kind="fhir",
    source="FHIR R4 invariant txt-1 (Narrative.div: basic HTML formatting elements and attributes only)",
    summary="Narrative is well-formed XHTML with only the basic formatting elements and attributes",
)
TXT_2 = declare(
    "FHIR-TXT-2",
    severity="error",
    kind="fhir",
    source="FHIR R4 invariant txt-2 (Narrative.div has some non-whitespace content)",
    summary="Narrative has some non-whitespace content",
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: HTML 4.0 chapters 7-12 (structure, text, lists, tables, links) less 9.4 (ins/del),
#: the font-style elements, hr and img.
_ELEMENTS = _words(
    "a abbr acronym address b bdo big blockquote br caption cite code col colgroup dd dfn div dl dt em "
    "h1 h2 h3 h4 h5 h6 hr i img kbd li map area ol p pre q samp small span strong sub sup "
    "table tbody td tfoot th thead tr tt ul var"
)
_GLOBAL_ATTRIBUTES = _words("id class style title lang dir accesskey tabindex")
_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": _words("href name rel rev type hreflang charset shape coords target"),
    "img": _words("src alt longdesc height width usemap ismap border align hspace vspace"),
    "map": frozenset(["name"]),
    "area": _words("shape coords href nohref alt"),
    "blockquote": frozenset(["cite"]),
    "q": frozenset(["cite"]),
    "bdo": frozenset(["dir"]),
    "ol": frozenset(["type", "start", "compact"]),
    "ul": frozenset(["type", "compact"]),
    "li": frozenset(["type", "value"]),
    "dl": frozenset(["compact"]),
    "br": frozenset(["clear"]),
    "hr": _words("align noshade size width"),
    "pre": frozenset(["width"]),
    "table": _words("summary width border frame rules cellspacing cellpadding align bgcolor"),
    "caption": frozenset(["align"]),
    "col": _words("span width align char charoff valign"),
    "colgroup": _words("span width align char charoff valign"),
    **{
        cell: _words("abbr axis headers scope rowspan colspan align char charoff valign nowrap bgcolor width height")
        for cell in ("td", "th")
    },
    **{part: _words("align char charoff valign bgcolor") for part in ("tr", "thead", "tbody", "tfoot")},
    **{block: frozenset(["align"]) for block in ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6")},
}


@cache
def _parser() -> Any:
    from sendx.validators.xml import safe_parser

    return safe_parser(remove_comments=False)


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def check_div(div: str, where: str, out: list[Issue]) -> None:
    """txt-1 and txt-2 issues of one ``Narrative.div`` value."""
    from lxml import etree

    if "<!DOCTYPE" in div.upper():
        out.append(TXT_1.issue(where, "txt-1: the XHTML has a DOCTYPE, which narrative may not carry"))
        return
    try:
        root = etree.fromstring(div.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        msg = str(exc.msg or exc).split(", line ")[0]
        if "Entity '" in msg:
            entity = msg.split("'")[1]
            msg = f"invalid entity in the XHTML ('&{entity};'): only XML's own and numeric character references"
        out.append(TXT_1.issue(where, f"txt-1: the narrative is not well-formed XHTML: {msg}"))
        return
    if root.tag != _NS + "div":
        ns = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
        msg = (
            f"wrong namespace on the XHTML ({ns!r}), should be {XHTML_NS!r}"
            if _local(root.tag) == "div"
            else f"the narrative's root element is <{_local(root.tag)}>, not <div>"
        )
        out.append(TXT_1.issue(where, f"txt-1: {msg}"))
        return
    problems = list(_element_problems(root))
    if problems:
        out.append(TXT_1.issue(where, "txt-1: " + "; ".join(problems[:3])))
    if not "".join(root.itertext()).strip() and root.find(f".//{_NS}img") is None:
        out.append(TXT_2.issue(where, "txt-2: the narrative has no content (only whitespace)"))


def _element_problems(root: Any) -> Any:
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        name = _local(tag)
        if not tag.startswith(_NS):
            yield f"the element <{name}> is not in the XHTML namespace"
        elif name not in _ELEMENTS:
            yield f"invalid element name in the XHTML ({name!r})"
            continue
        elif name == "p" and any(_local(a.tag) == "p" for a in el.iterancestors()):
            yield "a <p> inside a <p>"
        href = el.get("href")
        if name == "a" and href is not None and href.lower().startswith("urn:"):
            yield f"the hyperlink {href!r} has the scheme 'urn', which a reader cannot follow"
        allowed = _ATTRIBUTES.get(name, frozenset())
        for attr in el.attrib:
            local = _local(attr) if attr.startswith(_XML_NS) else attr
            if attr.startswith(_XML_NS) and local in ("lang", "space"):
                continue
            if local not in _GLOBAL_ATTRIBUTES and local not in allowed:
                yield f"invalid attribute name in the XHTML ({local!r} on <{name}>)"
