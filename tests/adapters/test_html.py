"""sendx.adapters.html: the EHCP page — content, links, escaping, accessibility structure, contrast."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from sendx.adapters.html import CONTRAST_PAIRS, render_document, render_plan
from sendx.schemas import examples
from sendx.validators.errors import InvalidDocumentError, UnsupportedKindError
from sendx.validators.rules import Context
from tests.htmlcheck import heading_problems, outline

DATA = Path(__file__).resolve().parents[1] / "data"
STYLE = Path(__file__).resolve().parents[2] / "adapters" / "templates" / "style.css"


@pytest.fixture(scope="module")
def plan() -> dict:
    path = next(p for p in examples("ehcp") if p.name == "ehcp-final-secondary.json")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(plan: dict) -> str:
    return render_plan(plan)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_structure_one_h1_ordered_headings_lang_landmarks(page: str) -> None:
    o = outline(page)
    assert o.lang == "en-GB"
    assert heading_problems([lvl for lvl, _ in o.headings]) == []
    assert o.headings[0] == (1, "Mara’s Education, Health and Care plan")
    for landmark in ("header", "main", "footer", "nav"):
        assert o.tags.count(landmark) >= 1, landmark
    assert o.tags.count("main") == 1
    assert len(o.ids) == len(set(o.ids)), "HTML ids must be unique"


def test_plain_english_section_headings(page: str) -> None:
    h2 = [text for lvl, text in outline(page).headings if lvl == 2]
    assert h2 == [
        "Contents",
        "What Mara told us",
        "Mara’s special educational needs",
        "Mara’s health needs",
        "Mara’s social care needs",
        "What we want Mara to achieve",
        "Support for Mara",
        "Where Mara will learn",
        "Personal budget",
        "Advice we gathered",
    ]


def test_outcome_shows_the_provision_that_serves_it(page: str) -> None:
    # e3 is served by f3 (education) and g2 (health), both linked by their "outcomes".
    card = page[page.index('id="outcome-e3"') : page.index('id="outcome-e4"')]
    assert 'href="#provision-f3"' in card and 'href="#provision-g2"' in card
    assert 'href="#provision-f1"' not in card
    assert "Not started yet" in card
    assert 'href="#need-b3"' in card and 'href="#need-c2"' in card


def test_provision_without_outcome_links_serves_outcomes_sharing_a_need(plan: dict) -> None:
    doc = copy.deepcopy(plan)
    for p in doc["sections"]["F"]["provision"]:
        p.pop("outcomes")
    html = render_plan(doc)
    card = html[html.index('id="outcome-e1"') : html.index('id="outcome-e2"')]
    # e1 meets b1; f1 and f4 both meet b1.
    assert 'href="#provision-f1"' in card and 'href="#provision-f4"' in card
    assert 'href="#provision-f2"' not in card


def test_who_how_often_how_long_budget_advice(page: str) -> None:
    text = _text(page)
    assert "Who HCPC-registered speech and language therapist" in text
    assert "How often 1 session of 45 minutes each week" in text
    assert "How long 36 weeks a year, from April 2026 to July 2027" in text
    assert "£1,200.00 a year" in text
    assert "Yes, paid to the family" in text
    assert "Dr Priya Nandakumar , Educational psychologist" in text.replace("</strong>", "")
    assert "16 July 2027" in text
    assert "Making progress" in text
    assert "Preparing for adulthood: Higher education and/or employment" in text
    assert "Mainstream school with resourced provision or SEN unit" in text


def test_everything_is_escaped(plan: dict) -> None:
    doc = copy.deepcopy(plan)
    doc["sections"]["A"]["childViews"] = '<script>alert("x")</script>'
    doc["sections"]["B"]["needs"][0]["description"] = "<img src=x onerror=alert(1)>"
    doc["child"]["preferredName"] = "<b>Mara</b>"
    html = render_plan(doc)
    assert "<script>" not in html and "<img" not in html and "<b>Mara" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;Mara&lt;/b&gt;" in html


def test_self_contained_no_external_assets_no_script(page: str) -> None:
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@media print" in page
    assert "overflow-wrap: anywhere" in page
    assert ":focus-visible" in page


def test_missing_sections_and_no_budget_are_said_not_hidden(plan: dict) -> None:
    doc = copy.deepcopy(plan)
    del doc["sections"]["C"]
    doc["sections"]["J"] = None
    html = render_plan(doc)
    health = html[html.index('id="section-c"') : html.index('id="section-d"')]
    assert "Not included in this plan." in health
    assert "No personal budget is part of this plan." in html


def test_duplicate_plan_ids_still_get_unique_html_ids(plan: dict) -> None:
    doc = copy.deepcopy(plan)
    doc["sections"]["C"]["needs"][0]["id"] = "b1"  # a duplicate id is a warning, not fatal
    o = outline(render_plan(doc))
    assert len(o.ids) == len(set(o.ids))


# --- contrast (WCAG 2.2: relative luminance, ratio (L1 + 0.05) / (L2 + 0.05)) ---


def _palette() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", STYLE.read_text(encoding="utf-8"))
    assert root, "style.css must declare its palette in :root"
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", root.group(1)))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey


@pytest.mark.parametrize(("fg", "bg", "minimum"), CONTRAST_PAIRS)
def test_palette_pairs_meet_wcag_aa(fg: str, bg: str, minimum: float) -> None:
    palette = _palette()
    ratio = contrast(palette[fg], palette[bg])
    assert ratio >= minimum, f"--{fg} on --{bg}: {ratio:.2f} < {minimum}"


def test_every_palette_colour_is_checked() -> None:
    checked = {name for fg, bg, _ in CONTRAST_PAIRS for name in (fg, bg)}
    assert set(_palette()) <= checked


# --- render_document: validate first ---


def test_render_document_refuses_another_kind(data_dir: Path) -> None:
    movement = next((data_dir / "movement").glob("*.json"))
    with pytest.raises(UnsupportedKindError, match="only EHC plans can be rendered"):
        render_document(movement)


def test_render_document_refuses_unknown_json() -> None:
    with pytest.raises(UnsupportedKindError, match="not a document sendx recognises"):
        render_document(b'{"hello": "world"}')


def test_render_document_refuses_a_plan_with_errors(data_dir: Path) -> None:
    with pytest.raises(InvalidDocumentError, match=r"the plan has \d+ errors?: .*EHCP-F-QUANTIFIED"):
        render_document(data_dir / "ehcp" / "ehcp-f-unquantified-provision.json")


def test_render_document_allows_warnings(data_dir: Path) -> None:
    html, report = render_document(data_dir / "ehcp" / "ehcp-f-vague-provision.json", context=Context())
    assert report.valid and report.issues
    assert html.startswith("<!DOCTYPE html>")
