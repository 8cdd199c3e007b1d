"""The hub's web pages: the home page (``/``), the LA audit pages (``/la/...``) and the plan page
(``/plans/<transfer id>``).

The pure renderers of ``sendx.exchange.audit.pages`` and ``sendx.adapters.html`` fed from the ``Hub`` service,
which scopes every record to the signed-in LA's area exactly as the JSON API does; nothing here
filters by area.  These routes are web pages, not the JSON API (``/openapi.json`` leaves them out):

- Sign-in: a participant (an LA, school, college or health service; not the hub admin) posts its
  API token once; the hub checks it with the API's own authentication and begins a session it
  holds itself (``service.sessions``); the browser's Flask session (a signed cookie keyed by
  ``session.key`` in the data directory; HttpOnly, SameSite=Strict, Secure over HTTPS) carries
  only the session's secret.  Signing out ends the session at the hub, so a copy of the cookie
  opens nothing afterwards; so do 30 minutes without a request, 8 hours after sign-in, and
  revoking the token it signed in with.
- Each role sees what it may: the ``/la/...`` pages are an LA's only (anyone else signed in is
  refused with a 403 page); the home page lists the EHC plans sent to the participant; a plan
  page opens for its sender or recipient only.
- ``/`` answers a browser with the home page and an API client with a JSON index; ``/la`` sends
  a browser on to the overview (an API client gets a JSON 404).
- Every POST form carries the session's CSRF token; a missing or wrong one is refused.
- A request without a session is redirected to the sign-in page.  Errors are RFC 9457
  problems, shown as an HTML page to a client that asks for HTML (a browser).
- Every response is ``no-store`` and carries a Content-Security-Policy allowing no script, no
  frame, no fetch, only the pages' own inline stylesheet (by its hash) and style attributes.
- ``/plans/<id>`` also takes the API's Bearer token (schools, colleges and health services
  receive plans).  It reads the transfer through ``Hub.get_transfer``: only its sender or
  recipient sees it, and the read is in the access log like any other.

The overview's figures are ``sendx.exchange.audit.figures.la_metrics`` in meaning, read from the
area facts the hub keeps (``Hub.area_figures``) on today's date, or on ``?asOf=YYYY-MM-DD`` (the
date open placements and open cases are measured to), so a past overview can be reproduced.
The movement page is one page of the timeline (``?older=`` / ``?newer=`` cursors) and the CSV
is streamed a batch at a time: no view reads, or decrypts, more than it shows.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from functools import cache, wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, Response, g, redirect, request, session
from flask.sessions import SecureCookieSessionInterface

from sendx.adapters.html import render_plan
from sendx.exchange.audit.figures import MovementFilter, movements_csv_lines
from sendx.exchange.audit.pages import (
    LA_URLS,
    render_access,
    render_dashboard,
    render_home,
    render_log,
    render_movements,
    render_problem,
    render_sign_in,
)
from sendx.exchange.hub.api._http import caller, hub, json_response, query_date
from sendx.exchange.hub.config import read_or_create_secret
from sendx.exchange.hub.errors import problem_headers, problem_response
from sendx.exchange.hub.service.sessions import SESSION_HOURS
from sendx.exchange.log.audit import area_view
from sendx.exchange.log.checkpoint import Verifier
from sendx.exchange.log.verify import VerifierState, verify_log
from sendx.exchange.store.database import Participant, utcnow
from sendx.exchange.store.lognodes import open_log
from sendx.validators.errors import (
    ConfigError,
    ForbiddenError,
    InputError,
    NotAuthorisedError,
    NotFoundError,
    SendxError,
)

__all__ = ["SESSION_HOURS", "SESSION_SETTINGS", "PageSessionInterface", "bp", "session_secret"]

bp = Blueprint("pages", __name__)

#: Flask settings for the page session cookie (``create_app`` applies them; its config may override).
SESSION_SETTINGS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "sendx_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Strict",
    "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=SESSION_HOURS),
}
_ROLE_NAMES = {
    "school": "a school",
    "college": "a college",
    "health": "a health service",
    "la": "a local authority",
    "admin": "the hub administrator",
}
#: Who may sign in to the pages: every participant but the hub admin, who has none.
_PAGE_ROLES = frozenset({"school", "college", "health", "la"})
_PAGE_SIZE = 200  # the service's largest page of access-log entries
_MAX_CASES = 50  # open unknown-destination cases listed on the overview (the oldest)
_TITLES = {
    400: "There is a problem with the request",
    401: "You need to sign in",
    403: "You cannot do this",
    404: "Page not found",
}


class CsrfError(ForbiddenError):
    """A POST form without this session's CSRF token: forged, or from a page older than the session."""

    code = "csrf-failed"


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; the cookie is marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure or super().get_cookie_secure(app))


