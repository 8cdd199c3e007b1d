"""exchange/hub/api/pages.py: the LA audit pages and the plan page on the real hub, on both stores.

Sign-in and sign-out through the form, CSRF refusals, a revoked token ending its session, the
security headers and the policy the pages really satisfy; then, on two populated areas, that
LA 330 never sees LA 331's movements on any page or CSV, that the CSV is exactly the filtered
page rows and the API's answer for the same filters, that the overview shows the synthetic
history's known answers, and that a plan page is for its sender and recipient only, with the
read in the access log.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import re
import statistics
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hub_helpers import Areas, csrf_field, envelope, example, movement, page_csrf, populate_areas, post_json, sign_in
from sqlalchemy import update

from sendx.adapters.templating import long_date
from sendx.exchange.audit.figures import synthetic_history
from sendx.exchange.hub.service import hash_token
from sendx.exchange.store import utcnow
from sendx.exchange.store.database import LogLeaf
from tests.htmlcheck import heading_problems, outline

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what a browser sends
LA_PAGES = ["/la/dashboard", "/la/movements", "/la/movements.csv", "/la/log", "/la/access"]


@pytest.fixture
def browser(app):
    """A second client: its own cookie jar, like another browser."""
    return app.test_client()


@pytest.fixture
def areas(hub, world) -> Areas:
    return populate_areas(hub, world, synthetic_history(7, 24))


def _text(r) -> str:
    return r.get_data(as_text=True)


def _rows(html: str) -> list[list[str]]:
    """The cells of the results table, as plain text."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, flags=re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), flags=re.S) if body else []
    strip = lambda cell: " ".join(re.sub(r"<[^>]+>", " ", cell).split())  # noqa: E731
    return [[strip(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)] for row in rows]


def _all_pages(client, query: str) -> list[list[str]]:
    """Every row the movement timeline shows for ``query``, following its pager."""
    rows, url = [], "/la/movements" + (f"?{query}" if query else "")
    while url:
        page = client.get(url)
        assert page.status_code == 200, _text(page)[:300]
        rows += _rows(_text(page))
        nxt = re.search(r'<a href="([^"]+)" rel="next">', _text(page))
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    return rows


def _csv(client, query: str) -> list[dict[str, str]]:
    r = client.get("/la/movements.csv" + (f"?{query}" if query else ""))
    assert r.status_code == 200 and r.mimetype == "text/csv", _text(r)[:300]
    return list(csv.DictReader(io.StringIO(_text(r))))


def _api(client, actor, query: str) -> list[dict[str, Any]]:
    items, after = [], ""
    while True:
        r = client.get(f"/v1/movements?{query}&limit=200{after}", headers=actor.headers)
        assert r.status_code == 200, r.json
        items += r.json["items"]
        if r.json["next"] is None:
            return items
        after = f"&after={r.json['next']}"


# ------------------------------------------------------------------ signing in and out


