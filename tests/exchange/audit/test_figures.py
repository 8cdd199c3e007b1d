"""sendx.exchange.audit.figures: area filter, movement filters, CSV, and metrics against hand-computed answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendx import validators
from sendx.exchange.audit.figures import (
    CSV_COLUMNS,
    MovementFilter,
    la_metrics,
    movements_csv,
    paginate,
    synthetic_history,
    touches_area,
)
from sendx.schemas import codelist_codes
from sendx.validators.errors import InputError
from sendx.validators.identifiers import upn_check_letter
from sendx.validators.rules import Context

SCHEMA = "https://schemas.sendx.org.uk/movement/v1"


def upn(la: str, n: int) -> str:
    body = f"{la}4001250{n:02d}"
    return upn_check_letter(body) + body


def setting(la: str, name: str, urn: str, type_: str = "mainstream-school") -> dict[str, Any]:
    return {"name": name, "type": type_, "urn": urn, "la": la, "ap": type_ == "alternative-provision"}


A = setting("330", "Acorn Academy", "140001")
B = setting("330", "Beech High School", "140002")
X = setting("330", "Xylem Pupil Referral Unit", "140003", "alternative-provision")
C = setting("331", "Cedar School", "140011")
Y = setting("331", "Yew Tuition Centre", "140012", "alternative-provision")
P1, P2, P3, P4, P5, P6 = (upn("330", 1), upn("330", 2), upn("331", 3), upn("330", 4), upn("330", 5), upn("330", 6))
_n = iter(range(1, 1000))


def ev(type_: str, pupil: str, day: str, frm: dict | None, to: dict | None, **extra: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "eventId": f"EV-{next(_n):03d}",
        "type": type_,
        "pupil": {"upn": pupil},
        "from": frm,
        "to": to,
        "effectiveDate": day,
        "recordedBy": {"participant": "la:test"},
        **extra,
    }


# Six pupils, two LAs.  LA 330: P1 AP 1 Oct → 15 Nov 2025 and back to mainstream (45 days);
# P2 in AP from 10 Oct 2025, still there (92 days to 10 Jan 2026); P4 managed move to LA 331;
# P5 missing education then found; P6 destination unknown, still open.
# LA 331: P3 in AP 1 Nov → 1 Dec 2025 then lost (30 days); plus P4 arriving.
HISTORY = [
    ev("join", P1, "2025-09-01", None, A),
    ev("off-site-direction", P1, "2025-10-01", A, X),
    ev("ap-placement-end", P1, "2025-11-15", X, A, reintegration="mainstream"),
    ev("ap-placement-start", P2, "2025-10-10", B, X, plannedEndDate="2026-02-10"),
    ev("join", P3, "2025-09-01", None, C),
    ev("ap-placement-start", P3, "2025-11-01", C, Y),
    ev("destination-unknown", P3, "2025-12-01", Y, None),
    ev("managed-move", P4, "2025-09-20", A, C),
    ev("child-missing-education", P5, "2025-10-05", B, None),
    ev("join", P5, "2025-12-01", None, A),
    ev("destination-unknown", P6, "2025-12-20", A, None),
]
AS_OF = dt.date(2026, 1, 10)


def test_history_is_valid() -> None:
    for e in HISTORY:
        report = validators.validate(e, context=Context(as_of=AS_OF))
        assert report.valid, (e["eventId"], [i.message for i in report.errors])


def test_touches_area() -> None:
    move = HISTORY[7]  # 330 → 331
    assert touches_area(move, "330") and touches_area(move, "331")
    assert not touches_area(move, "332")
    assert not touches_area(move, "")
    assert touches_area(HISTORY[0], "330") and not touches_area(HISTORY[0], "331")  # from: null
    assert not touches_area({"from": None, "to": None}, "330")
    assert not touches_area({"from": {"name": "x"}, "to": "330"}, "330")  # malformed end is not a match


def test_metrics_la_330_known_answers() -> None:
    m = la_metrics(HISTORY, la_code="330", as_of=AS_OF)
    assert m.movements == 8
    assert [(r.month, r.into_ap, r.out_of_ap) for r in m.ap_by_month] == [("2025-10", 2, 0), ("2025-11", 0, 1)]
    assert (m.into_ap, m.out_of_ap) == (2, 1)
    assert sorted(m.placement_days) == [45, 92]
    assert (m.placements, m.open_placements) == (2, 1)
    assert (m.mean_days_in_ap, m.median_days_in_ap) == (68.5, 68.5)
    assert (m.ap_exits, m.reintegrated_mainstream, m.reintegration_percent) == (1, 1, 100.0)
    assert [(c.upn, c.since, c.days_open) for c in m.unknown_cases] == [(P6, "2025-12-20", 21)]


def test_metrics_la_331_known_answers() -> None:
    m = la_metrics(HISTORY, la_code="331", as_of=AS_OF)
    assert m.movements == 4
    assert [(r.month, r.into_ap, r.out_of_ap) for r in m.ap_by_month] == [("2025-11", 1, 0), ("2025-12", 0, 1)]
    assert m.placement_days == (30,)
    assert (m.mean_days_in_ap, m.median_days_in_ap, m.open_placements) == (30.0, 30.0, 0)
    assert (m.ap_exits, m.reintegrated_mainstream, m.reintegration_percent) == (1, 0, 0.0)
    assert [(c.upn, c.last_setting) for c in m.unknown_cases] == [(P3, "Yew Tuition Centre")]


def test_movements_dated_after_the_as_of_date_have_not_happened_yet() -> None:
    """P2's planned AP end, recorded early, must not count as an exit (or end the placement) today."""
    planned = ev("ap-placement-end", P2, "2026-02-10", X, B, reintegration="mainstream")
    m = la_metrics([*HISTORY, planned], la_code="330", as_of=AS_OF)
    assert (m.movements, m.out_of_ap, m.open_placements) == (8, 1, 1)
    assert sorted(m.placement_days) == [45, 92]
    later = la_metrics([*HISTORY, planned], la_code="330", as_of=dt.date(2026, 3, 1))
    assert (later.movements, later.out_of_ap, later.open_placements) == (9, 2, 0)


