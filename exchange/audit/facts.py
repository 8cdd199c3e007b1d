"""What an LA's figures are made of: each movement's facts, each pupil's spans, each plan's dates.

The figures on any date follow from things that do not depend on that date:

- ``movement_facts``: what one movement event is for the audit — the areas it touches, its
  date, into or out of alternative provision, reintegration, unknown destination, and what it
  says happened (to spot the same movement reported twice).  Nothing in it is personal but
  that last tuple, which names the pupil: the hub keeps only a keyed hash of it.
- ``pupil_spans``: one pupil's history in an area, oldest first and without repeats, reduced
  to AP placements (entry to exit; moves between AP settings continue one) and
  unknown-destination cases (the event to the next one that names a setting, or the next
  unknown one).  A span holds on a date when it has started and not ended by then, so the
  figures on any date are read off the spans of the whole history.
- ``plan_facts``: an EHC plan's timeliness (issued within 20 weeks, late with an exception,
  late) and the dates its review is overdue.

``figures.la_metrics`` folds these over a history in memory; the hub keeps the same facts
and spans in its store as movements and plans are written, and sums them with SQL.  Either
way, the counting rules are the ones here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sendx.validators.dates import add_months, age_on, parse_date

__all__ = [
    "MAINSTREAM_TYPES",
    "TWENTY_WEEKS",
    "UNKNOWN_DESTINATION",
    "MovementFacts",
    "Placement",
    "PlanFacts",
    "Step",
    "UnknownSpan",
    "ap_flow",
    "movement_facts",
    "plan_facts",
    "pupil_spans",
    "setting_end",
]

#: Events after which nobody knows where the pupil is being educated (lost pupils).
UNKNOWN_DESTINATION = frozenset({"destination-unknown", "child-missing-education"})
#: Setting types that count as reintegration into mainstream education.
MAINSTREAM_TYPES = frozenset({"mainstream-school", "resourced-provision"})
#: Statutory limit for issuing a final plan after the request (SEND Regulations 2014 reg 13(2)).
TWENTY_WEEKS = dt.timedelta(weeks=20)


def setting_end(event: Mapping[str, Any], which: str) -> Mapping[str, Any] | None:
    """The event's ``from`` or ``to`` setting, or None when it is absent or not an object."""
    value = event.get(which)
    # ``dict`` first: parsed events are plain dicts, and the abc check costs more than the rest.
    return value if type(value) is dict or isinstance(value, Mapping) else None


def _is_ap(end: Mapping[str, Any] | None) -> bool:
    return end is not None and end.get("ap") is True


def ap_flow(event: Mapping[str, Any]) -> int:
    """1 into alternative provision from outside it, -1 out of it to anything else, 0 neither."""
    return int(_is_ap(setting_end(event, "to"))) - int(_is_ap(setting_end(event, "from")))