def test_sign_in_starts_a_session_and_sign_out_ends_it(client, world):
    la = world["la-330"]
    asked = client.get("/la/movements?ap=1")
    assert asked.status_code == 303 and asked.headers["Location"] == "/la/sign-in?next=%2Fla%2Fmovements%3Fap%3D1"
    form = client.get(asked.headers["Location"])
    assert 'name="next" value="/la/movements?ap=1"' in _text(form)
    r = client.post(
        "/la/sign-in", data={"csrf_token": csrf_field(_text(form)), "token": la.token, "next": "/la/movements?ap=1"}
    )
    assert r.status_code == 303 and r.headers["Location"] == "/la/movements?ap=1"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("sendx_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    assert la.token not in cookie and hash_token(la.token) not in _text(client.get("/la/dashboard"))
    page = client.get("/la/dashboard")
    assert page.status_code == 200 and "Signed in as Northfield Council (la-330)" in _text(page)
    assert client.get("/la/sign-in").headers["Location"] == "/la/dashboard"  # already signed in

    out = client.post("/la/sign-out", data={"csrf_token": page_csrf(client)})
    assert out.status_code == 303 and out.headers["Location"] == "/la/sign-in"
    assert client.get("/la/dashboard").status_code == 303


def test_session_cookie_is_secure_over_https(app, world):
    https = app.test_client()
    form = https.get("/la/sign-in", base_url="https://hub.example")
    r = https.post(
        "/la/sign-in",
        base_url="https://hub.example",
        data={"csrf_token": csrf_field(_text(form)), "token": world["la-330"].token},
    )
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"]


@pytest.mark.parametrize(("hops", "secure"), [(None, False), ("1", True)])
def test_behind_a_tls_proxy_the_cookie_is_secure_only_when_the_proxy_is_configured(
    database_url, tmp_path, world, hops, secure
):
    # X-Forwarded-Proto is believed only from SENDX_PROXY_HOPS proxies; a client cannot claim it.
    from sendx.exchange.hub import create_app

    app = create_app(
        {
            "SENDX_HOME": str(tmp_path / "home"),  # the ``app`` fixture's: the same hub, another front door
            "SENDX_DATABASE_URL": database_url,
            "SENDX_PROXY_HOPS": hops,
            "TESTING": True,
        }
    )
    try:
        proxied = app.test_client()
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        form = proxied.get("/la/sign-in", headers=forwarded)
        r = proxied.post(
            "/la/sign-in",
            headers=forwarded,
            data={"csrf_token": csrf_field(_text(form)), "token": world["la-330"].token},
        )
        assert r.status_code == 303 and ("Secure" in r.headers["Set-Cookie"]) is secure
    finally:
        app.extensions["sendx.hub"].store.dispose()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/la/", "/v1/inbox", "/la/sign-out", "x"])
def test_sign_in_never_sends_anyone_off_the_pages(client, world, target):
    r = sign_in(client, world["la-330"], next=target)
    assert r.status_code == 303 and r.headers["Location"] == "/la/dashboard"


def test_the_admin_and_an_empty_token_cannot_sign_in(app, client, world):
    refusals = [
        ("admin", 403, "That token belongs to admin, the hub administrator, who has no pages here"),
        (None, 400, "Enter your access token."),
    ]
    for who, status, words in refusals:
        actor = world[who] if who else None
        browser = app.test_client()
        form = browser.get("/la/sign-in")
        data = {"csrf_token": csrf_field(_text(form)), "token": actor.token if actor else ""}
        page = browser.post("/la/sign-in", data=data, headers=HTML)
        assert page.status_code == status and page.mimetype == "text/html", who
        assert words in " ".join(_text(page).split()) and 'role="alert"' in _text(page), who
        assert browser.get("/la/dashboard").status_code == 303  # no session came of it
        # A script posting the form gets the API's kind of answer.
        api = sign_in(client, actor)
        assert api.status_code == status and api.mimetype == "application/problem+json", who


def test_a_wrong_token_is_refused_with_the_form_again(browser, world):
    form = browser.get("/la/sign-in")
    page = browser.post("/la/sign-in", data={"csrf_token": csrf_field(_text(form)), "token": "sxt_nope"}, headers=HTML)
    assert page.status_code == 401 and page.headers["WWW-Authenticate"].startswith("Bearer")
    assert "That access token is not valid" in _text(page) and 'id="token"' in _text(page)


def test_forms_without_the_sessions_csrf_token_are_refused(client, browser, world):
    la = world["la-330"]
    # Sign-in itself: no token, or one from another browser's form.
    other = csrf_field(_text(browser.get("/la/sign-in")))
    client.get("/la/sign-in")
    for data in ({"token": la.token}, {"token": la.token, "csrf_token": other}):
        r = client.post("/la/sign-in", data=data, headers=HTML)
        assert r.status_code == 403 and "The sign-in form had expired" in _text(r)
        assert client.get("/la/dashboard").status_code == 303
    assert sign_in(client, la).status_code == 303
    # Signed in: the verify and sign-out buttons need the session's own token.
    sign_in(browser, world["la-331"])
    for url in ("/la/log/verify", "/la/sign-out"):
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": page_csrf(browser)}):
            r = client.post(url, data=data)
            assert r.status_code == 403 and r.json["type"].endswith("/csrf-failed"), (url, data)
    assert client.get("/la/dashboard").status_code == 200  # still signed in: nothing was done
    assert client.post("/la/log/verify", data={"csrf_token": page_csrf(client)}).status_code == 200


def test_a_revoked_token_ends_the_session_on_its_next_request(client, hub, world):
    la = world["la-330"]
    assert sign_in(client, la).status_code == 303
    assert client.get("/la/movements").status_code == 200
    assert hub.revoke_tokens(la.id, la.token)["revoked"] == 1
    r = client.get("/la/movements")
    assert r.status_code == 303 and r.headers["Location"].startswith("/la/sign-in")
    notice = client.get("/la/sign-in")
    assert notice.status_code == 200 and "its access token is no longer valid" in _text(notice)
    assert client.get("/la/movements").status_code == 303  # the session is gone, not just refused once
    assert sign_in(client, la).status_code == 401


def _age_sessions(hub, *, since_sign_in: dt.timedelta, since_last_request: dt.timedelta) -> None:
    """Move every page session's sign-in and last request back in time, as the clock would."""
    from sendx.exchange.store import PageSession

    now = utcnow()
    with hub.store.write() as s:
        for row in s.query(PageSession):
            row.created_at, row.last_seen_at = now - since_sign_in, now - since_last_request


def test_a_session_ends_after_a_working_day(client, hub, world):
    from sendx.exchange.hub.service.sessions import SESSION_HOURS

    sign_in(client, world["la-330"])
    _age_sessions(hub, since_sign_in=dt.timedelta(hours=SESSION_HOURS, seconds=1), since_last_request=dt.timedelta(0))
    assert client.get("/la/dashboard").status_code == 303
    assert f"ended after {SESSION_HOURS} hours" in _text(client.get("/la/sign-in"))


def test_a_session_ends_after_half_an_hour_without_a_request(client, hub, world):
    from sendx.exchange.hub.service.sessions import SESSION_IDLE_MINUTES

    sign_in(client, world["la-330"])
    idle = dt.timedelta(minutes=SESSION_IDLE_MINUTES - 1)
    _age_sessions(hub, since_sign_in=dt.timedelta(hours=1), since_last_request=idle)
    assert client.get("/la/dashboard").status_code == 200  # still in time; and this request counts
    _age_sessions(hub, since_sign_in=dt.timedelta(hours=1), since_last_request=idle + dt.timedelta(minutes=2))
    assert client.get("/la/dashboard").status_code == 303
    assert f"{SESSION_IDLE_MINUTES} minutes without activity" in _text(client.get("/la/sign-in"))


def test_signing_out_ends_the_session_at_the_hub_not_just_in_this_browser(app, client, world):
    """A copy of the cookie taken before sign-out (another tab, a stolen copy) opens nothing after it."""
    sign_in(client, world["la-330"])
    cookie = client.get_cookie("sendx_session").value
    copy_ = app.test_client()
    copy_.set_cookie("sendx_session", cookie)
    assert copy_.get("/la/dashboard").status_code == 200
    assert client.post("/la/sign-out", data={"csrf_token": page_csrf(client)}).status_code == 303
    assert copy_.get("/la/dashboard").status_code == 303
    assert "signed out" in _text(copy_.get("/la/sign-in"))


def test_pages_without_a_session_redirect_to_sign_in_and_the_api_stays_json(client, world):
    for url in [*LA_PAGES, "/plans/nope"]:
        r = client.get(url, headers=HTML)
        assert r.status_code == 303 and r.headers["Location"].startswith("/la/sign-in?next="), url
        assert r.mimetype != "application/problem+json"
    for url in ("/la/log/verify", "/la/sign-out"):
        assert client.post(url).headers["Location"] == "/la/sign-in"
    api = client.get("/v1/movements", headers=HTML)
    assert api.status_code == 401 and api.mimetype == "application/problem+json"
    assert "Set-Cookie" not in api.headers
    # A session cookie is not an API credential.
    sign_in(client, world["la-330"])
    assert client.get("/v1/movements").status_code == 401


# ------------------------------------------------------------------ what every page sends


def _style_hashes(html: str) -> set[str]:
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    return {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in styles}


def test_every_page_sends_the_security_headers_and_satisfies_its_policy(client, hub, world):
    la = world["la-330"]
    tid = client.post(
        "/v1/transfers", json=envelope(la, "school-145832", example("ehcp"), "ehcp"), headers=la.headers
    ).json["id"]
    anonymous = [client.get("/la/sign-in"), client.get("/la/dashboard")]
    sign_in(client, la)
    pages = [client.get(u) for u in [*LA_PAGES, f"/plans/{tid}", "/plans/nope"]]
    pages.append(client.post("/la/log/verify", data={"csrf_token": page_csrf(client)}))
    for r in anonymous + pages:
        h = r.headers
        assert h["Cache-Control"] == "no-store" and h["X-Frame-Options"] == "DENY", r.request.path
        assert h["Referrer-Policy"] == "no-referrer" and h["X-Content-Type-Options"] == "nosniff"
        csp = dict(d.strip().split(" ", 1) for d in h["Content-Security-Policy"].split(";"))
        assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
        assert "script-src" not in csp and "unsafe-inline" not in csp["style-src-elem"]
        if r.mimetype == "text/html" and r.status_code != 303:  # (a redirect's body is werkzeug's stub)
            html = _text(r)
            # What the policy allows is exactly what the page uses: its stylesheet, no script.
            assert _style_hashes(html) == set(csp["style-src-elem"].split()) == set(csp["style-src"].split())
            assert "<script" not in html and not re.search(r"\son[a-z]+=", html)
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from elsewhere


def test_errors_are_html_pages_for_a_browser_and_problems_for_scripts(client, world):
    sign_in(client, world["la-330"])
    page = client.get("/plans/no-such-transfer", headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    o = outline(_text(page))
    assert o.headings[0] == (1, "Page not found") and heading_problems([lvl for lvl, _ in o.headings]) == []
    assert "no transfer no-such-transfer" in _text(page) and 'href="/la/dashboard"' in _text(page)
    api = client.get("/plans/no-such-transfer")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    bad = client.get("/la/movements.csv?from=yesterday")
    assert bad.status_code == 400 and bad.json["instance"] == "from"
    shown = client.get("/la/movements?from=yesterday")
    assert shown.status_code == 400 and "There is a problem with the filters" in _text(shown)
    assert client.get("/la/dashboard?asOf=tomorrow").status_code == 400
    assert client.get("/la/access?page=two").status_code == 400


# ------------------------------------------------------------------ two areas, populated


def _upns_only_in(history, la: str, other: str) -> set[str]:
    from sendx.exchange.audit.figures import touches_area

    mine = {e["pupil"]["upn"] for e in history.events if touches_area(e, la)}
    theirs = {e["pupil"]["upn"] for e in history.events if touches_area(e, other)}
    return mine - theirs


def test_an_la_never_sees_another_areas_movements(app, areas, world):
    for la, other in (("330", "331"), ("331", "330")):
        browser = app.test_client()
        sign_in(browser, world[f"la-{la}"])
        foreign = _upns_only_in(areas.history, other, la)
        assert foreign
        shown = []
        for url in ("/la/dashboard?asOf=" + areas.history.as_of.isoformat(), "/la/access", "/la/log"):
            shown.append(_text(browser.get(url)))
        # Among the filters, one by the name of a school in the other area.
        school = next(e["to"]["name"] for e in areas.history.events if (e["to"] or {}).get("la") == other)
        for query in ("", "ap=1", "unknown=1", "type=managed-move", urlencode({"setting": school})):
            shown += [" ".join(" ".join(r) for r in _all_pages(browser, query))]
            rows = _csv(browser, query)
            assert all(la in (r["fromLa"], r["toLa"]) for r in rows), query
            shown.append("\n".join(",".join(r.values()) for r in rows))
        leaked = [u for u in foreign if any(u in text for text in shown)]
        assert not leaked, (la, leaked[:3])


#: Filters the page and the API share, under the same names.
SHARED_FILTERS = [
    "",
    "ap=1",
    "type=ap-placement-end",
    "from=2025-11-01&to=2026-01-31",
    "ap=1&type=off-site-direction&from=2025-09-01",
]


def test_csv_is_exactly_the_filtered_rows_and_the_apis_answer(client, areas, world):
    la = world["la-330"]
    sign_in(client, la)
    for query in SHARED_FILTERS:
        rows = _all_pages(client, query)
        table = _csv(client, query)
        assert len(rows) == len(table), query
        # Row for row, in the page's order (newest first): date, pupil, who recorded it.
        assert [(r[0], r[2], r[6]) for r in rows] == [
            (long_date(t["effectiveDate"]), t["upn"], t["recordedBy"]) for t in table
        ], query
        assert all(t["recordedAt"].endswith("Z") for t in table)
        answer = _api(client, la, query)
        assert sorted((t["recordedBy"], t["eventId"]) for t in table) == sorted(
            (m["recordedBy"], m["event"]["eventId"]) for m in answer
        ), query
        if table:  # the page's download link carries exactly the filter
            link = re.search(r'class="button" href="([^"]+)"', _text(client.get(f"/la/movements?{query}")))
            assert parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query) == parse_qs(query), query
    assert len(_csv(client, "")) > len(_csv(client, "ap=1")) > len(_csv(client, "type=ap-placement-end")) > 0


def test_the_overview_shows_the_synthetic_historys_known_answers(app, areas, world):
    h = areas.history
    for la in ("330", "331"):
        browser = app.test_client()
        sign_in(browser, world[f"la-{la}"])
        page = browser.get(f"/la/dashboard?asOf={h.as_of.isoformat()}")
        assert page.status_code == 200
        shown = outline(_text(page)).metrics
        x = h.expected[la]
        # LA 330 also has the lost-pupil CTFs: each pupil is an open destination-unknown case.
        lost = areas.lost_pupils if la == "330" else 0
        assert shown["into-ap"] == shown["into-ap-total"] == str(x["into"])
        assert shown["out-of-ap"] == shown["out-of-ap-total"] == str(x["outOf"])
        assert shown["open-placements"] == str(x["openPlacements"])
        assert shown["placements"] == str(x["placements"])
        assert shown["mean-days"] == str(round(statistics.fmean(x["placementDays"]), 1))
        assert shown["median-days"] == str(float(statistics.median(x["placementDays"])))
        assert shown["exits"] == str(x["exits"])
        assert shown["reintegrated"] == str(x["reintegratedMainstream"])
        assert shown["unknown-open"] == str(x["unknownOpen"] + lost)
        assert f"from {x['movements'] + lost} movements recorded in your area" in _text(page)
        if la == "330":
            assert shown["lost-ctfs"] == str(areas.lost_files)
            issued, within, excepted, late = areas.ehcp
            assert (shown["ehcp-issued"], shown["ehcp-within"], shown["ehcp-excepted"], shown["ehcp-late"]) == (
                str(issued),
                str(within),
                str(excepted),
                str(late),
            )
            assert shown["reviews-overdue"] == str(areas.reviews_overdue)
        else:  # LA 331 issued no plans and lost no pupils
            assert (shown["lost-ctfs"], shown["ehcp-issued"], shown["reviews-overdue"]) == ("0", "0", "0")
        months = re.search(r'<table class="stack" id="ap-by-month">(.*?)</table>', _text(page), flags=re.S)
        into = [int(cells[0]) for cells in _rows(months.group(1)) if cells]
        assert sum(into) == x["into"]
        # Measured to a later date, the placements still open have lasted longer; nothing else moves.
        later = outline(_text(browser.get(f"/la/dashboard?asOf={h.as_of.replace(year=h.as_of.year + 1)}"))).metrics
        assert later["into-ap"] == shown["into-ap"] and later["placements"] == shown["placements"]
        if x["openPlacements"]:
            assert float(later["mean-days"]) > float(shown["mean-days"])


# ------------------------------------------------------------------ the log page


@pytest.fixture
def logged(client, world) -> int:
    """Six movements in the log (recorded by Kingsbridge)."""
    school = world["school-145832"]
    for _ in range(6):
        doc = movement()
        doc["recordedBy"] = {"participant": school.id}
        assert post_json(client, "/v1/movements", doc, school).status_code == 201
    return 6


def test_log_page_shows_the_checkpoint_and_verifies_it_on_the_hub(client, hub, logged, world):
    la = world["la-330"]
    sign_in(client, la)
    api = client.get("/v1/log/checkpoint", headers=la.headers).json
    page = _text(client.get("/la/log"))
    assert api["checkpoint"].split("\n")[1] in page and api["checkpoint"].split("\n")[2] in page
    first = client.post("/la/log/verify", data={"csrf_token": page_csrf(client)})
    assert first.status_code == 200 and "Verified" in _text(first)
    assert f"All {api['size']} entries were recomputed" in _text(first)
    again = _text(client.post("/la/log/verify", data={"csrf_token": page_csrf(client)}))
    assert f"still contains the {api['size']} entries you verified earlier" in again
    with hub.store.write() as s:  # someone with database access edits a stored entry
        s.execute(update(LogLeaf).where(LogLeaf.index == 5).values(leaf=b"\x00" * 40))
    broken = client.post("/la/log/verify", data={"csrf_token": page_csrf(client)})
    assert broken.status_code == 200 and "Verification failed" in _text(broken)
    assert "root" in _text(broken) or "entry 5" in _text(broken)


def test_log_page_shows_a_damaged_log_instead_of_failing(client, hub, logged, world):
    from sqlalchemy import delete

    sign_in(client, world["la-330"])
    with hub.store.write() as s:
        s.execute(delete(LogLeaf).where(LogLeaf.index == 3))
    assert client.get("/la/log").status_code == 200  # the signed tree is intact; its entries are not
    r = client.post("/la/log/verify", data={"csrf_token": page_csrf(client)})
    assert r.status_code == 200 and "Verification failed" in _text(r)
    assert "the hub cannot serve its log: the log store is damaged: entry 3 is missing" in _text(r)


# ------------------------------------------------------------------ the plan page


def test_plan_page_for_its_sender_and_recipient_only_and_the_read_is_logged(app, client, world):
    la, school = world["la-330"], world["school-145832"]
    plan = example("ehcp")
    tid = client.post("/v1/transfers", json=envelope(la, school.id, plan, "ehcp"), headers=la.headers).json["id"]
    passport = envelope(la, school.id, example("passport"), "passport")
    not_a_plan = client.post("/v1/transfers", json=passport, headers=la.headers).json["id"]

    page = client.get(f"/plans/{tid}", headers=school.headers)  # the recipient, with its API token
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = _text(page)
    assert plan["child"]["givenName"] in html and outline(html).lang == "en-GB"
    assert "Set-Cookie" not in page.headers  # a Bearer read starts no session
    browser = app.test_client()
    sign_in(browser, la)  # the sender, signed in to the pages
    assert browser.get(f"/plans/{tid}").status_code == 200

    refusals = []
    for who in ("school-145833", "health-RXH", "college-10001234", "la-331"):
        r = client.get(f"/plans/{tid}", headers=world[who].headers)
        refusals.append((r.status_code, r.json["title"]))
    other = app.test_client()
    sign_in(other, world["la-331"])
    r = other.get(f"/plans/{tid}")
    refusals.append((r.status_code, r.json["title"]))
    missing = client.get("/plans/00000000-0000-0000-0000-000000000000", headers=world["school-145833"].headers)
    # Someone else's plan and a plan that does not exist look the same: no existence oracle.
    assert set(refusals) == {(404, "not found")} == {(missing.status_code, missing.json["title"])}
    assert client.get(f"/plans/{tid}", headers={"Authorization": "Bearer sxt_nope"}).status_code == 401
    assert client.get(f"/plans/{not_a_plan}", headers=school.headers).status_code == 404

    log = client.get(f"/v1/access-log?transfer={tid}", headers=la.headers).json["items"]
    assert sorted(e["participant"] for e in log) == ["la-330", "school-145832"]  # refused reads read nothing
    assert all(e["action"] == "read" for e in log)
    access = _text(browser.get("/la/access"))
    assert tid in access and 'school-145832 <span class="muted">(school)</span>' in access


# ------------------------------------------------------------------ every participant signs in


def _form_sign_in(browser, actor, next_url: str | None = None):
    form = browser.get("/la/sign-in" + (f"?{urlencode({'next': next_url})}" if next_url else ""), headers=HTML)
    data = {"csrf_token": csrf_field(_text(form)), "token": actor.token}
    if next_url:
        data["next"] = next_url
    return browser.post("/la/sign-in", data=data, headers=HTML)


def test_a_school_that_received_a_plan_opens_it_in_a_browser(app, client, world):
    la, school = world["la-330"], world["school-145832"]
    plan = example("ehcp")
    tid = client.post("/v1/transfers", json=envelope(la, school.id, plan, "ehcp"), headers=la.headers).json["id"]
    browser = app.test_client()
    # The link in an email: no session yet, so to the sign-in page and, signed in, back to the plan.
    r = browser.get(f"/plans/{tid}", headers=HTML)
    assert r.status_code == 303 and urlsplit(r.headers["Location"]).path == "/la/sign-in"
    signed_in = _form_sign_in(browser, school, next_url=f"/plans/{tid}")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == f"/plans/{tid}"
    page = browser.get(f"/plans/{tid}", headers=HTML)
    assert page.status_code == 200 and plan["child"]["givenName"] in _text(page)
    # Its home page lists the plan; the LA's pages stay closed to it, with the reason.
    home = browser.get("/", headers=HTML)
    assert home.status_code == 200 and f'href="/plans/{tid}"' in _text(home)
    assert "Signed in as school-145832, a school" in " ".join(_text(home).split())
    assert not heading_problems([lvl for lvl, _ in outline(_text(home)).headings])
    for url in LA_PAGES:
        refused = browser.get(url, headers=HTML)
        assert refused.status_code == 403 and refused.mimetype == "text/html", url
        assert "These pages are for local authorities; you are signed in as school-145832" in _text(refused)
        assert 'href="/"' in _text(refused) and "Sign out" in _text(refused)


@pytest.mark.parametrize("who", ["college-10001234", "health-RXH"])
def test_a_college_or_trust_signs_in_to_its_home_page(app, world, who):
    browser = app.test_client()
    r = _form_sign_in(browser, world[who])
    assert r.status_code == 303 and r.headers["Location"] == "/"
    home = _text(browser.get("/", headers=HTML))
    assert world[who].id in home and "No EHC plans have been sent to you." in home


def test_an_la_still_lands_on_its_overview(app, world):
    browser = app.test_client()
    r = _form_sign_in(browser, world["la-330"])
    assert r.status_code == 303 and r.headers["Location"] == "/la/dashboard"
    assert 'href="/la/dashboard"' in _text(browser.get("/", headers=HTML))


def test_the_root_and_la_answer_browsers_with_pages_and_programs_with_json(client):
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'href="/la/sign-in"' in _text(page) and not heading_problems(
        [lvl for lvl, _ in outline(_text(page)).headings]
    )
    index = client.get("/", headers={"Accept": "application/json"})
    assert index.status_code == 200 and index.json["openapi"] == "/openapi.json"
    la = client.get("/la", headers=HTML)
    assert la.status_code == 303 and la.headers["Location"] == "/la/dashboard"
    api = client.get("/la", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
