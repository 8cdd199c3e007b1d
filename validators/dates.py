"""Date arithmetic for statutory timescales (weeks, months, academic years, ages).

Kept in one place because the Code of Practice counts in weeks, months and academic
years, and each rule that counts must count the same way.
"""

from __future__ import annotations

import calendar
import datetime as dt

__all__ = ["academic_year_start", "add_months", "age_on", "end_of_age_25_year", "parse_date"]


def parse_date(value: object) -> dt.date | None:
    """An ISO ``YYYY-MM-DD`` string as a date, or ``None`` if it is not one."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(dob: dt.date, day: dt.date) -> int:
    """Age in whole years on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def academic_year_start(day: dt.date) -> int:
    """The calendar year in which the academic year containing ``day`` began (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def end_of_age_25_year(dob: dt.date) -> dt.date:
    """31 August ending the academic year in which the young person turns 25 (CFA 2014 s.46)."""
    birthday = add_months(dob, 25 * 12)
    return dt.date(academic_year_start(birthday) + 1, 8, 31)