def test_a_movement_reported_twice_counts_once() -> None:
    """A CTF sent again under a new envelope logs its leave again, under a new event id: the
    figures are those of the history without the repeats, while a different move of the same
    pupil on the same day (another destination) still counts."""
    repeats = [{**e, "eventId": f"{e['eventId']}-again"} for e in HISTORY]
    for la in ("330", "331"):
        assert la_metrics([*HISTORY, *repeats], la_code=la, as_of=AS_OF) == la_metrics(HISTORY, la_code=la, as_of=AS_OF)
    elsewhere = ev(
        "off-site-direction", P1, "2025-10-01", A, setting("330", "Oak Tuition", "140004", "alternative-provision")
    )
    m = la_metrics([*HISTORY, elsewhere], la_code="330", as_of=AS_OF)
    assert (m.movements, m.into_ap) == (9, 3)


def test_malformed_settings_are_never_taken_for_repeats() -> None:
    odd = ev("leave", P4, "2025-12-02", {**A, "urn": ["140001"]}, None)
    m = la_metrics([*HISTORY, odd, {**odd, "eventId": "EV-odd"}], la_code="330", as_of=AS_OF)
    assert m.movements == 10


def test_metrics_with_no_ap_and_no_data() -> None:
    m = la_metrics(HISTORY, la_code="999", as_of=AS_OF)
    assert m.movements == 0 and m.ap_by_month == () and m.mean_days_in_ap is None
    assert m.reintegration_percent is None and m.within_20_weeks_percent is None


def plan(la: str, status: str, request: str, final: str | None, **timeline: Any) -> dict[str, Any]:
    t = {"requestDate": request, **({"finalIssuedDate": final} if final else {}), **timeline}
    return {"la": {"code": la}, "status": status, "timeline": t, "child": {"dateOfBirth": "2015-05-05"}}


