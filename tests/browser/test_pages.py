"""The EHCP page and the LA pages, served by a real hub, in a real browser (Debian chromium via Playwright).

The hub is ``create_app`` on a temporary SQLite data directory, served on 127.0.0.1 and filled
through the ``Hub`` service with the synthetic history of two areas, LA 330's EHC plans and
lost-pupil CTFs (``hub_helpers.populate_areas``).  The browser signs in through the form as
LA 330, as a person would, and checks what only a browser can: no horizontal scrolling on a
390×844 phone, axe-core's WCAG 2.x A/AA rules, our own structural and contrast checks on the
rendered DOM, that the pages break none of their own Content-Security-Policy, visible focus,
the print stylesheet, filtering and the CSV download against the API's answer, and that the
overview shows the synthetic history's known answers.
Screenshots go to $SENDX_ARTIFACTS (default <tmp>/sendx-screenshots).
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import Actor, Areas, populate_areas, register_cast

from sendx.adapters.html import render_plan
from sendx.exchange.audit.figures import synthetic_history
from sendx.schemas import examples
from tests.browser.browserkit import DESKTOP, HERE, PHONE, save_json

pytestmark = pytest.mark.browser

PLAN = next(p for p in examples("ehcp") if p.name == "ehcp-final-secondary.json")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LA_PAGES = ["/", "/la/sign-in", "/la/dashboard", "/la/movements", "/la/movements?ap=1&page=2", "/la/log", "/la/access"]


@dataclass
class Live:
    """The hub behind the browser: its app, the cast's tokens and what was put in it."""

    app: Any
    actors: dict[str, Actor]
    areas: Areas

    @property
    def plan_url(self) -> str:
        return f"/plans/{self.areas.plan_transfers[0]}"  # the on-time plan, LA 330 → Kingsbridge


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory):
    from sendx.exchange.hub import create_app

    home = tmp_path_factory.mktemp("hub")
    app = create_app({"SENDX_HOME": str(home), "SENDX_DATABASE_URL": f"sqlite:///{home / 'hub.sqlite'}"})
    hub = app.extensions["sendx.hub"]
    actors = register_cast(hub)
    # The plans and the access log: Kingsbridge opens its copy of the plan once.
    areas = populate_areas(hub, actors, synthetic_history(2024, 150))
    hub.get_transfer(hub.authenticate(actors["school-145832"].token), areas.plan_transfers[0])
    yield Live(app, actors, areas)
    hub.store.dispose()


@pytest.fixture(scope="session")
def site(live: Live):
    return live.app


