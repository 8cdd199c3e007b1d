"""sendx.exchange.audit.pages: the LA pages render their inputs, filter by area, and keep their structure."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from sendx.exchange.audit.figures import MovementFilter, la_metrics, movements_csv, synthetic_history, touches_area
from sendx.exchange.audit.pages import (
    render_access,
    render_dashboard,
    render_log,
    render_movements,
    render_problem,
    render_sign_in,
)
from sendx.validators.errors import InputError
from tests.htmlcheck import heading_problems, outline

LA = {"code": "330", "name": "Birmingham"}


@pytest.fixture(scope="module")
def history():
    return synthetic_history(11, 80)


def _check_structure(html: str) -> None:
    o = outline(html)
    assert o.lang == "en-GB"
    assert heading_problems([lvl for lvl, _ in o.headings]) == []
    assert len(o.ids) == len(set(o.ids))
    assert o.tags.count("main") == 1 and "<script" not in html


def test_every_page_is_well_structured(history) -> None:
    m = la_metrics(history.events, la_code="330", as_of=history.as_of)
    for html in (
        render_sign_in(),
        render_dashboard(m, la=LA),
        render_movements(history.events[:50], la=LA, query={}, older="cursor"),
        render_log(la=LA, checkpoint="log\n1\nabc=\n"),
        render_access([], la=LA),
    ):
        _check_structure(html)


def test_movements_page_never_shows_another_area(history) -> None:
    html = render_movements(history.events, la=LA, query={})
    other = [e["pupil"]["upn"] for e in history.events if not touches_area(e, "330")]
    mine = [e["pupil"]["upn"] for e in history.events if touches_area(e, "330")]
    assert other and mine
    # A pupil who moved between areas appears in both; those only in 331 must not appear.
    only_other = set(other) - set(mine)
    assert only_other and not any(u in html for u in only_other)
    assert all(u in html for u in mine)


def test_csv_link_carries_exactly_the_filter(history) -> None:
    query = {"ap": "1", "from": "2025-10-01", "type": "ap-placement-start"}
    page = MovementFilter.from_query("330", query).apply(history.events)
    html = render_movements(page, la=LA, query=query)
    href = re.search(r'class="button" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert href == "/la/movements.csv?from=2025-10-01&type=ap-placement-start&ap=1"
    from urllib.parse import parse_qs, urlsplit

    again = MovementFilter.from_query("330", parse_qs(urlsplit(href).query))
    rows = list(csv.DictReader(io.StringIO(movements_csv(again.apply(history.events)))))
    assert f"Showing {len(rows)} movements matching the filters, newest first." in html
    assert all(r["type"] == "ap-placement-start" and r["effectiveDate"] >= "2025-10-01" for r in rows)
    assert all("330" in (r["fromLa"], r["toLa"]) for r in rows)


def test_movements_paging_keeps_filters(history) -> None:
    page = MovementFilter.from_query("330", {"ap": "1"}).apply(history.events)[:5]
    html = render_movements(page, la=LA, query={"ap": "1", "older": "abc"}, newer="NEW", older="OLD")
    assert '<a href="/la/movements?ap=1&amp;newer=NEW" rel="prev">Newer movements</a>' in html
    assert '<a href="/la/movements?ap=1&amp;older=OLD" rel="next">Older movements</a>' in html
    assert "Showing 5 movements matching the filters, newest first, on this page." in html
    first = render_movements(page, la=LA, query={"ap": "1"})
    assert "rel=" not in first and "Pages of results" not in first


def test_a_damaged_row_is_listed_with_its_log_index(history) -> None:
    damaged = {"eventId": "EV-9", "type": "leave", "effectiveDate": "2025-10-01", "damaged": True, "logIndex": 41}
    html = render_movements([history.events[0], damaged], la=LA, query={})
    assert "This record could not be opened" in html and "entry 41 of the movement log" in html
    assert history.events[0]["pupil"]["upn"] in html


def test_bad_query_is_shown_not_raised(history) -> None:
    html = render_movements(history.events, la=LA, query={"from": "yesterday"})
    assert history.events[0]["pupil"]["upn"] not in html
    assert "There is a problem with the filters" in html and "&#39;from&#39; must be a date" in html
    assert "No movements match." in html


def test_movement_values_are_escaped(history) -> None:
    evil = dict(history.events[0], reason="<script>x</script>")
    html = render_movements([evil], la={"code": evil["to"]["la"]}, query={})
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_dashboard_shows_the_metrics(history) -> None:
    m = la_metrics(history.events, la_code="330", as_of=history.as_of, lost_ctfs_waiting=2)
    o = outline(render_dashboard(m, la=LA))
    x = history.expected["330"]
    assert o.metrics["into-ap"] == str(x["into"]) == o.metrics["into-ap-total"]
    assert o.metrics["out-of-ap"] == str(x["outOf"])
    assert o.metrics["open-placements"] == str(x["openPlacements"])
    assert o.metrics["unknown-open"] == str(x["unknownOpen"])
    assert o.metrics["placements"] == str(x["placements"])
    assert o.metrics["lost-ctfs"] == "2"


def test_dashboard_refuses_another_las_metrics(history) -> None:
    m = la_metrics(history.events, la_code="331", as_of=history.as_of)
    with pytest.raises(InputError):
        render_dashboard(m, la=LA)


def test_dashboard_with_nothing_recorded() -> None:
    html = render_dashboard(la_metrics([], la_code="330", as_of=dt.date(2026, 1, 1)), la=LA)
    assert "No moves into or out of alternative provision" in html and "<svg" not in html


def test_chart_has_a_text_alternative(history) -> None:
    html = render_dashboard(la_metrics(history.events, la_code="330", as_of=history.as_of), la=LA)
    svg = re.search(r"<svg viewBox[^>]*>", html).group(0)
    assert 'role="img"' in svg and "aria-labelledby" in svg
    assert "<title id=" in html and "<desc id=" in html and "the table below gives the same figures" in html


def test_log_page_shows_checkpoint_and_verify_form() -> None:
    html = render_log(
        la=LA,
        checkpoint="sendx/log\n42\nq<b>==\n",
        verify_url="/la/log/verify",
        verify_result={"ok": False, "message": "entry 7 was altered"},
        csrf_token="tok",
    )
    assert "q&lt;b&gt;==" in html and 'action="/la/log/verify"' in html and 'method="post"' in html
    assert "Verification failed" in html and "entry 7 was altered" in html
    assert 'name="csrf_token" value="tok"' in html


def test_access_page_newest_first() -> None:
    rows = [
        {"at": "2026-01-02T09:00:00Z", "reader": "school:100001", "document": "T-1", "kind": "ctf"},
        {"at": "2026-03-04T15:30:00+00:00", "reader": "health:RYW", "document": "EHCP-1", "kind": "ehcp"},
    ]
    html = render_access(rows, la=LA)
    assert html.index("EHCP-1") < html.index("T-1")
    assert "4 March 2026 at 15:30 UTC" in html


def test_sign_in_page_has_a_labelled_token_field() -> None:
    html = render_sign_in(action="/la/sign-in", error="Enter your access token", next_url="/la/movements")
    assert '<label for="token">' in html and 'type="password" id="token" name="token"' in html
    assert 'name="next" value="/la/movements"' in html and 'role="alert"' in html
    assert 'class="site-nav"' not in html  # no navigation before signing in


def test_sign_in_page_names_no_area_before_anyone_signs_in() -> None:
    """Before sign-in there is no LA: the banner and footer must not pass 'sendx' off as one."""
    html = render_sign_in()
    assert "<title>Sign in · sendx</title>" in html
    assert "· Local authority audit</span>" in html
    assert "Each local authority sees only movements" in html
    assert "sendx sees only" not in html


def test_problem_page_explains_the_error_and_offers_a_way_on() -> None:
    signed_in = render_problem(404, "Page not found", "no transfer <T-1>", la=LA, hint="Check the link.")
    _check_structure(signed_in)
    assert "<h1>Page not found</h1>" in signed_in and "no transfer &lt;T-1&gt;" in signed_in
    assert "Check the link." in signed_in and "Error 404." in signed_in
    assert 'class="site-nav"' in signed_in and 'href="/la/dashboard">Back to the overview' in signed_in
    nobody = render_problem(403, "You cannot do this", "Forbidden.")
    _check_structure(nobody)
    assert 'class="site-nav"' not in nobody and 'href="/la/sign-in">Go to the sign-in page' in nobody


def test_chart_counts_are_worded_in_the_right_number() -> None:
    import json

    from sendx import schemas

    start = json.loads(next(p for p in schemas.examples("movement") if p.stem == "ap-placement-start").read_text())
    html = render_dashboard(la_metrics([start], la_code="330", as_of=dt.date(2026, 11, 1)), la=LA)
    assert "1 placement<" in html or "1 placement;" in html or "1 placement," in html, html
    assert "1 move into AP" in html and "0 moves out of AP" in html
    assert "1 placements" not in html and "into ap" not in html
