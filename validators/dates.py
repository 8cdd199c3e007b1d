"""Date arithmetic for statutory timescales (weeks, months, academic years, ages).

Kept in one place because the Code of Practice counts in weeks, months and academic
years, and each rule that counts must count the same way.  Arithmetic that would run past
the last date Python can represent (31 December 9999) stops there instead of raising: a
deadline beyond the calendar is simply never missed, and a schema-valid date such as
9999-12-01 must not turn validation into a crash.
"""

from __future__ import annotations

import calendar
import datetime as dt

__all__ = ["academic_year_start", "add_days", "add_months", "age_on", "end_of_age_25_year", "parse_date"]


def parse_date(value: object) -> dt.date | None:
    """An ISO ``YYYY-MM-DD`` string as a date, or ``None`` if it is not one."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def add_days(day: dt.date, days: dt.timedelta) -> dt.date:
    """``day + days``, or ``date.max`` / ``date.min`` when that is beyond the calendar."""
    try:
        return day + days
    except OverflowError:
        return dt.date.max if days > dt.timedelta(0) else dt.date.min


#: Days in each month of a common year (index 1-12); February gains a day in leap years.
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb).

    Past the end of the calendar the answer is ``date.max``, before its start ``date.min``.
    """
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if year > dt.MAXYEAR:
        return dt.date.max
    if year < dt.MINYEAR:
        return dt.date.min
    # calendar.monthrange also works out the weekday the month starts on: not needed here.
    last = _MONTH_DAYS[month] + (month == 2 and calendar.isleap(year))
    return dt.date(year, month, min(day.day, last))


def age_on(dob: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def academic_year_start(day: dt.date) -> int:
    """The calendar year in which the academic year containing ``day`` began (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def end_of_age_25_year(dob: dt.date) -> dt.date:
    """31 August ending the academic year in which the young person turns 25 (CFA 2014 s.46)."""
    birthday = add_months(dob, 25 * 12)
    year = academic_year_start(birthday) + 1
    return dt.date(year, 8, 31) if year <= dt.MAXYEAR else dt.date.max
