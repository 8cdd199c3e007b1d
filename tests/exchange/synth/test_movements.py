"""sendx.exchange.synth.movements: a stream of valid, realistic movement events for one area."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict

import pytest

from sendx import validators
from sendx.exchange.audit.figures import la_metrics, touches_area
from sendx.exchange.synth.movements import synthetic_movements
from sendx.schemas import codelist_codes
from sendx.validators.errors import InputError


def test_yields_exactly_count_events_reproducibly() -> None:
    a = list(synthetic_movements(1234, seed=7))
    assert len(a) == 1234
    assert a == list(synthetic_movements(1234, seed=7))
    assert a != list(synthetic_movements(1234, seed=8))
    assert len({e["eventId"] for e in a}) == len(a)
    assert list(synthetic_movements(0)) == []


def test_a_longer_stream_starts_with_the_shorter_one() -> None:
    assert list(synthetic_movements(500, seed=3)) == list(itertools.islice(synthetic_movements(900, seed=3), 500))


def test_every_event_is_schema_valid_and_touches_the_area() -> None:
    for e in synthetic_movements(4000, seed=1, la="881"):
        report = validators.validate(e, "movement")
        assert report.valid, (e, [i.message for i in report.issues])
        assert touches_area(e, "881"), e


def test_the_mix_is_that_of_a_real_area() -> None:
    events = list(synthetic_movements(6000, seed=2))
    types = Counter(e["type"] for e in events)
    assert set(types) == codelist_codes("movement-types")
    assert types["join"] > len(events) / 3  # most movements are ordinary joins
    ends = [s for e in events for s in (e["from"], e["to"]) if s]
    assert {s["la"] for s in ends} == {"330", "331", "329"}  # the area and its neighbours
    assert any("ukprn" in s for s in ends) and all(s.get("urn") or s.get("ukprn") for s in ends)
    assert all(s["laestab"].startswith(s["la"]) for s in ends if "laestab" in s)
    by_pupil: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        by_pupil[e["pupil"]["upn"]].append(e)
    # AP placements start and end for the same pupil, later, with reintegration recorded.
    pairs = [
        (h[i], h[j])
        for h in by_pupil.values()
        for i, j in itertools.combinations(range(len(h)), 2)
        if h[i]["to"] and h[i]["to"]["ap"] and h[j]["type"] == "ap-placement-end"
    ]
    assert len(pairs) > 50
    assert all(b["effectiveDate"] > a["effectiveDate"] and b["reintegration"] for a, b in pairs)
    assert {b["reintegration"] for _, b in pairs} == {"mainstream", "special"}
    for h in by_pupil.values():  # each pupil's story is told in date order
        assert [e["effectiveDate"] for e in h] == sorted(e["effectiveDate"] for e in h)


def test_dates_span_the_period_and_stories_arrive_out_of_date_order() -> None:
    events = list(synthetic_movements(3000, seed=4, start=dt.date(2022, 9, 1), years=2))
    days = [e["effectiveDate"] for e in events]
    assert min(days) >= "2022-09-01" and max(days) < "2024-08-31"
    assert days != sorted(days)  # late reports: a later pupil's story starts before an earlier one's ends


def test_the_figures_of_a_stream_have_every_kind_of_case() -> None:
    events = list(synthetic_movements(5000, seed=5))
    m = la_metrics(events, la_code="330", as_of=dt.date(2026, 9, 1))
    assert m.movements == len(events)
    assert m.placements > 30 and m.open_placements < m.placements / 4
    assert 0 < m.reintegrated_mainstream < m.ap_exits
    assert m.unknown_open > 0
    assert len(m.ap_by_month) >= 30


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"count": -1}, "count"),
        ({"count": 1, "la": "33"}, "la"),
        ({"count": 1, "la": "000"}, "la"),
        ({"count": 1, "neighbours": ["330"]}, "neighbours"),
        ({"count": 1, "years": 0}, "years"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, where: str) -> None:
    with pytest.raises(InputError) as err:
        synthetic_movements(**kwargs)
    assert err.value.where == where
