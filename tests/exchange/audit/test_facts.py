"""sendx.exchange.audit.facts: movement facts, pupil spans and plan review dates."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from sendx.exchange.audit.facts import Placement, Step, UnknownSpan, movement_facts, plan_facts, pupil_spans
from sendx.exchange.audit.figures import la_metrics, synthetic_history
from sendx.validators.dates import add_months, age_on

D = dt.date(2025, 1, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def test_facts_of_a_move_out_of_ap_into_mainstream() -> None:
    f = movement_facts(
        {
            "type": "ap-placement-end",
            "pupil": {"upn": "X"},
            "effectiveDate": "2025-03-01",
            "from": {"name": "PRU", "la": "330", "ap": True},
            "to": {"name": "School", "la": "331", "ap": False, "type": "mainstream-school"},
        }
    )
    assert (f.las, f.day, f.flow, f.reintegrated, f.unknown, f.has_to, f.ap) == (
        frozenset({"330", "331"}),
        dt.date(2025, 3, 1),
        -1,
        True,
        False,
        True,
        True,
    )
    assert f.said is not None and "X" in f.said


def test_facts_of_malformed_events() -> None:
    f = movement_facts({"type": "leave", "effectiveDate": "soon", "from": {"la": ["330"], "urn": ["1"]}, "to": "331"})
    assert (f.las, f.day, f.flow, f.has_to, f.said) == (frozenset(), None, 0, False, None)
    assert movement_facts({}).las == frozenset()


def test_spans_follow_the_state_machine() -> None:
    steps = [
        Step(day(0), 1, 1, False, True),  # into AP
        Step(day(5), 2, 1, False, True),  # AP to AP: continues
        Step(day(9), 3, -1, False, True),  # out
        Step(day(9), 4, -1, False, False),  # out again while out: nothing
        Step(day(20), 5, 0, True, False),  # destination unknown
        Step(day(25), 6, 0, True, False),  # unknown again: this one is now the case
        Step(day(30), 7, 1, False, True),  # into AP names a setting: the case closes
    ]
    placements, cases = pupil_spans(steps)
    assert placements == [Placement(day(0), day(9), 1), Placement(day(30), None, 7)]
    assert cases == [UnknownSpan(day(20), day(25), 5), UnknownSpan(day(25), day(30), 6)]
    assert placements[0].on(day(4)) == (4, True) and placements[0].on(day(9)) == (9, False)
    assert placements[1].on(day(29)) is None and placements[1].on(day(40)) == (10, True)
    assert [c.open_on(day(24)) for c in cases] == [True, False]
    assert not cases[1].open_on(day(30)) and cases[1].open_on(day(29))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 420), la=st.sampled_from(["330", "331"]))
def test_figures_on_a_date_ignore_what_happened_after_it(seed: int, cut: int, la: str) -> None:
    """The spans of a whole history, read on a date, are those of the history up to that date."""
    h = synthetic_history(seed, 40, las=("330", "331"))
    as_of = dt.date(2025, 9, 1) + dt.timedelta(days=cut)
    until = [e for e in h.events if e["effectiveDate"] <= as_of.isoformat()]
    assert la_metrics(h.events, la_code=la, as_of=as_of) == la_metrics(until, la_code=la, as_of=as_of)


def _overdue_by_the_rule(last: dt.date, dob: dt.date | None, on: dt.date) -> bool:
    months = 6 if dob and age_on(dob, on) < 5 else 12
    return on > add_months(last, months)


@settings(max_examples=300, deadline=None)
@given(
    last=st.dates(dt.date(2018, 1, 1), dt.date(2026, 12, 31)),
    dob=st.none() | st.dates(dt.date(2012, 1, 1), dt.date(2026, 1, 1)),
    on=st.dates(dt.date(2018, 1, 1), dt.date(2030, 12, 31)),
)
def test_review_overdue_dates_agree_with_the_rule(last: dt.date, dob: dt.date | None, on: dt.date) -> None:
    plan = {"status": "final", "timeline": {"lastReviewDate": last.isoformat()}, "la": {"code": "330"}}
    if dob:
        plan["child"] = {"dateOfBirth": dob.isoformat()}
    assert plan_facts(plan).overdue_on(on) == _overdue_by_the_rule(last, dob, on)


def test_review_of_a_child_born_on_29_february() -> None:
    plan = {
        "status": "amended",
        "timeline": {"lastReviewDate": "2024-06-01"},
        "child": {"dateOfBirth": "2020-02-29"},
    }
    f = plan_facts(plan)
    assert (f.overdue_from, f.overdue_until, f.overdue_after_5) == (
        dt.date(2024, 12, 2),
        dt.date(2025, 3, 1),
        dt.date(2025, 6, 2),
    )
    assert not f.overdue_on(dt.date(2025, 3, 1)) and f.overdue_on(dt.date(2025, 2, 28))


def test_plans_not_live_are_not_tracked_and_bad_dates_count_nowhere() -> None:
    f = plan_facts({"status": "draft", "timeline": {"requestDate": "2025-01-01", "finalIssuedDate": "nope"}})
    assert (f.issued, f.tracked, f.overdue_on(dt.date(2030, 1, 1))) == (False, False, False)
    assert plan_facts({"la": "330", "timeline": [], "child": 5}).la is None
