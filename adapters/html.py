"""EHCP → an accessible, phone-first HTML page (the last step of bytes → parse → validate → adapt).

``render_plan`` turns a schema-valid EHC plan into one self-contained HTML page: plain-English
headings for sections A–K, each outcome shown with the provision that serves it, who / how
often / how long as readable facts, the personal budget and the advice list.  The page
inlines its stylesheet (no external assets, no script), escapes every value (Jinja2
autoescape), and is built to WCAG 2.2 AA: landmarks, one ``h1``, ordered headings,
``lang="en-GB"``, checked colour contrast, visible focus, no horizontal scrolling on a phone
and a print stylesheet.  ``render_document`` validates first and refuses anything that is not
a valid EHCP; the CLI (``sendx render``) and the hub's ``/plans/{id}`` page call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sendx import validators
from sendx.adapters.templating import label, render
from sendx.validators.errors import InputError, InvalidDocumentError, UnsupportedKindError
from sendx.validators.report import Report
from sendx.validators.rules import Context
from sendx.validators.wording import plural

__all__ = ["CONTRAST_PAIRS", "PROGRESS", "render_document", "render_plan"]

#: Outcome progress codes → (plain words, tag colour).  "Met — plan no longer needed" is a success.
PROGRESS: dict[str, tuple[str, str]] = {
    "not-started": ("Not started yet", "grey"),
    "progressing": ("Making progress", "blue"),
    "achieved": ("Achieved", "green"),
    "met-plan-no-longer-needed": ("Met — plan no longer needed", "green"),
}
_STATUS_TAG = {"draft": "yellow", "final": "green", "amended": "green", "ceased": "grey"}

#: Every foreground/background pair the stylesheet uses, with its WCAG 2.2 minimum ratio
#: (4.5:1 for text, 3:1 for focus indicators and chart marks).  Tested against style.css.
CONTRAST_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("text", "bg", 4.5),
    ("muted", "bg", 4.5),
    ("text", "panel", 4.5),
    ("muted", "panel", 4.5),
    ("link", "bg", 4.5),
    ("link", "panel", 4.5),
    ("link-visited", "bg", 4.5),
    ("link-visited", "panel", 4.5),
    ("focus-text", "focus", 4.5),
    ("focus", "header-bg", 3.0),
    ("focus-text", "bg", 3.0),
    ("header-text", "header-bg", 4.5),
    ("border", "bg", 3.0),
    ("tag-grey-text", "tag-grey-bg", 4.5),
    ("tag-blue-text", "tag-blue-bg", 4.5),
    ("tag-green-text", "tag-green-bg", 4.5),
    ("tag-yellow-text", "tag-yellow-bg", 4.5),
    ("tag-red-text", "tag-red-bg", 4.5),
    ("tag-red-text", "bg", 4.5),
    ("chart-a", "bg", 3.0),
    ("chart-b", "bg", 3.0),
    ("chart-c", "bg", 3.0),
    ("button-text", "button-bg", 4.5),
    ("error", "bg", 3.0),
)

# Section headings: (key, heading with {name} for the child's possessive or name, anchor).
_PROVISION_SECTIONS = (
    ("F", "Support in education", "What the school or college will provide (special educational provision)."),
    ("G", "Health support", "What health services will provide."),
    (
        "H1",
        "Social care support (Chronically Sick and Disabled Persons Act)",
        "Provision under section 2 of the 1970 Act.",
    ),
    ("H2", "Other social care support", "Other social care provision the plan needs."),
)


def _possessive(name: str) -> str:
    return f"{name}\u2019s"


def _money(amount: object) -> str:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    return f"£{value:,.2f}"


def _items(sections: Mapping[str, Any], key: str, field: str) -> list[Mapping[str, Any]]:
    section = sections.get(key)
    if not isinstance(section, Mapping):
        return []
    value = section.get(field)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


class _Anchors:
    """Unique HTML ids for plan items; duplicate plan ids (a warning, not fatal) still get unique anchors."""

    def __init__(self) -> None:
        self._by_ref: dict[str, str] = {}
        self._used: set[str] = set()

    def add(self, prefix: str, ref: object) -> str:
        base = f"{prefix}-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in str(ref))
        anchor, n = base, 1
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        self._used.add(anchor)
        self._by_ref.setdefault(str(ref), anchor)
        return anchor

    def get(self, ref: object) -> str | None:
        return self._by_ref.get(str(ref))


def _plan_view(plan: Mapping[str, Any]) -> dict[str, Any]:
    """Shape the plan for the template: resolve links between needs, outcomes and provision."""
    child = plan.get("child") or {}
    name = child.get("preferredName") or child.get("givenName") or "the child"
    sections = plan.get("sections") or {}
    anchors = _Anchors()

    needs: dict[str, list[dict[str, Any]]] = {}
    need_text: dict[str, str] = {}
    for key in ("B", "C", "D"):
        rows = []
        for n in _items(sections, key, "needs"):
            row = dict(n, anchor=anchors.add("need", n.get("id")))
            if key == "B":
                row["area_label"] = label(n.get("area"), "need-areas")
                row["primary_label"] = label(n.get("primaryNeed"), "need-types") if n.get("primaryNeed") else None
            need_text.setdefault(str(n.get("id")), str(n.get("description", "")))
            rows.append(row)
        needs[key] = rows

    outcomes = []
    for o in _items(sections, "E", "outcomes"):
        words, tag = PROGRESS.get(str(o.get("progress")), ("Progress not recorded", "grey"))
        outcomes.append(
            dict(
                o,
                anchor=anchors.add("outcome", o.get("id")),
                progress_words=words,
                progress_tag=tag,
                pfa_label=label(o["preparingForAdulthood"], "pfa-areas") if o.get("preparingForAdulthood") else None,
                serves=[],
            )
        )

    provision = []
    for key, heading, intro in _PROVISION_SECTIONS:
        rows = []
        for p in _items(sections, key, "provision"):
            rows.append(dict(p, anchor=anchors.add("provision", p.get("id")), section=key, section_heading=heading))
        provision.append({"key": key, "heading": heading, "intro": intro, "items": rows, "present": key in sections})

    # Which provision serves which outcome: explicit ``outcomes`` links win; provision without
    # them serves the outcomes that share one of its needs (the plan's own need links).
    all_provision = [p for block in provision for p in block["items"]]
    for o in outcomes:
        o_needs = set(map(str, o.get("needs") or ()))
        for p in all_provision:
            links = p.get("outcomes")
            if links is not None:
                if str(o.get("id")) in set(map(str, links)):
                    o["serves"].append(p)
            elif o_needs & set(map(str, p.get("needs") or ())):
                o["serves"].append(p)
    for p in all_provision:
        p["outcome_refs"] = [o for o in outcomes if any(s is p for s in o["serves"])]

    def need_refs(ids: Iterable[object]) -> list[dict[str, str | None]]:
        return [{"id": str(i), "anchor": anchors.get(i), "text": need_text.get(str(i), "")} for i in ids or ()]

    for row in (*outcomes, *all_provision):
        row["need_refs"] = need_refs(row.get("needs") or ())

    a = sections.get("A") if isinstance(sections.get("A"), Mapping) else {}
    views = [
        (f"In {_possessive(name)} own words", a.get("childViews")),
        (f"What {_possessive(name)} family told us", a.get("parentViews")),
        ("Interests", a.get("interests")),
        ("Hopes for the future", a.get("aspirations")),
        ("History", a.get("history")),
    ]
    placement = (sections.get("I") or {}).get("placement") if isinstance(sections.get("I"), Mapping) else None
    budget = sections.get("J") if isinstance(sections.get("J"), Mapping) else None
    period = {"week": "a week", "month": "a month", "year": "a year"}
    status = str(plan.get("status", ""))
    return {
        "plan": plan,
        "name": name,
        "possessive": _possessive(name),
        "child": child,
        "la": plan.get("la") or {},
        "status": status,
        "status_label": label(status, "plan-statuses"),
        "status_tag": _STATUS_TAG.get(status, "grey"),
        "timeline": plan.get("timeline") or {},
        "views": [(h, v) for h, v in views if v],
        "needs": needs,
        "has": {k: k in sections for k in ("A", "B", "C", "D", "E", "I", "J", "K")},
        "outcomes": outcomes,
        "provision": provision,
        "placement": placement,
        "placement_type": label(placement.get("type"), "setting-types") if placement else None,
        "budget": budget,
        "budget_amount": _money(budget.get("amount")) if budget else None,
        "budget_period": period.get(str(budget.get("period"))) if budget else None,
        "advice": _items(sections, "K", "advice"),
        "ceased": plan.get("ceased"),
        "ceased_reason": label(plan["ceased"].get("reason"), "cease-reasons")
        if isinstance(plan.get("ceased"), Mapping)
        else None,
    }


def render_plan(plan: Mapping[str, Any]) -> str:
    """The plan as one self-contained HTML page.

    ``plan`` is an EHCP that has passed schema validation (rule warnings, even rule errors,
    are fine: a caseworker may preview a draft).  Missing optional sections are shown as
    "not included in this plan" rather than omitted silently.
    """
    if not isinstance(plan, Mapping):
        raise InputError("an EHC plan must be a JSON object")
    return render("plan.html.j2", **_plan_view(plan))


def render_document(
    source: bytes | str | Path | Mapping[str, Any], *, context: Context | None = None
) -> tuple[str, Report]:
    """Validate ``source`` as an EHCP and render it: ``(html, report)``.

    Refuses (``UnsupportedKindError``) a document of another kind and (``InvalidDocumentError``)
    an EHCP with errors, naming the first few; warnings are returned in the report for the caller to show.
    """
    from sendx.validators import parsing

    where = str(source) if isinstance(source, Path) else None
    data = parsing.read_json_bytes(source) if isinstance(source, Path) else source
    report = validators.validate(data, context=context)
    if report.kind != "ehcp":
        what = f"a {report.kind} document" if report.kind else "not a document sendx recognises"
        first = report.errors[0].message if report.errors and not report.kind else None
        raise UnsupportedKindError(
            f"only EHC plans can be rendered; this is {what}" + (f" ({first})" if first else ""),
            where=where,
            hint='an EHCP has "$schema": "https://schemas.sendx.org.uk/ehcp/v1"',
        )
    if not report.valid:
        shown = "; ".join(f"{i.location or '/'}: {i.message} [{i.rule}]" for i in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise InvalidDocumentError(
            f"the plan has {plural(len(report.errors), 'error')}: {shown}{more}",
            where=where,
            hint="run `sendx validate` on it for the full report, fix the errors, then render again",
        )
    doc = data if isinstance(data, Mapping) else parsing.load_json(data)
    return render_plan(doc), report