def session_secret(home: Path) -> bytes:
    """The key that signs page sessions: ``session.key`` in the data directory (0600, made on first run)."""
    raw = read_or_create_secret(home / "session.key", lambda: base64.b64encode(secrets.token_bytes(32)) + b"\n")
    key = raw.strip()
    if len(key) < 32:
        raise ConfigError("the hub's session key file is damaged", where=str(home / "session.key"))
    return key


# ------------------------------------------------------------------ responses


@cache
def _csp() -> str:
    """The pages' Content-Security-Policy: their one inline stylesheet by hash, nothing else to load."""
    styles = dict.fromkeys(re.findall(r"<style>(.*?)</style>", render_sign_in(), flags=re.S))
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in styles)
    # style-src is the fallback for browsers without the CSP3 -elem/-attr split.  Style
    # attributes (chart colours, a grid column) carry no URLs: default-src 'none' blocks any fetch.
    return (
        f"default-src 'none'; style-src {hashes}; style-src-elem {hashes}; style-src-attr 'unsafe-inline'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


@bp.after_request
def _page_headers(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Security-Policy"] = _csp()
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _html(body: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status=status, mimetype="text/html", headers=dict(headers or {}))


def _wants_html() -> bool:
    """True for a browser (it asks for HTML); API clients and scripts get problem+json."""
    best = request.accept_mimetypes.best_match(["application/problem+json", "application/json", "text/html"])
    return best == "text/html"


@bp.errorhandler(SendxError)
def _problem(exc: SendxError) -> Response:
    headers = problem_headers(exc)
    if not _wants_html():
        return problem_response(exc.to_problem(), exc.status, headers)
    la: Participant | None = g.get("page_la")
    user: Participant | None = g.get("page_user")
    title = _TITLES.get(exc.status, "Sorry, something went wrong")
    if la is not None:
        ctx = _context(la)
    elif user is not None:  # signed in, not an LA: the way home and the sign-out button
        ctx = {"signed_in": True, "user": f"{user.name} ({user.id})", "csrf_token": _csrf()}
    else:
        ctx = {}
    page = render_problem(exc.status, title, exc.message, hint=exc.hint, **ctx)
    return _html(page, exc.status, headers)


# ------------------------------------------------------------------ sessions


def _csrf() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _check_csrf() -> None:
    sent, want = request.form.get("csrf_token", ""), session.get("csrf")
    if not isinstance(want, str) or not hmac.compare_digest(sent.encode(), want.encode()):
        raise CsrfError(
            "This form has expired or did not come from this site, so nothing was done.",
            hint="Go back, reload the page and try again.",
        )


def _end_session(notice: str) -> None:
    session.clear()
    session["notice"] = notice


def _signed_in() -> Participant | None:
    """The participant this browser signed in as, while the hub says its session is live."""
    if "page_user" in g:
        return g.page_user
    sid = session.get("sid")
    who = None
    if isinstance(sid, str):
        try:
            who = hub().session_participant(sid)
        except NotAuthorisedError as exc:
            _end_session(exc.message)
    g.page_user = who if who is not None and who.role in _PAGE_ROLES else None
    g.page_la = g.page_user if who is not None and who.role == "la" else None
    return g.page_user


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of this hub only (never another site)."""
    if not value or len(value) > 2000 or "\\" in value or any(ord(c) < 0x20 for c in value):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not (parts.path == "/" or parts.path.startswith(("/la/", "/plans/"))):
        return ""
    return "" if parts.path in (LA_URLS["sign_in"], LA_URLS["sign_out"]) else value


def _to_sign_in() -> Response:
    here = request.path + ("?" + request.query_string.decode("utf-8", "replace") if request.query_string else "")
    target = LA_URLS["sign_in"]
    if request.method == "GET" and _safe_next(here):
        target += "?" + urlencode({"next": here})
    return redirect(target, 303)


def _la_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """A page for a signed-in LA: the view gets the participant; nobody signed in goes to sign in,
    any other participant is refused (403)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        who = _signed_in()
        if who is None:
            return _to_sign_in()
        if who.role != "la":
            raise ForbiddenError(
                f"These pages are for local authorities; you are signed in as {who.id}, {_ROLE_NAMES[who.role]}.",
                hint="The EHC plans sent to you are listed on your home page.",
            )
        return view(who, *args, **kwargs)

    return wrapper


def _context(la: Participant) -> dict[str, Any]:
    """What every LA page's layout needs: the area, who is signed in, the session's CSRF token."""
    return {"la": {"code": la.la, "name": la.name}, "user": f"{la.name} ({la.id})", "csrf_token": _csrf()}


# ------------------------------------------------------------------ sign-in and sign-out


def _landing(who: Participant) -> str:
    """Where a participant goes after signing in: an LA to its overview, anyone else home."""
    return LA_URLS["dashboard"] if who.role == "la" else LA_URLS["home"]


@bp.get("/la/sign-in")
def sign_in_form() -> Response:
    nxt = _safe_next(request.args.get("next"))
    who = _signed_in()
    if who is not None:
        return redirect(nxt or _landing(who), 303)
    notice = session.pop("notice", None)
    return _html(render_sign_in(error=notice, next_url=nxt, csrf_token=_csrf()))


def _sign_in_participant(token: str) -> Participant:
    try:
        _check_csrf()
    except CsrfError:
        raise CsrfError("The sign-in form had expired. Enter your access token again.") from None
    if not token:
        raise InputError("Enter your access token.", where="token")
    try:
        who = hub().authenticate(token, address=request.remote_addr)
    except NotAuthorisedError:
        raise NotAuthorisedError(
            "That access token is not valid. Check it, or ask your sendx administrator for a new one.",
            where="token",
        ) from None
    if who.role not in _PAGE_ROLES:
        raise ForbiddenError(
            f"That token belongs to {who.id}, {_ROLE_NAMES[who.role]}, who has no pages here. "
            "The hub is administered with `sendx admin` on its host.",
            where="token",
        )
    return who


@bp.post("/la/sign-in")
def sign_in() -> Response:
    nxt = _safe_next(request.form.get("next"))
    token = request.form.get("token", "").strip()
    try:
        who = _sign_in_participant(token)
    except SendxError as exc:
        if not _wants_html():
            return problem_response(exc.to_problem(), exc.status, problem_headers(exc))
        page = render_sign_in(error=exc.message, next_url=nxt, csrf_token=_csrf())
        return _html(page, exc.status, problem_headers(exc))
    sid = hub().begin_session(who, token)
    session.clear()  # a new session, never one fixed before sign-in
    session.update(sid=sid, csrf=secrets.token_urlsafe(32))
    return redirect(nxt or _landing(who), 303)


@bp.post("/la/sign-out")
def sign_out() -> Response:
    if _signed_in() is not None:
        _check_csrf()
        hub().end_session(session["sid"])
    session.clear()
    return redirect(LA_URLS["sign_in"], 303)


# ------------------------------------------------------------------ the home page


@bp.get("/")
def home() -> Response:
    """A browser gets the home page (the plans sent to whoever is signed in); a program, a JSON index."""
    if not _wants_html():
        return json_response({"service": "sendx hub", "openapi": "/openapi.json", "signIn": LA_URLS["sign_in"]})
    who = _signed_in()
    if who is None:
        return _html(render_home(csrf_token=_csrf()))
    items = hub().inbox(who, limit=_PAGE_SIZE)["items"]
    plans = [t for t in items if t["kind"] == "ehcp"]
    ctx = _context(who) if who.role == "la" else {"csrf_token": _csrf()}
    return _html(render_home(who=who.to_dict(), role_name=_ROLE_NAMES[who.role], plans=plans, **ctx))


@bp.get("/la")
def la_root() -> Response:
    if not _wants_html():
        raise NotFoundError("/la holds the local authority web pages; the API is under /v1 (see /openapi.json)")
    return redirect(LA_URLS["dashboard"], 303)


# ------------------------------------------------------------------ the LA pages


@bp.get("/la/dashboard")
@_la_page
def dashboard(la: Participant) -> Response:
    as_of = query_date("asOf") or utcnow().date()
    metrics = hub().area_figures(la, as_of=as_of, max_cases=_MAX_CASES)
    return _html(render_dashboard(metrics, max_cases=_MAX_CASES, **_context(la)))


@bp.get("/la/movements")
@_la_page
def movements(la: Participant) -> Response:
    # The page shows a bad filter or cursor as an error summary itself; the status says so too.
    try:
        flt = MovementFilter.from_query(str(la.la), request.args)
        page = hub().area_movements(
            la, flt, older=request.args.get("older") or None, newer=request.args.get("newer") or None
        )
    except InputError as exc:
        return _html(render_movements([], query=request.args, error=exc.message, **_context(la)), 400)
    damaged = [{"logIndex": e["logIndex"], "problem": e["problem"]} for e in page.items if e.get("damaged")]
    body = render_movements(
        page.items, query=request.args, newer=page.newer, older=page.older, damaged=damaged, **_context(la)
    )
    return _html(body)


@bp.get("/la/movements.csv")
@_la_page
def movements_csv(la: Participant) -> Response:
    """Every movement the filter shows, streamed as it is read: a batch of rows in memory at a time.

    The generator needs no request context (it holds the hub and the filter), so none is kept
    alive while a slow client downloads."""
    lines = movements_csv_lines(hub().area_export(la, request.args))
    name = f"sendx-movements-{la.la}-{utcnow().date().isoformat()}.csv"
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _checkpoint() -> tuple[str, int]:
    h = hub()
    with h.store.read() as s:
        log = open_log(s)
        return log.checkpoint(h.log_signer, h.log_origin), log.size


@bp.get("/la/log")
@_la_page
def log_page(la: Participant) -> Response:
    try:
        checkpoint, result = _checkpoint()[0], None
    except SendxError as exc:  # a damaged log store is what this page exists to show
        checkpoint, result = None, {"ok": False, "message": f"The hub could not read its log: {exc.message}"}
    return _html(render_log(checkpoint=checkpoint, verify_result=result, **_context(la)))


def _verify(la: Participant) -> tuple[str | None, dict[str, Any]]:
    """Recompute the log from its stored entries against the hub's signed checkpoint (and against
    the checkpoint this session verified before, so a rollback or fork in between shows), and
    check that the area's movements are exactly the entries naming the LA — ``sendx log verify``
    with the LA's token, run on the hub."""
    h = hub()
    try:
        seen = VerifierState.from_dict(session["log_seen"]) if "log_seen" in session else None
    except (InputError, TypeError):
        seen = None
    try:
        area = area_view(lambda limit, after: h.movements(la, limit=limit, after=after), str(la.la))
        with h.store.read() as s:  # one transaction: the checkpoint and the entries agree in time
            log = open_log(s)
            size = log.size
            note = log.checkpoint(h.log_signer, h.log_origin, size)
            verifier = Verifier.from_text(str(h.log_verifier))
            outcome = verify_log(log, note, verifier, seen, origin=h.log_origin, area=area)
    except SendxError as exc:
        return None, {"ok": False, "message": f"The hub could not read its log: {exc.message}"}
    if not outcome.ok:
        return note, {"ok": False, "message": " ".join(p.message for p in outcome.problems)}
    # The session keeps the checkpoint only (a cookie is small): the next check reads everything.
    session["log_seen"] = VerifierState(outcome.state.origin, outcome.state.checkpoints[-1:]).to_dict()
    earlier = [c.checkpoint.size for c in (seen.checkpoints if seen else ())]
    message = (
        f"All {size} entries were recomputed and match the hub's signed checkpoint; the "
        f"{outcome.area_entries} naming {la.la} are the movements your pages show."
    )
    if earlier:
        message += f" The log still contains the {earlier[-1]} entries you verified earlier in this session."
    return note, {"ok": True, "message": message}


@bp.post("/la/log/verify")
@_la_page
def verify_log_page(la: Participant) -> Response:
    _check_csrf()
    checkpoint, result = _verify(la)
    return _html(render_log(checkpoint=checkpoint, verify_result=result, **_context(la)))


@bp.get("/la/access")
@_la_page
def access(la: Participant) -> Response:
    h = hub()
    rows: list[dict[str, Any]] = []
    while True:
        chunk = h.access_log(la, limit=_PAGE_SIZE, offset=len(rows))["items"]
        rows += chunk
        if len(chunk) < _PAGE_SIZE:
            break
    roles = {p["id"]: p["role"] for p in h.list_participants()}
    records = [
        {
            "at": r["at"],
            "reader": r["participant"] or "the hub",
            "readerRole": roles.get(r["participant"]) if r["participant"] else "retention",
            "document": r["transferId"] or f"log entry {r['logIndex']}",
            "action": r["action"],
        }
        for r in rows
    ]
    return _html(render_access(records, page=request.args.get("page") or 1, **_context(la)))


# ------------------------------------------------------------------ the plan page


@bp.get("/plans/<tid>")
def plan(tid: str) -> Response:
    if request.headers.get("Authorization"):
        who = caller()  # the API's Bearer authentication: a bad token is a 401, as on the API
    else:
        signed_in = _signed_in()
        if signed_in is None:
            return _to_sign_in()
        who = signed_in
    transfer = hub().get_transfer(who, tid)  # sender or recipient only; records the read
    if transfer["kind"] != "ehcp":
        raise NotFoundError(f"transfer {tid} is a {transfer['kind']}, not an EHC plan")
    return _html(render_plan(transfer["envelope"]["document"]))
