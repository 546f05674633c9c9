"""Sane ranges for values that arrive from outside: dates, times, page offsets and limits.

Python's dates end at 9999-12-31, so `start_date=9999-12-30` parses, and the first `+ timedelta`
in a service overflows into a 500; an offset of 2**63 overflows the database driver. Every boundary
schema (API bodies and query strings, page forms) uses these types instead of bare `date`,
`datetime` and `int`, so such a value is refused as a 422 naming the field before any service runs.

Pure: pydantic only, no web or database imports.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

MIN_YEAR = 1900
MAX_YEAR = 2100
MIN_DATE = date(MIN_YEAR, 1, 1)
MAX_DATE = date(MAX_YEAR, 12, 31)
MAX_OFFSET = 1_000_000  # rows skipped by a paged list; far beyond any clinic's data
MAX_PAGE = 100_000  # page number of a paged page


def check_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be a date from {MIN_YEAR} to {MAX_YEAR}")
    return value


def check_datetime(value: datetime) -> datetime:
    # The year is checked on the value as given; converting to UTC moves it by at most a day.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be a time from {MIN_YEAR} to {MAX_YEAR}")
    return value


SaneDate = Annotated[date, AfterValidator(check_date)]
SaneDatetime = Annotated[datetime, AfterValidator(check_datetime)]
SaneAwareDatetime = Annotated[AwareDatetime, AfterValidator(check_datetime)]