def _setting_fact(end: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What tells one setting from another: its codes, type and name."""
    if end is None:
        return None
    get = end.get
    return (get("la"), get("laestab"), get("urn"), get("ukprn"), get("type"), get("ap"), get("name"))


@dataclass(frozen=True, slots=True)
class MovementFacts:
    """One movement event as the LA figures see it."""

    #: LA codes whose area the movement touches: its ``from`` or ``to`` setting is in them.
    las: frozenset[str]
    #: ``effectiveDate``; None when it is not a date (such an event counts nowhere).
    day: dt.date | None
    #: 1 into alternative provision from outside it, -1 out of it to anything else, 0 neither.
    flow: int
    #: An exit from AP back into mainstream (by ``reintegration`` or the destination's type).
    reintegrated: bool
    #: A destination-unknown or child-missing-education event.
    unknown: bool
    #: The event names a setting the pupil went to (which closes an unknown-destination case).
    has_to: bool
    #: Either end is alternative provision (the timeline's AP filter).
    ap: bool
    #: What the movement says happened — pupil, type, date, both settings, not its event id —
    #: or None when a value is not a plain code (a malformed event is never taken for a repeat).
    said: tuple[Any, ...] | None


def movement_facts(event: Mapping[str, Any]) -> MovementFacts:
    """The facts of one movement event (a parsed ``schemas/movement`` dict, valid or not)."""
    frm, to = setting_end(event, "from"), setting_end(event, "to")
    las = frozenset(str(end.get("la")) for end in (frm, to) if end is not None and isinstance(end.get("la"), str))
    flow = int(_is_ap(to)) - int(_is_ap(frm))
    pupil = event.get("pupil")
    upn = str(pupil.get("upn", "")) if isinstance(pupil, Mapping) else ""
    said: tuple[Any, ...] | None = (
        upn,
        event.get("type"),
        event.get("effectiveDate"),
        _setting_fact(frm),
        _setting_fact(to),
    )
    try:
        hash(said)
    except TypeError:  # a list or object where a code belongs
        said = None
    return MovementFacts(
        las=frozenset(la for la in las if la),
        day=parse_date(event.get("effectiveDate")),
        flow=flow,
        reintegrated=flow < 0
        and (event.get("reintegration") == "mainstream" or (to is not None and to.get("type") in MAINSTREAM_TYPES)),
        unknown=event.get("type") in UNKNOWN_DESTINATION,
        has_to=to is not None,
        ap=_is_ap(frm) or _is_ap(to),
        said=said,
    )


# ---------------------------------------------------------------------------- pupil spans


class Step(NamedTuple):
    """One movement in a pupil's history: ``order`` breaks ties between movements of one day."""

    day: dt.date
    order: int
    flow: int
    unknown: bool
    has_to: bool


class Placement(NamedTuple):
    """An AP placement: from the movement into AP (``order``) to the exit, or still open (None)."""

    start: dt.date
    end: dt.date | None
    order: int

    def on(self, day: dt.date) -> tuple[int, bool] | None:
        """(days in AP, still open) on ``day``; None if the placement had not started."""
        if self.start > day:
            return None
        if self.end is not None and self.end <= day:
            return (self.end - self.start).days, False
        return max(0, (day - self.start).days), True


class UnknownSpan(NamedTuple):
    """An unknown-destination case: open from the event (``order``) until the next event that
    names a setting or is itself unknown (which then is the case), or still open (None)."""

    since: dt.date
    until: dt.date | None
    order: int

    def open_on(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or self.until > day)


def pupil_spans(steps: Iterable[Step]) -> tuple[list[Placement], list[UnknownSpan]]:
    """A pupil's placements and unknown-destination cases from their steps, oldest first.

    A placement starts at the first move into AP and ends at the next move out of it (a move
    in while in AP, or out while not, changes nothing); a case is the latest unknown event
    with no later event naming a setting.  Each step only ever ends what came before it, so
    the spans of a history cut at a date are those of the whole history, cut at that date.
    """
    placements: list[Placement] = []
    cases: list[UnknownSpan] = []
    started: Step | None = None
    case: Step | None = None
    for step in steps:
        if started is None and step.flow > 0:
            started = step
        elif started is not None and step.flow < 0:
            placements.append(Placement(started.day, step.day, started.order))
            started = None
        if step.unknown or (case is not None and step.has_to):
            if case is not None:
                cases.append(UnknownSpan(case.day, step.day, case.order))
            case = step if step.unknown else None
    if started is not None:
        placements.append(Placement(started.day, None, started.order))
    if case is not None:
        cases.append(UnknownSpan(case.day, None, case.order))
    return placements, cases


# ---------------------------------------------------------------------------- EHC plans


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """An EHC plan's place in its LA's timeliness figures; no name, no date of birth."""

    #: The plan's own LA code (``la.code``), or None.
    la: str | None
    #: A final plan was issued (request and final dates both known) ...
    issued: bool
    #: ... within 20 weeks of the request; or late with a recorded exception; or late.
    within: bool
    excepted: bool
    late: bool
    #: A live plan (final or amended) with a date its reviews count from.
    tracked: bool
    #: The review is overdue on days in [overdue_from, overdue_until) — the 6-month rule while
    #: the child is under 5 — and on every day from ``overdue_after_5`` (the 12-month rule).
    overdue_from: dt.date | None
    overdue_until: dt.date | None
    overdue_after_5: dt.date | None

    def overdue_on(self, day: dt.date) -> bool:
        under_5 = self.overdue_from is not None and self.overdue_until is not None
        if under_5 and self.overdue_from <= day < self.overdue_until:  # type: ignore[operator]
            return True
        return self.overdue_after_5 is not None and day >= self.overdue_after_5


def _day_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1) if day < dt.date.max else day


def _fifth_birthday(dob: dt.date) -> dt.date:
    """The first day ``age_on`` counts the child as 5 (29 February birthdays included)."""
    day = add_months(dob, 60)  # the same day of the month, or the month's last day
    if day >= dt.date.max - dt.timedelta(days=3):
        return dt.date.max  # a date of birth at the end of the calendar: never 5 in it
    while age_on(dob, day) < 5:
        day = _day_after(day)
    return day


def plan_facts(plan: Mapping[str, Any]) -> PlanFacts:
    """The timeliness facts of one plan (``la.code``, ``status``, ``timeline``, ``child.dateOfBirth``).

    Reviews are due 12 months after the last review (or the final plan), 6 months while the
    child is under 5 (SEND Regulations 2014 reg 18), judged on the day asked about.
    """
    la = plan.get("la")
    code = la.get("code") if isinstance(la, Mapping) else None
    t = plan.get("timeline") if isinstance(plan.get("timeline"), Mapping) else {}
    request, final = parse_date(t.get("requestDate")), parse_date(t.get("finalIssuedDate"))
    issued = bool(request and final)
    within = issued and final - request <= TWENTY_WEEKS  # type: ignore[operator]
    excepted = issued and not within and bool(t.get("exceptions"))
    live = plan.get("status") in ("final", "amended")
    last = (parse_date(t.get("lastReviewDate")) or final) if live else None
    short_from = short_until = long_from = None
    if last is not None:
        long_from = _day_after(add_months(last, 12))
        child = plan.get("child") if isinstance(plan.get("child"), Mapping) else {}
        dob = parse_date(child.get("dateOfBirth"))
        if dob is not None:
            five = _fifth_birthday(dob)
            short_from, short_until = _day_after(add_months(last, 6)), five
            long_from = max(long_from, five)
            if short_from >= short_until:
                short_from = short_until = None
    return PlanFacts(
        la=str(code) if isinstance(code, str) else None,
        issued=issued,
        within=bool(within),
        excepted=excepted,
        late=issued and not within and not excepted,
        tracked=last is not None,
        overdue_from=short_from,
        overdue_until=short_until,
        overdue_after_5=long_from,
    )
