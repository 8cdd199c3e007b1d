"""Timescale arithmetic: month steps against the calendar, and the edges of the calendar itself."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendx.validators.dates import add_days, add_months, end_of_age_25_year

dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


@given(dates, st.integers(min_value=-1200, max_value=1200))
def test_add_months_lands_on_the_same_day_clamped_to_the_month_end(day: dt.date, months: int) -> None:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    got = add_months(day, months)
    if year > dt.MAXYEAR:
        assert got == dt.date.max
    elif year < dt.MINYEAR:
        assert got == dt.date.min
    else:
        assert got == dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2023, 1, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2100, 1, 31), 1, dt.date(2100, 2, 28)),
        (dt.date(2000, 1, 31), 1, dt.date(2000, 2, 29)),
        (dt.date(2026, 3, 20), 12, dt.date(2027, 3, 20)),
        (dt.date(9999, 12, 20), 12, dt.date.max),
    ],
)
def test_add_months_known_answers(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_add_days_stops_at_the_ends_of_the_calendar() -> None:
    assert add_days(dt.date(2025, 11, 3), dt.timedelta(weeks=20)) == dt.date(2026, 3, 23)
    assert add_days(dt.date(9999, 12, 20), dt.timedelta(weeks=20)) == dt.date.max
    assert add_days(dt.date(1, 1, 5), dt.timedelta(days=-10)) == dt.date.min


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        (dt.date(2011, 2, 9), dt.date(2036, 8, 31)),  # 25 in February: that academic year ends in August
        (dt.date(2011, 9, 1), dt.date(2037, 8, 31)),  # 25 on 1 September: the next academic year
        (dt.date(9974, 8, 31), dt.date(9999, 8, 31)),
        (dt.date(9974, 9, 1), dt.date.max),  # that academic year would end in 10000
        (dt.date(9990, 1, 1), dt.date.max),
    ],
)
def test_end_of_age_25_year(dob: dt.date, expected: dt.date) -> None:
    assert end_of_age_25_year(dob) == expected
