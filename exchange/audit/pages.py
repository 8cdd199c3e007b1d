"""The LA audit pages as pure render functions: plain data in, one HTML page out.

The hub (``/la/...`` routes) loads what the signed-in LA may see and calls these; nothing
here touches a database, a request or a session, so the pages are tested on their own and
in a real browser.  Every page shares one layout (``templates/la/_base.html.j2``): landmarks,
a skip link, the audit navigation, inline CSS, no script.

Common keyword arguments:

- ``la``: ``{"code": "330", "name": "Birmingham"}`` — the signed-in LA (``name`` optional).
- ``user``: who is signed in, shown in the header with a sign-out button (optional).
- ``urls``: overrides for ``LA_URLS`` (where the navigation, forms and CSV link point).
- ``csrf_token``: if given, added as a hidden ``csrf_token`` field to every POST form.

The movement page filters what it is given through ``sendx.exchange.audit.figures.MovementFilter``
itself, with the LA code from ``la`` (never from the query), so passing it more than the
area's movements cannot leak another area's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from sendx.adapters.templating import long_date, render
from sendx.exchange.audit.figures import LaMetrics, MovementFilter, paginate
from sendx.schemas import codelist
from sendx.validators.errors import InputError
from sendx.validators.wording import plural

__all__ = [
    "LA_URLS",
    "render_access",
    "render_dashboard",
    "render_home",
    "render_log",
    "render_movements",
    "render_problem",
    "render_sign_in",
]

#: Where the pages link to; the hub mounts the routes here (override with ``urls=``).
LA_URLS: dict[str, str] = {
    "dashboard": "/la/dashboard",
    "movements": "/la/movements",
    "csv": "/la/movements.csv",
    "log": "/la/log",
    "log_verify": "/la/log/verify",
    "access": "/la/access",
    "sign_in": "/la/sign-in",
    "sign_out": "/la/sign-out",
    "home": "/",
}
_NAV = (("dashboard", "Overview"), ("movements", "Movements"), ("log", "Movement log"), ("access", "Who read what"))
_CHART_COLOURS = ("var(--chart-a)", "var(--chart-b)", "var(--chart-c)")
#: Placement-length buckets for the time-in-AP chart: (label, lowest day, highest day or None).
_LENGTH_BUCKETS = (
    ("Under 6 weeks", 0, 41),
    ("6 to 12 weeks", 42, 83),
    ("12 weeks to 6 months", 84, 182),
    ("Over 6 months", 183, None),
)


def _layout(la: Mapping[str, Any] | None, current: str, title: str, **kw: Any) -> dict[str, Any]:
    """Template values every LA page shares; ``la`` is None before anyone has signed in."""
    urls = {**LA_URLS, **(kw.pop("urls", None) or {})}
    return {
        "la": la,
        "la_name": (la.get("name") or f"local authority {la.get('code', '')}") if la else None,
        "current": current,
        "page_title": title,
        "nav": _NAV if current != "sign_in" else (),
        "urls": urls,
        "user": kw.pop("user", None),
        "csrf_token": kw.pop("csrf_token", None),
        **kw,
    }


def _la_code(la: Mapping[str, Any]) -> str:
    code = la.get("code") if isinstance(la, Mapping) else None
    if not code:
        raise InputError("the LA pages need the signed-in LA's code")
    return str(code)


def render_sign_in(
    *,
    action: str = LA_URLS["sign_in"],
    error: str | None = None,
    next_url: str = "",
    csrf_token: str | None = None,
) -> str:
    """The sign-in page: one token field posted to ``action`` (fields ``token``, ``next``)."""
    return render(
        "la/sign_in.html.j2",
        **_layout(None, "sign_in", "Sign in", csrf_token=csrf_token),
        action=action,
        error=error,
        next_url=next_url,
    )


def render_movements(
    items: Iterable[Mapping[str, Any]],
    *,
    la: Mapping[str, Any],
    query: Mapping[str, Any],
    newer: str | None = None,
    older: str | None = None,
    error: str | None = None,
    **kw: Any,
) -> str:
    """One page of the movement timeline, with the filters, links to newer and older pages
    (cursors ``newer`` / ``older``) and the CSV link.

    ``items``: the page's movement events, newest first, as the hub found them for the
    filter; ``query``: the request's query arguments (dict of str or lists, or a werkzeug
    MultiDict) — ``from``, ``to``, ``type``, ``setting``, ``settingType``, ``ap``,
    ``unknown``.  A bad argument, or ``error``, is shown on the page (no results) rather
    than raised.  Items are filtered again here, so more than the area's cannot be shown
    (an item marked ``damaged`` is the hub's word that one of the area's rows is unreadable).
    """
    code = _la_code(la)
    flt: MovementFilter | None = None
    if error is None:
        try:
            flt = MovementFilter.from_query(code, query)
        except InputError as exc:
            error = exc.message
    shown = [e for e in items if flt is not None and (e.get("damaged") is True or flt.matches(e))]
    urls = {**LA_URLS, **(kw.get("urls") or {})}
    filter_qs = flt.query_string() if flt else ""

    def page_href(which: str, cursor: str) -> str:
        return urls["movements"] + "?" + urlencode([*(flt.to_query() if flt else []), (which, cursor)])

    form = {k: _first(query, k) for k in ("from", "to", "setting", "settingType")}
    return render(
        "la/movements.html.j2",
        **_layout(la, "movements", "Movements", **kw),
        flt=flt,
        error=error,
        items=shown,
        newer_href=page_href("newer", newer) if newer and flt else None,
        older_href=page_href("older", older) if older and flt else None,
        form=form,
        selected_types=sorted(flt.types) if flt else [],
        movement_types=[(c["code"], c["label"]) for c in codelist("movement-types")["codes"]],
        setting_types=[(c["code"], c["label"]) for c in codelist("setting-types")["codes"]],
        csv_href=urls["csv"] + ("?" + filter_qs if filter_qs else ""),
    )


def _first(query: Mapping[str, Any], key: str) -> str:
    getlist = getattr(query, "getlist", None)
    values = getlist(key) if callable(getlist) else query.get(key)
    if isinstance(values, (list, tuple)):
        values = values[0] if values else ""
    return "" if values is None else str(values)


def _month_label(month: str) -> str:
    try:
        return dt.date.fromisoformat(month + "-01").strftime("%B %Y")
    except ValueError:
        return month


def _ticks(top: int) -> list[int]:
    if top <= 5:
        return list(range(top + 1))
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10**9) if top / s <= 5)
    return list(range(0, top + step, step))


def _bar_chart(
    chart_id: str,
    title: str,
    caption: str,
    categories: list[str],
    series: list[tuple[str, list[int], tuple[str, str]]],
) -> dict[str, Any]:
    """Geometry of a grouped vertical bar chart, drawn in SVG by ``la/_macros.html.j2``.

    Each series is (legend name, values, (what one counts, what several count)), so a bar reads
    "Mar 25: 1 placement", never "1 placements".
    """
    top = max([1, *(v for _, values, _ in series for v in values)])
    ticks = _ticks(top)
    scale_top = ticks[-1] or 1
    left, plot_h, pad_top = 36, 160, 10
    group_w = max(24, min(96, 640 // max(1, len(categories))))
    width = left + group_w * len(categories) + 8
    base = pad_top + plot_h
    bar_w = (group_w - 6) / len(series)
    bars, labels = [], []
    every = max(1, -(-len(categories) * 40 // 640))  # thin the axis labels so they never overlap
    for i, cat in enumerate(categories):
        x0 = left + i * group_w + 3
        for s, (_, values, noun) in enumerate(series):
            h = plot_h * values[i] / scale_top
            bars.append(
                {
                    "x": round(x0 + s * bar_w, 1),
                    "y": round(base - h, 1),
                    "w": round(bar_w - 1, 1),
                    "h": round(h, 1),
                    "colour": _CHART_COLOURS[s % len(_CHART_COLOURS)],
                    "title": f"{cat}: {plural(values[i], *noun)}",
                }
            )
        if i % every == 0:
            labels.append({"x": round(x0 + (group_w - 6) / 2, 1), "text": cat})
    desc = "; ".join(
        f"{cat}: " + ", ".join(plural(values[i], *noun) for _, values, noun in series)
        for i, cat in enumerate(categories)
    )
    return {
        "id": chart_id,
        "title": title,
        "desc": desc,
        "caption": caption,
        "width": width,
        "height": base + 24,
        "left": left,
        "base": base,
        "ticks": [{"y": round(base - plot_h * t / scale_top, 1), "label": t} for t in ticks],
        "bars": bars,
        "labels": labels,
        "series": [
            {"name": name, "colour": _CHART_COLOURS[k % len(_CHART_COLOURS)]} for k, (name, _, _) in enumerate(series)
        ],
    }


def render_dashboard(metrics: LaMetrics, *, la: Mapping[str, Any], max_cases: int = 50, **kw: Any) -> str:
    """The overview: ``metrics`` from ``figures.la_metrics`` for the same LA, as tables and charts."""
    if metrics.la != _la_code(la):
        raise InputError(f"metrics are for LA {metrics.la}, not the signed-in LA {_la_code(la)}")
    short = [dt.date.fromisoformat(m.month + "-01").strftime("%b %y") for m in metrics.ap_by_month]
    ap_chart = _bar_chart(
        "chart-ap",
        "Moves into and out of alternative provision by month",
        "Moves into and out of alternative provision each month; the table below gives the same figures.",
        short,
        [
            ("Into AP", [m.into_ap for m in metrics.ap_by_month], ("move into AP", "moves into AP")),
            ("Out of AP", [m.out_of_ap for m in metrics.ap_by_month], ("move out of AP", "moves out of AP")),
        ],
    )
    buckets = [{"label": text, "count": metrics.placements_between(lo, hi)} for text, lo, hi in _LENGTH_BUCKETS]
    length_chart = _bar_chart(
        "chart-length",
        "Placements in alternative provision by length",
        "How long placements lasted (open ones so far); the table below gives the same figures.",
        ["< 6 wk", "6–12 wk", "12 wk–6 mo", "> 6 mo"],
        [("Placements", [b["count"] for b in buckets], ("placement", "placements"))],
    )
    return render(
        "la/dashboard.html.j2",
        **_layout(la, "dashboard", "Overview", **kw),
        m=metrics,
        ap_chart=ap_chart,
        length_chart=length_chart,
        length_buckets=buckets,
        month_label=_month_label,
        max_cases=max_cases,
    )


def render_log(
    *,
    la: Mapping[str, Any],
    checkpoint: str | None,
    verify_url: str = LA_URLS["log_verify"],
    verify_result: Mapping[str, Any] | None = None,
    **kw: Any,
) -> str:
    """The log page: the current signed checkpoint (C2SP tlog-checkpoint text) and a verify button.

    ``verify_result``: ``{"ok": bool, "message": str}`` after the button was pressed.
    """
    return render(
        "la/log.html.j2",
        **_layout(la, "log", "Movement log", **kw),
        checkpoint=checkpoint,
        verify_url=verify_url,
        verify_result=verify_result,
    )


def render_access(
    records: Iterable[Mapping[str, Any]],
    *,
    la: Mapping[str, Any],
    page: object = 1,
    per_page: int = 50,
    **kw: Any,
) -> str:
    """Who read the LA's records: ``records`` are ``{"at": ISO date-time, "reader", "readerRole"?,
    "document", "kind"?, "action"?}``, shown newest first."""
    rows = sorted(records, key=lambda r: str(r.get("at", "")), reverse=True)
    return render(
        "la/access.html.j2",
        **_layout(la, "access", "Who read what", **kw),
        page=paginate(rows, page, per_page),
        when=_when,
    )


def _when(value: object) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    zone = ""
    if moment.tzinfo is not None:
        moment, zone = moment.astimezone(dt.UTC), " UTC"
    return f"{long_date(moment.date())} at {moment.strftime('%H:%M')}{zone}"


def render_home(
    *,
    who: Mapping[str, Any] | None = None,
    role_name: str = "",
    plans: Iterable[Mapping[str, Any]] = (),
    la: Mapping[str, Any] | None = None,
    **kw: Any,
) -> str:
    """The hub's home page: what it is and where to sign in; once signed in (``who``, any role),
    the EHC plans sent to the participant (transfers: ``id``, ``created``, ``sender``) and, for
    an LA (``la``), the way to its area's pages."""
    layout = _layout(la, "home", who["name"] if who else "Home", section="Records exchange", **kw)
    if la is None:
        layout["nav"] = ()
    if who and not la:
        layout["user"] = layout["user"] or f"{who['name']} ({who['id']})"
    return render("la/home.html.j2", **layout, who=who, role_name=role_name, plans=list(plans))


def render_problem(
    status: int,
    title: str,
    detail: str,
    *,
    la: Mapping[str, Any] | None = None,
    hint: str | None = None,
    **kw: Any,
) -> str:
    """An error page (the HTML face of an RFC 9457 problem) for someone using the pages in a browser.

    ``la`` is the signed-in LA, or None when nobody is (the page then offers the sign-in page).
    """
    layout = _layout(la, "problem", title, **kw)
    if la is None:  # no LA signed in: the audit navigation would only lead back to sign-in
        layout["nav"] = ()
    return render(
        "la/problem.html.j2",
        **layout,
        status=status,
        title=title,
        detail=detail,
        hint=hint,
    )