def test_ehcp_timeliness_and_reviews_known_answers() -> None:
    under_five = plan("330", "amended", "2024-09-02", "2025-01-20", lastReviewDate="2025-06-01")
    under_five["child"]["dateOfBirth"] = "2022-03-01"  # 3 on the as-of date: review every 6 months
    plans = [
        plan("330", "final", "2025-01-06", "2025-05-19"),  # 133 days: within
        plan("330", "final", "2025-01-06", "2025-06-30", exceptions=[{"reason": "school-closed"}]),  # late, excepted
        plan("330", "final", "2025-02-03", "2025-08-01"),  # 179 days: late
        plan("330", "final", "2023-09-01", "2024-01-12", lastReviewDate="2024-12-01"),  # within; review overdue
        under_five,  # exactly 140 days: within; 6-month review overdue (12 months would not be)
        plan("330", "draft", "2025-11-03", None),  # not issued, not reviewed
        plan("331", "final", "2025-01-06", "2025-02-01", lastReviewDate="2024-01-01"),  # another LA's
    ]
    m = la_metrics([], la_code="330", as_of=AS_OF, ehcps=plans, lost_ctfs_waiting=4)
    assert (m.ehcp_issued, m.ehcp_within_20_weeks, m.ehcp_late_excepted, m.ehcp_late) == (5, 3, 1, 1)
    assert m.within_20_weeks_percent == 60.0
    assert m.within_20_weeks_excluding_exceptions_percent == 75.0
    assert (m.reviews_tracked, m.reviews_overdue) == (5, 2)
    assert m.lost_ctfs_waiting == 4
    assert m.to_dict()["ehcp"]["reviewsOverdue"] == 2


def test_metrics_json_shape() -> None:
    d = la_metrics(HISTORY, la_code="330", as_of=AS_OF).to_dict()
    assert d["ap"]["byMonth"] == [
        {"month": "2025-10", "into": 2, "outOf": 0},
        {"month": "2025-11", "into": 0, "outOf": 1},
    ]
    assert d["unknownDestinations"]["open"] == 1
    assert d["asOf"] == "2026-01-10"


# --- synthetic history: generated with its answers ---


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_history_metrics_equal_expected(seed: int) -> None:
    h = synthetic_history(seed, 120, las=("330", "331", "332"))
    for la, x in h.expected.items():
        m = la_metrics(h.events, la_code=la, as_of=h.as_of)
        assert m.movements == x["movements"]
        assert (m.into_ap, m.out_of_ap) == (x["into"], x["outOf"])
        assert {r.month: r.into_ap for r in m.ap_by_month if r.into_ap} == x["intoByMonth"]
        assert {r.month: r.out_of_ap for r in m.ap_by_month if r.out_of_ap} == x["outByMonth"]
        assert sorted(m.placement_days) == x["placementDays"]
        assert m.open_placements == x["openPlacements"]
        assert (m.ap_exits, m.reintegrated_mainstream) == (x["exits"], x["reintegratedMainstream"])
        assert m.unknown_open == x["unknownOpen"]


def test_synthetic_history_is_reproducible_and_valid() -> None:
    a, b = synthetic_history(5, 40), synthetic_history(5, 40)
    assert a.events == b.events and a.expected == b.expected
    assert len({e["eventId"] for e in a.events}) == len(a.events)
    ctx = Context(as_of=a.as_of)
    for e in a.events:
        assert validators.validate(e, context=ctx).issues == [], e["eventId"]


# --- filters ---


def test_filter_parsing_and_matching() -> None:
    flt = MovementFilter.from_query("330", {"from": "2025-10-01", "to": "2025-11-30", "ap": "1"})
    assert [e["eventId"] for e in flt.apply(HISTORY)] == ["EV-003", "EV-004", "EV-002"]  # newest first
    flt = MovementFilter.from_query("330", {"unknown": "1"})
    assert {e["type"] for e in flt.apply(HISTORY)} == {"destination-unknown", "child-missing-education"}
    assert [e["pupil"]["upn"] for e in MovementFilter.from_query("331", {"unknown": "1"}).apply(HISTORY)] == [P3]
    assert len(MovementFilter.from_query("330", {"type": ["join", "managed-move"]}).apply(HISTORY)) == 3
    assert len(MovementFilter.from_query("330", {"setting": "xylem"}).apply(HISTORY)) == 3
    assert len(MovementFilter.from_query("330", {"setting": "140002"}).apply(HISTORY)) == 2
    assert len(MovementFilter.from_query("330", {"settingType": "alternative-provision"}).apply(HISTORY)) == 3


def test_filter_round_trips_through_its_query() -> None:
    q = {"from": "2025-10-01", "type": ["join", "leave"], "setting": "A&B", "ap": "1", "unknown": "0"}
    flt = MovementFilter.from_query("330", q)
    from urllib.parse import parse_qs

    again = MovementFilter.from_query("330", parse_qs(flt.query_string()))
    assert again == flt
    assert "la" not in dict(flt.to_query())


