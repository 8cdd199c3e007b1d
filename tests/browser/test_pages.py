"""The EHCP page and the LA pages in a real browser (Debian chromium via Playwright).

Checks what only a browser can: no horizontal scrolling on a 390×844 phone, axe-core's WCAG
2.x A/AA rules, our own structural and contrast checks on the rendered DOM, visible focus,
the print stylesheet, and that the dashboard shows the synthetic history's known answers.
Screenshots go to $SENDX_ARTIFACTS (default <tmp>/sendx-screenshots).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from browserkit import DESKTOP, HERE, PHONE, save_json

from adapters.html import render_plan
from adapters.la import la_metrics, synthetic_history
from adapters.la_pages import (
    movements_csv_for,
    render_access,
    render_dashboard,
    render_log,
    render_movements,
    render_sign_in,
)
from schemas import examples

pytestmark = pytest.mark.browser

LA = {"code": "330", "name": "Birmingham"}
HISTORY = synthetic_history(2024, 150)
LOST_CTFS = 3
PLAN = json.loads(next(p for p in examples("ehcp") if p.name == "ehcp-final-secondary.json").read_text("utf-8"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LA_PAGES = ["/la/sign-in", "/la/dashboard", "/la/movements", "/la/movements?ap=1&page=2", "/la/log", "/la/access"]


@pytest.fixture(scope="session")
def site():
    from flask import Flask, Response, request

    app = Flask("sendx-browser-test")
    access = [
        {"at": f"2026-0{m}-1{m}T0{m}:15:00Z", "reader": f"school:14583{m}", "document": f"EHCP-330-{m}", "kind": "ehcp"}
        for m in range(1, 8)
    ]

    @app.get("/plan")
    def plan() -> str:
        return render_plan(PLAN)

    @app.get("/la/sign-in")
    def sign_in() -> str:
        return render_sign_in()

    @app.get("/la/dashboard")
    def dashboard() -> str:
        m = la_metrics(HISTORY.events, la_code="330", as_of=HISTORY.as_of, ehcps=[PLAN], lost_ctfs_waiting=LOST_CTFS)
        return render_dashboard(m, la=LA, user="la:330")

    @app.get("/la/movements")
    def movements() -> str:
        return render_movements(HISTORY.events, la=LA, query=request.args, user="la:330")

    @app.get("/la/movements.csv")
    def movements_csv() -> Response:
        return Response(movements_csv_for(HISTORY.events, la=LA, query=request.args), mimetype="text/csv")

    @app.get("/la/log")
    def log() -> str:
        checkpoint = (
            "sendx.example/movements\n1024\nK3b0PqzG7n2m4Lw8vXrT1yA5cD6eF9hJ0kM2nQ4sU6w=\n\n— sendx-hub Az3J0kQk\n"
        )
        return render_log(
            la=LA, checkpoint=checkpoint, verify_result={"ok": True, "message": "All 1024 entries match."}
        )

    @app.get("/la/access")
    def access_page() -> str:
        return render_access(access, la=LA)

    return app


# ------------------------------------------------------------------ in-page checks

_OVERFLOW_JS = (HERE / "overflow.js").read_text(encoding="utf-8")

_OWN_CHECKS_JS = (HERE / "own_checks.js").read_text(encoding="utf-8")


def _open(browser, url: str, viewport: dict[str, int]):
    page = browser.new_page(viewport=viewport)
    page.goto(url, wait_until="load")
    return page


def _shot(page, artifacts: Path, name: str, full: bool = True) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def _axe(page, axe_source: str | None, artifacts: Path, name: str) -> list[dict[str, Any]]:
    if axe_source is None:
        return []  # no npm: the page still faces _OWN_CHECKS_JS
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG_TAGS
    )
    violations = result["violations"]
    if violations:
        save_json(artifacts / f"{name}-axe.json", violations)
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in violations]


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-").replace("&", "-").replace("=", "") or "root"


# ------------------------------------------------------------------ the plan page


def test_plan_fits_a_phone_without_horizontal_scrolling(browser, server, artifacts) -> None:
    page = _open(browser, server + "/plan", PHONE)
    result = page.evaluate(_OVERFLOW_JS)
    _shot(page, artifacts, "plan-phone-top", full=False)
    _shot(page, artifacts, "plan-phone-full")
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"], result
    assert result["bad"] == [], result


def test_plan_long_words_wrap_on_a_phone(browser) -> None:
    import copy

    doc = copy.deepcopy(PLAN)
    doc["sections"]["A"]["childViews"] = "Supercalifragilistic" * 20
    doc["sections"]["K"]["advice"][0]["organisation"] = "https://example.org/" + "x" * 300
    html = render_plan(doc)
    page = browser.new_page(viewport=PHONE)
    page.set_content(html)
    result = page.evaluate(_OVERFLOW_JS)
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"] and result["bad"] == [], result


def test_plan_passes_axe_wcag_aa(browser, server, artifacts, axe_source) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(browser, server + "/plan", viewport)
        violations = _axe(page, axe_source, artifacts, f"plan-{name}")
        page.close()
        assert violations == [], violations
    if axe_source is None:
        pytest.skip("axe-core unavailable (no npm); the plan was checked by the other tests only")


def test_plan_own_accessibility_checks(browser, server) -> None:
    page = _open(browser, server + "/plan", PHONE)
    problems = page.evaluate(_OWN_CHECKS_JS)
    page.close()
    assert problems == []


def test_plan_focus_is_visible(browser, server, artifacts) -> None:
    page = _open(browser, server + "/plan", PHONE)
    page.keyboard.press("Tab")
    skip = page.evaluate(
        "() => { const e = document.activeElement, r = e.getBoundingClientRect(), s = getComputedStyle(e);"
        " return {text: e.textContent, left: r.left, outline: s.outlineStyle, width: s.outlineWidth}; }"
    )
    assert skip["text"] == "Skip to main content" and skip["left"] >= 0
    page.keyboard.press("Tab")
    link = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return {tag: document.activeElement.tagName, outline: s.outlineStyle, bg: s.backgroundColor}; }"
    )
    _shot(page, artifacts, "plan-phone-focus", full=False)
    page.close()
    assert skip["outline"] != "none" and link["outline"] != "none", (skip, link)
    assert link["bg"] == "rgb(255, 221, 0)"


def test_plan_print_stylesheet(browser, server) -> None:
    page = _open(browser, server + "/plan", DESKTOP)
    page.emulate_media(media="print")
    toc = page.evaluate("() => getComputedStyle(document.querySelector('nav.toc')).display")
    page.close()
    assert toc == "none"


def test_axe_check_catches_a_known_violation(browser, axe_source, artifacts) -> None:
    """The accessibility check can fail: a page without lang and with an unlabelled image does."""
    if axe_source is None:
        pytest.skip("axe-core unavailable (no npm)")
    page = browser.new_page(viewport=PHONE)
    page.set_content("<!DOCTYPE html><html><head><title>x</title></head><body><img src='x.png'></body></html>")
    ids = {v["id"] for v in _axe(page, axe_source, artifacts, "known-bad")}
    own = page.evaluate(_OWN_CHECKS_JS)
    page.close()
    assert {"html-has-lang", "image-alt"} <= ids
    assert any("lang" in p for p in own) and any("h1" in p for p in own)


# ------------------------------------------------------------------ the LA pages


@pytest.mark.parametrize("path", LA_PAGES)
def test_la_pages_fit_a_phone(browser, server, artifacts, path) -> None:
    page = _open(browser, server + path, PHONE)
    result = page.evaluate(_OVERFLOW_JS)
    _shot(page, artifacts, f"{_slug(path)}-phone", full=False)
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"] and result["bad"] == [], result


@pytest.mark.parametrize("path", LA_PAGES)
def test_la_pages_accessibility(browser, server, artifacts, axe_source, path) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(browser, server + path, viewport)
        own = page.evaluate(_OWN_CHECKS_JS)
        violations = _axe(page, axe_source, artifacts, f"{_slug(path)}-{name}")
        if name == "desktop":
            _shot(page, artifacts, f"{_slug(path)}-desktop")
        page.close()
        assert own == [], (name, own)
        assert violations == [], (name, violations)


def test_dashboard_numbers_equal_the_known_answers(browser, server, artifacts) -> None:
    page = _open(browser, server + "/la/dashboard", DESKTOP)
    shown = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-metric]')]"
        ".map(e => [e.dataset.metric, e.textContent.trim()]))"
    )
    months = page.evaluate(
        "() => [...document.querySelectorAll('#ap-by-month tbody tr')]"
        ".map(tr => [...tr.children].map(c => c.textContent.trim()))"
    )
    page.close()
    x = HISTORY.expected["330"]
    days = x["placementDays"]
    assert shown["into-ap"] == shown["into-ap-total"] == str(x["into"])
    assert shown["out-of-ap"] == shown["out-of-ap-total"] == str(x["outOf"])
    assert shown["open-placements"] == str(x["openPlacements"])
    assert shown["unknown-open"] == str(x["unknownOpen"])
    assert shown["placements"] == str(x["placements"])
    assert shown["mean-days"] == str(round(statistics.fmean(days), 1))
    assert shown["median-days"] == str(float(statistics.median(days)))
    assert shown["exits"] == str(x["exits"])
    assert shown["reintegrated"] == str(x["reintegratedMainstream"])
    assert shown["reintegration-percent"] == f"{round(100 * x['reintegratedMainstream'] / x['exits'], 1)}%"
    assert shown["lost-ctfs"] == str(LOST_CTFS)
    # The example plan: requested 3 Nov 2025, final 20 Mar 2026 (137 days, within 20 weeks); review not yet due.
    assert (shown["ehcp-issued"], shown["ehcp-within"], shown["ehcp-late"]) == ("1", "1", "0")
    assert shown["reviews-overdue"] == "0"
    into = {row[0]: int(row[1]) for row in months if int(row[1])}
    assert len(into) == len(x["intoByMonth"]) and sum(into.values()) == x["into"]


def test_movements_csv_link_downloads_exactly_what_is_shown(browser, server) -> None:
    page = _open(browser, server + "/la/movements?ap=1&type=ap-placement-end", DESKTOP)
    href = page.get_attribute("a.button[download]", "href")
    status = page.text_content("[role=status]")
    body = page.request.get(server + href).text()
    page.close()
    assert href.startswith("/la/movements.csv?") and "type=ap-placement-end" in href and "ap=1" in href
    rows = list(csv.DictReader(io.StringIO(body)))
    assert f"of {len(rows)} movement" in " ".join(status.split())
    assert rows and all(r["type"] == "ap-placement-end" and "330" in (r["fromLa"], r["toLa"]) for r in rows)
