"""Time helpers: clinic wall-clock times to UTC instants, and instants as whole epoch seconds."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeAlias
from zoneinfo import ZoneInfo

Id: TypeAlias = Hashable
"""Practitioner, location and booking ids: UUIDs from the database, anything hashable in tests."""


MAX_SEARCH_DAYS = 366
MAX_SERIES_OCCURRENCES = 366

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")


def _ts(value: datetime) -> int:
    """Aware datetime -> epoch seconds, rounded down (exact integer arithmetic, no floats)."""
    return (value - _EPOCH) // _SECOND


def _ts_ceil(value: datetime) -> int:
    return -((_EPOCH - value) // _SECOND)


def _from_ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def to_utc(local: datetime, tz: str | ZoneInfo) -> datetime:
    """A clinic wall-clock time (naive) as a UTC instant; aware values are only converted.

    Non-existent and ambiguous wall times follow the module rules (RFC 5545 behaviour).
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=_zone(tz)).astimezone(UTC)


def _local_midnight_ts(day: date, zone: ZoneInfo) -> int:
    return _ts(datetime.combine(day, time(0), tzinfo=zone))