class _MultiDict(dict):
    def getlist(self, key: str) -> list[str]:
        v = self.get(key, [])
        return list(v) if isinstance(v, list) else [v]


def test_filter_accepts_a_multidict() -> None:
    flt = MovementFilter.from_query("330", _MultiDict(type=["join", "leave"]))
    assert flt.types == {"join", "leave"}


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ({"from": "01/10/2025"}, "from"),
        ({"to": "2025-13-01"}, "to"),
        ({"type": "teleport"}, "type"),
        ({"settingType": "castle"}, "settingType"),
        ({"ap": "maybe"}, "ap"),
        ({"from": "2025-12-01", "to": "2025-01-01"}, "from"),
    ],
)
def test_bad_filter_arguments_are_named(args: dict, where: str) -> None:
    with pytest.raises(InputError) as err:
        MovementFilter.from_query("330", args)
    assert err.value.where == where


def test_filter_needs_an_la() -> None:
    with pytest.raises(InputError):
        MovementFilter.from_query("", {})


def test_paginate() -> None:
    items = [{"i": n} for n in range(7)]
    p = paginate(items, "2", per_page=3)
    assert [x["i"] for x in p.items] == [3, 4, 5] and (p.number, p.count, p.first_index, p.last_index) == (2, 3, 4, 6)
    assert paginate(items, 99, per_page=3).number == 3
    assert paginate([], 1).count == 1 and paginate([], 1).first_index == 0
    with pytest.raises(InputError):
        paginate(items, "two")


# --- the area filter never leaks another LA's movement ---

_las = st.sampled_from(["330", "331", "332"])
_queries = st.fixed_dictionaries(
    {},
    optional={
        "from": st.dates(dt.date(2025, 8, 1), dt.date(2026, 6, 1)).map(str),
        "type": st.lists(st.sampled_from(sorted(codelist_codes("movement-types"))), max_size=3),
        "ap": st.sampled_from(["0", "1"]),
        "unknown": st.sampled_from(["0", "1"]),
        "setting": st.sampled_from(["Oak", "Willow", "133001", "Referral", "School"]),
        "settingType": st.sampled_from(sorted(codelist_codes("setting-types"))),
    },
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), la=_las, query=_queries)
def test_area_filter_never_leaks_other_areas(seed: int, la: str, query: dict) -> None:
    h = synthetic_history(seed, 30, las=("330", "331", "332"))
    shown = MovementFilter.from_query(la, query).apply(h.events)
    assert all(touches_area(e, la) for e in shown)
    rows = list(csv.DictReader(io.StringIO(movements_csv(shown))))
    assert len(rows) == len(shown)
    assert all(la in (r["fromLa"], r["toLa"]) for r in rows)
    # And nothing of the area is lost: unfiltered, the page holds every event touching it.
    assert len(MovementFilter(la=la).apply(h.events)) == sum(touches_area(e, la) for e in h.events)


# --- CSV ---


def test_csv_header_order_and_crlf() -> None:
    text = movements_csv(HISTORY[:2])
    lines = text.split("\r\n")
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[-1] == "" and len(lines) == 4
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["eventId"] == "EV-001" and row["upn"] == P1 and row["toUrn"] == "140001" and row["toAp"] == "false"
    assert row["fromName"] == "" and row["recordedBy"] == "la:test"


def test_csv_is_exactly_the_given_list_in_order() -> None:
    chosen = [HISTORY[5], HISTORY[0]]
    rows = list(csv.DictReader(io.StringIO(movements_csv(chosen))))
    assert [r["eventId"] for r in rows] == [HISTORY[5]["eventId"], HISTORY[0]["eventId"]]


def test_csv_quoting_round_trips() -> None:
    tricky = ev("join", P1, "2025-09-01", None, {**A, "name": 'Oak, "The" Academy\nAnnexe'}, reason="a,b")
    row = next(csv.DictReader(io.StringIO(movements_csv([tricky]))))
    assert row["toName"] == 'Oak, "The" Academy\nAnnexe' and row["reason"] == "a,b"


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_formula_injection_is_neutralised(payload: str) -> None:
    bad = ev("join", P1, "2025-09-01", None, {**A, "name": payload}, reason=payload)
    row = next(csv.DictReader(io.StringIO(movements_csv([bad]))))
    assert row["toName"] == "'" + payload and row["reason"] == "'" + payload
