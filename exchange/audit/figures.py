"""Movement history → an LA's oversight figures, filtered views and CSV (adapt step, LA side).

The hub stores movement events (``schemas/movement``) and EHC plans; an LA asks what happened
in its area.  This module holds the logic the LA pages, the CSV export and ``sendx movements``
share, so they cannot disagree:

- ``touches_area``: the one definition of "this movement is the LA's business" (its ``from``
  or ``to`` setting is in the LA).  Every view here filters through it first, so another
  area's movement never reaches a page or a file.
- ``MovementFilter``: query arguments (dates, types, setting, AP only, unknown destinations)
  parsed once and applied identically to the timeline page and the CSV.
- ``la_metrics``: AP in/out per month, time in AP, reintegration into mainstream, open
  unknown-destination cases, lost-pupil CTFs waiting, EHCPs issued within 20 weeks and
  reviews overdue (same date arithmetic as the EHCP rules, ``validators.dates``).
- ``movements_csv`` / ``movements_csv_lines``: RFC 4180 CSV of exactly the movements given,
  safe to open in a spreadsheet, whole or streamed a line at a time.
- ``synthetic_history``: a seeded, schema-valid history with the answers it was built to
  have, for the demo, the browser tests and benchmarks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlencode

from sendx.exchange.audit.facts import (
    MAINSTREAM_TYPES,
    UNKNOWN_DESTINATION,
    MovementFacts,
    PlanFacts,
    Step,
    ap_flow,
    movement_facts,
    plan_facts,
    pupil_spans,
    setting_end,
)
from sendx.schemas import codelist_codes, schema_id
from sendx.validators.dates import parse_date
from sendx.validators.errors import InputError
from sendx.validators.identifiers import upn_check_letter

__all__ = [
    "CSV_COLUMNS",
    "MAINSTREAM_TYPES",
    "UNKNOWN_DESTINATION",
    "DayCount",
    "EhcpCounts",
    "LaMetrics",
    "MovementFilter",
    "Page",
    "SyntheticHistory",
    "UnknownCase",
    "assemble_metrics",
    "is_into_ap",
    "is_out_of_ap",
    "la_metrics",
    "movements_csv",
    "movements_csv_lines",
    "paginate",
    "synthetic_history",
    "touches_area",
    "unknown_case",
]


def touches_area(event: Mapping[str, Any], la_code: str) -> bool:
    """True when the movement's ``from`` or ``to`` setting is in LA ``la_code``.

    The only test of area membership in sendx: a movement with neither end in the area
    (or an empty ``la_code``) is never the LA's.
    """
    if not la_code:
        return False
    frm, to = setting_end(event, "from"), setting_end(event, "to")
    return (frm is not None and frm.get("la") == la_code) or (to is not None and to.get("la") == la_code)


def _is_ap(end: Mapping[str, Any] | None) -> bool:
    return end is not None and end.get("ap") is True


def is_into_ap(event: Mapping[str, Any]) -> bool:
    """The pupil enters alternative provision from outside it (AP → AP moves are neither in nor out)."""
    return ap_flow(event) == 1


def is_out_of_ap(event: Mapping[str, Any]) -> bool:
    """The pupil leaves alternative provision for somewhere that is not AP (or for no known setting)."""
    return ap_flow(event) == -1


def _upn(event: Mapping[str, Any]) -> str:
    pupil = event.get("pupil")
    return str(pupil.get("upn", "")) if isinstance(pupil, Mapping) else ""


def _ordered(events: Iterable[Mapping[str, Any]]) -> list[tuple[dt.date, int, Mapping[str, Any]]]:
    """Events with a parseable date, oldest first; ties keep the order they were recorded in."""
    out = []
    for n, e in enumerate(events):
        day = parse_date(e.get("effectiveDate"))
        if day is not None:
            out.append((day, n, e))
    out.sort()  # by (day, n): n is unique, so the events themselves are never compared
    return out


# ---------------------------------------------------------------------------- filtering


def _getlist(args: Mapping[str, Any], key: str) -> list[str]:
    """Values of a query argument from a plain dict (str or list) or a werkzeug MultiDict."""
    getlist = getattr(args, "getlist", None)
    if callable(getlist):
        values = getlist(key)
    else:
        raw = args.get(key)
        values = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)
    return [str(v).strip() for v in values if str(v).strip()]


def _one(args: Mapping[str, Any], key: str) -> str:
    values = _getlist(args, key)
    return values[0] if values else ""


def _flag(args: Mapping[str, Any], key: str) -> bool:
    value = _one(args, key).lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise InputError(f"{key!r} must be 1 or 0, not {value!r}", where=key)


def _date_arg(args: Mapping[str, Any], key: str) -> dt.date | None:
    value = _one(args, key)
    if not value:
        return None
    day = parse_date(value)
    if day is None:
        raise InputError(f"{key!r} must be a date written YYYY-MM-DD, not {value!r}", where=key)
    return day


@dataclass(frozen=True)
class MovementFilter:
    """What an LA asked to see.  ``la`` comes from who is signed in, never from the query.

    Query arguments: ``from`` / ``to`` (dates, inclusive), ``type`` (repeatable movement
    type), ``setting`` (URN, UKPRN or LAESTAB, or part of a setting's name), ``settingType``
    (setting-types code), ``ap=1`` (only movements into, out of or between AP), ``unknown=1``
    (only destination-unknown and child-missing-education events).
    """

    la: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    types: frozenset[str] = frozenset()
    setting: str = ""
    setting_type: str = ""
    ap_only: bool = False
    unknown_only: bool = False

    @classmethod
    def from_query(cls, la: str, args: Mapping[str, Any]) -> MovementFilter:
        """Parse query arguments; ``InputError`` names the argument that is wrong."""
        if not la:
            raise InputError("an LA code is needed to filter movements by area")
        types = frozenset(_getlist(args, "type"))
        unknown = sorted(types - codelist_codes("movement-types"))
        if unknown:
            raise InputError(f"unknown movement type {unknown[0]!r}", where="type")
        setting_type = _one(args, "settingType")
        if setting_type and setting_type not in codelist_codes("setting-types"):
            raise InputError(f"unknown setting type {setting_type!r}", where="settingType")
        flt = cls(
            la=la,
            date_from=_date_arg(args, "from"),
            date_to=_date_arg(args, "to"),
            types=types,
            setting=_one(args, "setting")[:200],
            setting_type=setting_type,
            ap_only=_flag(args, "ap"),
            unknown_only=_flag(args, "unknown"),
        )
        if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
            raise InputError(f"'from' ({flt.date_from}) is after 'to' ({flt.date_to})", where="from")
        return flt

    def to_query(self) -> list[tuple[str, str]]:
        """The filter as query arguments (without the LA, which the server supplies)."""
        q: list[tuple[str, str]] = []
        if self.date_from:
            q.append(("from", self.date_from.isoformat()))
        if self.date_to:
            q.append(("to", self.date_to.isoformat()))
        q.extend(("type", t) for t in sorted(self.types))
        if self.setting:
            q.append(("setting", self.setting))
        if self.setting_type:
            q.append(("settingType", self.setting_type))
        if self.ap_only:
            q.append(("ap", "1"))
        if self.unknown_only:
            q.append(("unknown", "1"))
        return q

    def query_string(self) -> str:
        return urlencode(self.to_query())

    @property
    def active(self) -> bool:
        """True when anything beyond the area is being filtered on."""
        return bool(self.to_query())

    def matches(self, event: Mapping[str, Any]) -> bool:
        if not touches_area(event, self.la):
            return False
        day = parse_date(event.get("effectiveDate"))
        if (self.date_from or self.date_to) and day is None:
            return False
        if self.date_from and day and day < self.date_from:
            return False
        if self.date_to and day and day > self.date_to:
            return False
        if self.types and event.get("type") not in self.types:
            return False
        ends = [e for e in (setting_end(event, "from"), setting_end(event, "to")) if e is not None]
        if self.ap_only and not any(_is_ap(e) for e in ends):
            return False
        if self.unknown_only and event.get("type") not in UNKNOWN_DESTINATION:
            return False
        if self.setting_type and not any(e.get("type") == self.setting_type for e in ends):
            return False
        return not self.setting or any(_setting_matches(e, self.setting) for e in ends)

    def apply(self, events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """Matching movements, newest first (ties: most recently recorded first)."""
        kept = [(t[0], t[1], t[2]) for t in _ordered(events) if self.matches(t[2])]
        return [e for _, _, e in reversed(kept)]


def _setting_matches(end: Mapping[str, Any], needle: str) -> bool:
    if any(str(end.get(k, "")) == needle for k in ("urn", "ukprn", "laestab")):
        return True
    return needle.casefold() in str(end.get("name", "")).casefold()


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items`` plus where it sits (1-based ``number`` of ``count`` pages)."""

    items: Sequence[Mapping[str, Any]]
    number: int
    count: int
    total: int
    per_page: int

    @property
    def first_index(self) -> int:
        return 0 if not self.total else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def paginate(items: Sequence[Mapping[str, Any]], page: object, per_page: int = 50) -> Page:
    """Page ``page`` (1-based; out-of-range numbers are clamped) of ``items``."""
    if per_page < 1:
        raise InputError("per_page must be at least 1")
    try:
        number = int(str(page or 1))
    except ValueError:
        raise InputError(f"'page' must be a whole number, not {page!r}", where="page") from None
    count = max(1, -(-len(items) // per_page))
    number = min(max(number, 1), count)
    start = (number - 1) * per_page
    return Page(items[start : start + per_page], number, count, len(items), per_page)


# ---------------------------------------------------------------------------- CSV

#: The CSV header, in order.  Stable: spreadsheets and scripts key on these names.
CSV_COLUMNS = (
    "eventId",
    "type",
    "effectiveDate",
    "plannedEndDate",
    "upn",
    "fromName",
    "fromType",
    "fromUrn",
    "fromUkprn",
    "fromLaestab",
    "fromLa",
    "fromAp",
    "toName",
    "toType",
    "toUrn",
    "toUkprn",
    "toLaestab",
    "toLa",
    "toAp",
    "reason",
    "reintegration",
    "recordedBy",
    "recordedByRole",
    "recordedAt",
    "logIndex",
    "damaged",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet would run a cell starting like a formula (CSV injection); a leading
    # apostrophe makes it text and is not shown.
    return "'" + text if text.startswith(_FORMULA_START) else text


def _row(event: Mapping[str, Any]) -> list[str]:
    rec = event.get("recordedBy") if isinstance(event.get("recordedBy"), Mapping) else {}
    values: list[object] = [
        event.get("eventId"),
        event.get("type"),
        event.get("effectiveDate"),
        event.get("plannedEndDate"),
        _upn(event),
    ]
    for which in ("from", "to"):
        end = setting_end(event, which) or {}
        values += [end.get(k) for k in ("name", "type", "urn", "ukprn", "laestab", "la", "ap")]
    values += [event.get("reason"), event.get("reintegration"), rec.get("participant"), rec.get("role")]
    # The hub's: where the movement is in the log, and, for a row it could not open, why.
    values += [event.get("recordedAt"), event.get("logIndex"), event.get("problem") if event.get("damaged") else None]
    return [_cell(v) for v in values]


def movements_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """Exactly ``events``, in the order given, as RFC 4180 CSV (CRLF line ends, header first).

    Includes the pupil's UPN: the LA is entitled to its own area's records, and callers
    must pass only movements that passed ``touches_area`` for the reader's LA.
    """
    return "".join(movements_csv_lines(events))


def movements_csv_lines(events: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """``movements_csv`` a line at a time (the header first), for a response or file written
    as the events are read: memory stays that of one line."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in itertools.chain([CSV_COLUMNS], map(_row, events)):
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


# ---------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MonthCount:
    month: str  # YYYY-MM
    into_ap: int
    out_of_ap: int


class DayCount(NamedTuple):
    """What one day's movements in an area add to its figures (each movement counted once)."""

    day: dt.date
    movements: int
    into_ap: int
    out_of_ap: int
    reintegrated: int


class EhcpCounts(NamedTuple):
    """An LA's EHC plan timeliness on a day: issued (within 20 weeks, late with an exception,
    late) and live plans tracked for review (overdue)."""

    issued: int = 0
    within: int = 0
    excepted: int = 0
    late: int = 0
    tracked: int = 0
    overdue: int = 0

    @classmethod
    def of(cls, plans: Iterable[PlanFacts], la_code: str, as_of: dt.date) -> EhcpCounts:
        mine = [p for p in plans if p.la == la_code]
        return cls(
            issued=sum(p.issued for p in mine),
            within=sum(p.within for p in mine),
            excepted=sum(p.excepted for p in mine),
            late=sum(p.late for p in mine),
            tracked=sum(p.tracked for p in mine),
            overdue=sum(p.overdue_on(as_of) for p in mine),
        )


@dataclass(frozen=True)
class UnknownCase:
    upn: str
    event_id: str
    type: str
    since: str
    days_open: int
    last_setting: str


@dataclass(frozen=True)
class LaMetrics:
    """An LA's oversight figures on ``as_of``; ``to_dict`` is the dashboard metrics JSON.

    ``placement_lengths``: (days in AP, placements) pairs, shortest first — open placements
    measured to ``as_of``.  ``unknown_cases``: the oldest open unknown-destination cases
    (all of them, or the first a view asked for); ``unknown_open`` counts every one.
    """

    la: str
    as_of: dt.date
    movements: int
    ap_by_month: tuple[MonthCount, ...]
    placements: int
    open_placements: int
    placement_lengths: tuple[tuple[int, int], ...]
    ap_exits: int
    reintegrated_mainstream: int
    unknown_open: int
    unknown_cases: tuple[UnknownCase, ...]
    lost_ctfs_waiting: int
    ehcp_issued: int
    ehcp_within_20_weeks: int
    ehcp_late_excepted: int
    ehcp_late: int
    reviews_tracked: int
    reviews_overdue: int

    @property
    def into_ap(self) -> int:
        return sum(m.into_ap for m in self.ap_by_month)

    @property
    def out_of_ap(self) -> int:
        return sum(m.out_of_ap for m in self.ap_by_month)

    @property
    def placement_days(self) -> tuple[int, ...]:
        """Every placement's days in AP, shortest first."""
        return tuple(days for days, n in self.placement_lengths for _ in range(n))

    def placements_between(self, lowest: int, highest: int | None) -> int:
        """Placements of ``lowest`` to ``highest`` days (no upper bound when None)."""
        return sum(n for days, n in self.placement_lengths if days >= lowest and (highest is None or days <= highest))

    @property
    def mean_days_in_ap(self) -> float | None:
        if not self.placements:
            return None
        return round(sum(days * n for days, n in self.placement_lengths) / self.placements, 1)

    @property
    def median_days_in_ap(self) -> float | None:
        if not self.placements:
            return None
        middle = (self.placements - 1) // 2, self.placements // 2
        found: list[int] = []
        seen = 0
        for days, n in self.placement_lengths:
            found += [days for k in middle if seen <= k < seen + n]
            seen += n
        return (found[0] + found[1]) / 2

    @property
    def reintegration_percent(self) -> float | None:
        return _percent(self.reintegrated_mainstream, self.ap_exits)

    @property
    def within_20_weeks_percent(self) -> float | None:
        """Share of plans issued within 20 weeks, all plans counted (as DfE SEN2 reports it)."""
        return _percent(self.ehcp_within_20_weeks, self.ehcp_issued)

    @property
    def within_20_weeks_excluding_exceptions_percent(self) -> float | None:
        return _percent(self.ehcp_within_20_weeks, self.ehcp_issued - self.ehcp_late_excepted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "la": self.la,
            "asOf": self.as_of.isoformat(),
            "movements": self.movements,
            "ap": {
                "byMonth": [{"month": m.month, "into": m.into_ap, "outOf": m.out_of_ap} for m in self.ap_by_month],
                "into": self.into_ap,
                "outOf": self.out_of_ap,
                "placements": self.placements,
                "openPlacements": self.open_placements,
                "meanDays": self.mean_days_in_ap,
                "medianDays": self.median_days_in_ap,
                "exits": self.ap_exits,
                "reintegratedMainstream": self.reintegrated_mainstream,
                "reintegrationPercent": self.reintegration_percent,
            },
            "unknownDestinations": {
                "open": self.unknown_open,
                "cases": [
                    {k: v for k, v in asdict(c).items() if k != "upn"} | {"upn": c.upn} for c in self.unknown_cases
                ],
            },
            "lostPupilCtfsWaiting": self.lost_ctfs_waiting,
            "ehcp": {
                "issued": self.ehcp_issued,
                "within20Weeks": self.ehcp_within_20_weeks,
                "lateExcepted": self.ehcp_late_excepted,
                "late": self.ehcp_late,
                "within20WeeksPercent": self.within_20_weeks_percent,
                "within20WeeksExcludingExceptionsPercent": self.within_20_weeks_excluding_exceptions_percent,
                "reviewsTracked": self.reviews_tracked,
                "reviewsOverdue": self.reviews_overdue,
            },
        }


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole > 0 else None


def _months(first: dt.date, last: dt.date) -> list[str]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def assemble_metrics(
    *,
    la_code: str,
    as_of: dt.date,
    days: Iterable[DayCount],
    placement_lengths: Mapping[int, int],
    open_placements: int,
    unknown_open: int,
    unknown_cases: Iterable[UnknownCase],
    ehcp: EhcpCounts,
    lost_ctfs_waiting: int,
) -> LaMetrics:
    """An LA's figures on ``as_of`` from its day counts up to that day, its placements'
    lengths, its open unknown-destination cases and its plans' counts — however they were kept.

    AP moves are listed by month for every month between the first and the last (zeros
    included), so charts have no gaps.
    """
    into: Counter[str] = Counter()
    out: Counter[str] = Counter()
    movements = exits = reintegrated = 0
    ap_days: list[dt.date] = []
    for d in days:
        movements += d.movements
        if d.into_ap or d.out_of_ap:
            month = f"{d.day.year:04d}-{d.day.month:02d}"
            into[month] += d.into_ap
            out[month] += d.out_of_ap
            exits += d.out_of_ap
            reintegrated += d.reintegrated
            ap_days.append(d.day)
    months = _months(min(ap_days), max(ap_days)) if ap_days else []
    lengths = tuple(sorted((days, n) for days, n in placement_lengths.items() if n > 0))
    return LaMetrics(
        la=la_code,
        as_of=as_of,
        movements=movements,
        ap_by_month=tuple(MonthCount(m, into[m], out[m]) for m in months),
        placements=sum(n for _, n in lengths),
        open_placements=open_placements,
        placement_lengths=lengths,
        ap_exits=exits,
        reintegrated_mainstream=reintegrated,
        unknown_open=unknown_open,
        unknown_cases=tuple(unknown_cases),
        lost_ctfs_waiting=int(lost_ctfs_waiting),
        ehcp_issued=ehcp.issued,
        ehcp_within_20_weeks=ehcp.within,
        ehcp_late_excepted=ehcp.excepted,
        ehcp_late=ehcp.late,
        reviews_tracked=ehcp.tracked,
        reviews_overdue=ehcp.overdue,
    )


def la_metrics(
    events: Iterable[Mapping[str, Any]],
    *,
    la_code: str,
    as_of: dt.date,
    ehcps: Iterable[Mapping[str, Any]] = (),
    lost_ctfs_waiting: int = 0,
) -> LaMetrics:
    """The LA's figures on ``as_of`` from a movement history in memory (events outside the
    area, or dated after ``as_of``, are ignored; a movement reported more than once counts once).

    - AP in/out: movements into AP from outside it, and out of AP to anything that is not AP,
      counted by the month of ``effectiveDate``.
    - Time in AP: per pupil, a placement runs from entering AP to the next exit from AP
      (moves between AP settings continue it); open placements are measured to ``as_of``.
    - Reintegration: AP exits whose ``reintegration`` is ``mainstream`` or whose destination
      is a mainstream school or resourced provision.
    - Unknown destinations open: pupils whose latest destination-unknown or
      child-missing-education event has no later event naming a setting they joined.
    - EHCPs (records with ``la.code == la_code``; ``status``, ``timeline`` and optionally
      ``child.dateOfBirth``): final plans issued within 20 weeks of the request, late ones
      with a recorded exception, late ones without; live plans whose review is overdue
      (12 months after the last review or the final plan, 6 months for a child under 5).

    The rules are those of ``facts``, which the hub applies to its store as movements arrive.
    """
    mine: list[tuple[dt.date, int, Mapping[str, Any], MovementFacts]] = []
    for n, e in enumerate(events):
        f = movement_facts(e)
        if f.day is not None and la_code in f.las:
            mine.append((f.day, n, e, f))
    mine.sort(key=lambda t: (t[0], t[1]))  # by date; ties in the order they were recorded
    said: set[tuple[Any, ...]] = set()
    days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    steps: dict[str, list[Step]] = defaultdict(list)
    by_order: dict[int, Mapping[str, Any]] = {}
    for day, n, e, f in mine:
        if f.said is not None:
            # The same move can reach the hub twice under different event ids (a CTF sent
            # again under a new envelope logs its leave again): the log keeps both, the
            # figures count the first.
            if f.said in said:
                continue
            said.add(f.said)
        if day <= as_of:
            counts = days[day]
            counts[0] += 1
            counts[1] += f.flow > 0
            counts[2] += f.flow < 0
            counts[3] += f.reintegrated
        steps[_upn(e)].append(Step(day, n, f.flow, f.unknown, f.has_to))
        by_order[n] = e
    lengths: Counter[int] = Counter()
    open_placements = 0
    cases = []
    for upn, history in steps.items():
        placements, spans = pupil_spans(history)
        for p in placements:
            on = p.on(as_of)
            if on is not None:
                lengths[on[0]] += 1
                open_placements += on[1]
        for span in spans:
            if span.open_on(as_of):
                e = by_order[span.order]
                cases.append(unknown_case(e, upn, span.since, as_of))
    cases.sort(key=lambda c: (c.since, c.event_id))
    return assemble_metrics(
        la_code=la_code,
        as_of=as_of,
        days=[DayCount(day, *c) for day, c in days.items()],
        placement_lengths=lengths,
        open_placements=open_placements,
        unknown_open=len(cases),
        unknown_cases=cases,
        ehcp=EhcpCounts.of((plan_facts(p) for p in ehcps), la_code, as_of),
        lost_ctfs_waiting=lost_ctfs_waiting,
    )


def unknown_case(event: Mapping[str, Any], upn: str, since: dt.date, as_of: dt.date) -> UnknownCase:
    """An open unknown-destination case as the dashboard lists it, from the event that opened it."""
    frm = setting_end(event, "from")
    return UnknownCase(
        upn=upn,
        event_id=str(event.get("eventId", "")),
        type=str(event.get("type")),
        since=since.isoformat(),
        days_open=max(0, (as_of - since).days),
        last_setting=str(frm.get("name", "")) if frm else "",
    )


# ---------------------------------------------------------------------------- synthetic data


@dataclass
class _Truth:
    """What the generator built for one LA, recorded as it built it (not derived from events)."""

    movements: int = 0
    into_by_month: Counter[str] = field(default_factory=Counter)
    out_by_month: Counter[str] = field(default_factory=Counter)
    placement_days: list[int] = field(default_factory=list)
    open_placements: int = 0
    ap_exits: int = 0
    reintegrated_mainstream: int = 0
    unknown_open: int = 0


@dataclass(frozen=True)
class SyntheticHistory:
    """Schema-valid synthetic movements and, per LA, the figures they were built to produce."""

    events: list[dict[str, Any]]
    as_of: dt.date
    expected: dict[str, dict[str, Any]]


_SCENARIOS = ("stay", "ap-return", "ap-special", "ap-open", "ap-lost", "lost", "cme-found", "move-la")
_FIRST_NAMES = ("Oak", "Willow", "Ash", "Rowan", "Hazel", "Elm", "Birch", "Cedar")


def _settings(la: str, k: int) -> dict[str, dict[str, Any]]:
    base = 100000 + int(la) * 100 + k * 10
    stem = _FIRST_NAMES[k % len(_FIRST_NAMES)]
    return {
        "main1": {"name": f"{stem} Primary Academy", "type": "mainstream-school", "urn": str(base + 1)},
        "main2": {"name": f"{stem} Park High School", "type": "mainstream-school", "urn": str(base + 2)},
        "special": {"name": f"{stem} Bank Special School", "type": "special-school", "urn": str(base + 3)},
        "ap": {"name": f"{stem} Lane Pupil Referral Unit", "type": "alternative-provision", "urn": str(base + 4)},
    }


def synthetic_history(
    seed: int,
    n_pupils: int,
    las: Sequence[str] = ("330", "331"),
    *,
    start: dt.date = dt.date(2025, 9, 1),
) -> SyntheticHistory:
    """A reproducible movement history of ``n_pupils`` synthetic pupils spread over ``las``.

    Each pupil follows one scenario (stays put; AP and back to mainstream; AP then special
    school; still in AP; AP then lost; lost; missing then found; managed move to another LA).
    ``expected[la]`` holds the figures ``la_metrics`` should report for that LA on ``as_of``
    (= ``start`` + 400 days), tallied while generating.
    """
    if not las:
        raise InputError("synthetic_history needs at least one LA code")
    rng = random.Random(seed)
    as_of = start + dt.timedelta(days=400)
    settings = {la: _settings(la, k) for k, la in enumerate(las)}
    truth = {la: _Truth() for la in las}
    events: list[dict[str, Any]] = []
    ids = iter(range(1, 10**9))
    schema = schema_id("movement")

    def end(la: str, key: str) -> dict[str, Any]:
        s = settings[la][key]
        return {**s, "la": la, "ap": key == "ap"}

    def emit(upn: str, type_: str, day: dt.date, frm: dict | None, to: dict | None, **extra: Any) -> None:
        e: dict[str, Any] = {
            "$schema": schema,
            "eventId": f"SYN-{seed}-{next(ids):06d}",
            "type": type_,
            "pupil": {"upn": upn},
            "from": frm,
            "to": to,
            "effectiveDate": day.isoformat(),
            "recordedBy": {"participant": f"la:{(frm or to or {}).get('la', las[0])}", "role": "data manager"},
        }
        e.update(extra)
        events.append(e)
        for la in {x["la"] for x in (frm, to) if x}:
            truth[la].movements += 1

    for i in range(n_pupils):
        la = las[i % len(las)]
        t = truth[la]
        body = f"{la}{1000 + (i // 1000) % 9000:04d}25{i % 1000:03d}"
        upn = upn_check_letter(body) + body
        scenario = rng.choice(_SCENARIOS)
        school = rng.choice(("main1", "main2"))
        d0 = start + dt.timedelta(days=rng.randrange(0, 60))
        emit(upn, "join", d0, None, end(la, school))
        d1 = d0 + dt.timedelta(days=rng.randrange(20, 120))
        length = rng.randrange(10, 150)
        d2 = d1 + dt.timedelta(days=length)
        if scenario.startswith("ap-"):
            how = rng.choice(("ap-placement-start", "off-site-direction"))
            emit(upn, how, d1, end(la, school), end(la, "ap"), plannedEndDate=d2.isoformat(), reason="Placement")
            t.into_by_month[d1.strftime("%Y-%m")] += 1
        if scenario == "ap-return":
            emit(upn, "ap-placement-end", d2, end(la, "ap"), end(la, school), reintegration="mainstream")
        elif scenario == "ap-special":
            emit(upn, "ap-placement-end", d2, end(la, "ap"), end(la, "special"), reintegration="special")
        elif scenario == "ap-lost":
            emit(upn, "destination-unknown", d2, end(la, "ap"), None, reason="Stopped attending")
            t.unknown_open += 1
        if scenario in ("ap-return", "ap-special", "ap-lost"):
            t.out_by_month[d2.strftime("%Y-%m")] += 1
            t.placement_days.append(length)
            t.ap_exits += 1
            t.reintegrated_mainstream += scenario == "ap-return"
        elif scenario == "ap-open":
            t.placement_days.append((as_of - d1).days)
            t.open_placements += 1
        elif scenario == "lost":
            emit(upn, "destination-unknown", d1, end(la, school), None, reason="No forwarding school")
            t.unknown_open += 1
        elif scenario == "cme-found":
            emit(upn, "child-missing-education", d1, end(la, school), None)
            emit(upn, "join", d2, None, end(la, "main2" if school == "main1" else "main1"))
        elif scenario == "move-la" and len(las) > 1:
            other = las[(las.index(la) + 1) % len(las)]
            emit(upn, "managed-move", d1, end(la, school), end(other, "main2"), reason="Managed move")

    expected = {}
    for la, t in truth.items():
        months = sorted(set(t.into_by_month) | set(t.out_by_month))
        expected[la] = {
            "movements": t.movements,
            "into": sum(t.into_by_month.values()),
            "outOf": sum(t.out_by_month.values()),
            "intoByMonth": dict(sorted(t.into_by_month.items())),
            "outByMonth": dict(sorted(t.out_by_month.items())),
            "firstMonth": months[0] if months else None,
            "lastMonth": months[-1] if months else None,
            "placements": len(t.placement_days),
            "openPlacements": t.open_placements,
            "placementDays": sorted(t.placement_days),
            "exits": t.ap_exits,
            "reintegratedMainstream": t.reintegrated_mainstream,
            "unknownOpen": t.unknown_open,
        }
    return SyntheticHistory(events=events, as_of=as_of, expected=expected)