def _sign_in(context: Any, server: str, token: str) -> Any:
    """Sign in through the form, as a person would; returns the page, on the overview."""
    page = context.new_page()
    page.goto(server + "/la/dashboard")
    assert "/la/sign-in?next=" in page.url  # not signed in yet: sent to the form
    page.fill("#token", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/la/dashboard")
    return page


# The policy check listens from before the first byte of each page (an init script is not
# subject to the page's policy); violations are queued as events, so they are collected after load.
_CSP_LISTENER = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || e.sample || '(inline)'}`));"
)


@pytest.fixture(scope="session")
def la(browser, server: str, live: Live):
    """LA 330 signed in, under the pages' own Content-Security-Policy."""
    context = browser.new_context()
    context.add_init_script(_CSP_LISTENER)
    _sign_in(context, server, live.actors["la-330"].token).close()
    yield context
    context.close()


@pytest.fixture(scope="session")
def la_for_axe(browser, server: str, live: Live):
    """LA 330 signed in, with the policy bypassed: the only way to inject axe-core's script."""
    context = browser.new_context(bypass_csp=True)
    _sign_in(context, server, live.actors["la-330"].token).close()
    yield context
    context.close()


@pytest.fixture(scope="session")
def anonymous(browser):
    """Nobody signed in, under the pages' policy."""
    context = browser.new_context()
    context.add_init_script(_CSP_LISTENER)
    yield context
    context.close()


@pytest.fixture(scope="session")
def anonymous_for_axe(browser):
    context = browser.new_context(bypass_csp=True)
    yield context
    context.close()


# ------------------------------------------------------------------ in-page checks

_OVERFLOW_JS = (HERE / "overflow.js").read_text(encoding="utf-8")

_OWN_CHECKS_JS = (HERE / "own_checks.js").read_text(encoding="utf-8")


def _open(context, url: str, viewport: dict[str, int]):
    page = context.new_page()
    page.set_viewport_size(viewport)
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


def _context_for(path: str, la, anonymous):
    """The sign-in page is for someone not signed in (a signed-in LA is sent on to the overview)."""
    return anonymous if path == "/la/sign-in" else la


# ------------------------------------------------------------------ signing in: what a new LA user sees first


def test_a_school_signs_in_and_reads_the_plan_sent_to_it(browser, server, live, artifacts) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(server + live.plan_url)  # the plan's link, before signing in: to the form first
    assert "/la/sign-in?next=" in page.url
    page.fill("#token", live.actors["school-145832"].token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**" + live.plan_url)
    plan_heading = page.text_content("h1")
    page.goto(server + "/")
    _shot(page, artifacts, "school-home-phone", full=False)
    listed = page.locator(f'a[href="{live.plan_url}"]').count()
    page.goto(server + "/la/dashboard")  # the LA's pages: refused, with the reason
    refusal = " ".join(page.text_content("[role=alert]").split())
    context.close()
    assert "Education, Health and Care plan" in plan_heading and listed == 1
    assert "These pages are for local authorities; you are signed in as school-145832" in refusal


def test_an_la_signs_in_through_the_form_and_lands_on_its_overview(browser, server, live, artifacts) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_viewport_size(PHONE)
    page.goto(server + "/la/sign-in")
    page.fill("#token", live.actors["la-330"].token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/la/dashboard")
    heading = page.text_content("h1")
    signed_in_as = " ".join(page.text_content(".sign-out").split())
    _shot(page, artifacts, "la-overview-after-sign-in-phone", full=False)
    page.set_viewport_size(DESKTOP)
    _shot(page, artifacts, "la-overview-after-sign-in-desktop")
    cookies = {c["name"]: c for c in context.cookies()}
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/la/sign-in")
    page.goto(server + "/la/movements")
    after = page.url
    context.close()
    assert heading == "Pupil movements in Northfield Council: overview"
    assert signed_in_as == "Signed in as Northfield Council (la-330). Sign out"
    session = cookies["sendx_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert "/la/sign-in?next=" in after  # signed out: the pages are closed again


# ------------------------------------------------------------------ the plan page


def test_plan_fits_a_phone_without_horizontal_scrolling(la, server, live, artifacts) -> None:
    page = _open(la, server + live.plan_url, PHONE)
    result = page.evaluate(_OVERFLOW_JS)
    _shot(page, artifacts, "plan-phone-top", full=False)
    _shot(page, artifacts, "plan-phone-full")
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"], result
    assert result["bad"] == [], result


def test_plan_long_words_wrap_on_a_phone(browser) -> None:
    import copy
    import json

    doc = copy.deepcopy(json.loads(PLAN.read_text("utf-8")))
    doc["sections"]["A"]["childViews"] = "Supercalifragilistic" * 20
    doc["sections"]["K"]["advice"][0]["organisation"] = "https://example.org/" + "x" * 300
    html = render_plan(doc)
    page = browser.new_page(viewport=PHONE)
    page.set_content(html)
    result = page.evaluate(_OVERFLOW_JS)
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"] and result["bad"] == [], result


def test_plan_passes_axe_wcag_aa(la_for_axe, server, live, artifacts, axe_source) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(la_for_axe, server + live.plan_url, viewport)
        violations = _axe(page, axe_source, artifacts, f"plan-{name}")
        page.close()
        assert violations == [], violations
    if axe_source is None:
        pytest.skip("axe-core unavailable (no npm); the plan was checked by the other tests only")


def test_plan_own_accessibility_checks(la, server, live) -> None:
    page = _open(la, server + live.plan_url, PHONE)
    problems = page.evaluate(_OWN_CHECKS_JS)
    page.close()
    assert problems == []


def test_plan_focus_is_visible(la, server, live, artifacts) -> None:
    page = _open(la, server + live.plan_url, PHONE)
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


def test_plan_print_stylesheet(la, server, live) -> None:
    page = _open(la, server + live.plan_url, DESKTOP)
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
def test_la_pages_fit_a_phone(la, anonymous, server, artifacts, path) -> None:
    page = _open(_context_for(path, la, anonymous), server + path, PHONE)
    result = page.evaluate(_OVERFLOW_JS)
    _shot(page, artifacts, f"{_slug(path)}-phone", full=False)
    page.close()
    assert result["scrollWidth"] <= result["innerWidth"] and result["bad"] == [], result


@pytest.mark.parametrize("path", LA_PAGES)
def test_la_pages_accessibility(
    la, la_for_axe, anonymous, anonymous_for_axe, server, artifacts, axe_source, path
) -> None:
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = _open(_context_for(path, la, anonymous), server + path, viewport)
        own = page.evaluate(_OWN_CHECKS_JS)
        if name == "desktop":
            _shot(page, artifacts, f"{_slug(path)}-desktop")
        page.close()
        page = _open(_context_for(path, la_for_axe, anonymous_for_axe), server + path, viewport)
        violations = _axe(page, axe_source, artifacts, f"{_slug(path)}-{name}")
        page.close()
        assert own == [], (name, own)
        assert violations == [], (name, violations)


@pytest.mark.parametrize("path", [*LA_PAGES, "plan"])
def test_pages_break_none_of_their_own_content_security_policy(la, anonymous, server, live, path) -> None:
    url = server + (live.plan_url if path == "plan" else path)
    page = _open(_context_for(path, la, anonymous), url, PHONE)
    violations = page.evaluate("() => new Promise(done => setTimeout(() => done(window.__csp), 50))")
    styled = page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    chart = page.evaluate(
        "() => { const r = document.querySelector('svg rect[style]'); return r && getComputedStyle(r).fill; }"
    )
    page.close()
    assert violations == [], violations
    assert styled not in ("rgba(0, 0, 0, 0)", "transparent")  # the stylesheet applied: it was not blocked
    if path == "/la/dashboard":
        assert chart and chart not in ("rgb(0, 0, 0)", "none")  # so did the charts' style attributes


def test_dashboard_numbers_equal_the_known_answers(la, server, live, artifacts) -> None:
    areas = live.areas
    page = _open(la, f"{server}/la/dashboard?asOf={areas.history.as_of.isoformat()}", DESKTOP)
    shown = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-metric]')]"
        ".map(e => [e.dataset.metric, e.textContent.trim()]))"
    )
    months = page.evaluate(
        "() => [...document.querySelectorAll('#ap-by-month tbody tr')]"
        ".map(tr => [...tr.children].map(c => c.textContent.trim()))"
    )
    _shot(page, artifacts, "la-dashboard-known-answers-desktop")
    page.close()
    x = areas.history.expected["330"]
    days = x["placementDays"]
    assert shown["into-ap"] == shown["into-ap-total"] == str(x["into"])
    assert shown["out-of-ap"] == shown["out-of-ap-total"] == str(x["outOf"])
    assert shown["open-placements"] == str(x["openPlacements"])
    # Each lost-pupil CTF is also a destination-unknown movement: an open case.
    assert shown["unknown-open"] == str(x["unknownOpen"] + areas.lost_pupils)
    assert shown["placements"] == str(x["placements"])
    assert shown["mean-days"] == str(round(statistics.fmean(days), 1))
    assert shown["median-days"] == str(float(statistics.median(days)))
    assert shown["exits"] == str(x["exits"])
    assert shown["reintegrated"] == str(x["reintegratedMainstream"])
    assert shown["reintegration-percent"] == f"{round(100 * x['reintegratedMainstream'] / x['exits'], 1)}%"
    assert shown["lost-ctfs"] == shown["lost-ctfs-text"] == str(areas.lost_files)
    issued, within, excepted, late = areas.ehcp
    assert (shown["ehcp-issued"], shown["ehcp-within"], shown["ehcp-excepted"], shown["ehcp-late"]) == tuple(
        map(str, (issued, within, excepted, late))
    )
    assert shown["reviews-overdue"] == shown["reviews-overdue-table"] == str(areas.reviews_overdue)
    into = {row[0]: int(row[1]) for row in months if int(row[1])}
    assert len(into) == len(x["intoByMonth"]) and sum(into.values()) == x["into"]


def test_filter_then_download_the_csv_and_compare_it_with_the_api(la, server, live, artifacts) -> None:
    page = _open(la, server + "/la/movements", DESKTOP)
    page.check("#f-ap")
    page.select_option("#f-type", "ap-placement-end")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/la/movements?*type=ap-placement-end*")
    status = " ".join(page.text_content("[role=status]").split())
    shown_rows = page.locator("table.stack tbody tr").count()
    href = page.get_attribute("a.button[download]", "href")
    _shot(page, artifacts, "la-movements-filtered-desktop")
    with page.expect_download() as got:
        page.click("a.button[download]")
    body = Path(got.value.path()).read_text(encoding="utf-8")
    token = live.actors["la-330"].token
    api = page.request.get(
        server + "/v1/movements?type=ap-placement-end&ap=1&limit=200", headers={"Authorization": f"Bearer {token}"}
    ).json()
    page.close()
    assert href.startswith("/la/movements.csv?") and "type=ap-placement-end" in href and "ap=1" in href
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and shown_rows == min(len(rows), 50) and f"Showing {shown_rows} movement" in status
    assert all(r["type"] == "ap-placement-end" and "330" in (r["fromLa"], r["toLa"]) for r in rows)
    assert api["next"] is None
    assert sorted((r["recordedBy"], r["eventId"]) for r in rows) == sorted(
        (m["recordedBy"], m["event"]["eventId"]) for m in api["items"]
    )


def test_the_log_is_verified_on_the_hub_at_the_press_of_a_button(la, server, artifacts) -> None:
    page = _open(la, server + "/la/log", PHONE)
    page.get_by_role("button", name="Verify the log").click()
    page.wait_for_url("**/la/log/verify")
    result = " ".join(page.text_content("[role=status]").split())
    _shot(page, artifacts, "la-log-verified-phone", full=False)
    page.close()
    assert result.startswith("Verification result Verified All ") and "match the hub's signed checkpoint" in result
