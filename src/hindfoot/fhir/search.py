"""FHIR search parameters, declared once: each parses its value and turns it into a SQL condition.

The same declarations drive the search itself and the CapabilityStatement (`searchParam`), so the
statement cannot name a parameter that does not answer. Syntax follows FHIR R4 search
(http://hl7.org/fhir/R4/search.html): comma means OR; dates take the prefixes eq, ne, lt, gt, le,
ge, sa, eb at year, month, day or instant precision; tokens are `code`, `system|code` or `|code`;
references are `id`, `Type/id` or an absolute URL ending in `Type/id`; strings match the start of a
value, case-insensitively.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_

from hindfoot.bounds import MAX_YEAR, MIN_YEAR
from hindfoot.errors import BadRequest

Clause = ColumnElement[bool]


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # token | reference | date | string
    documentation: str
    build: Callable[[str], Clause]  # one value (no commas) -> condition
    target: tuple[str, ...] = ()  # reference: the resource types it points to
    column: Any = None  # reference: the column holding the id (for _include)
    examples: tuple[str, ...] = field(default=())  # values a test may try

    def clause(self, raw: str) -> Clause:
        values = [v for v in raw.split(",") if v != ""]
        if not values:
            raise BadRequest(f"search parameter {self.name} has no value", field=self.name)
        return or_(*[self.build(v) for v in values])


# ------------------------------------------------------------------------------------- values
def parse_uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"{name}: {value!r} is not a resource id", field=name) from None


def parse_reference(value: str, name: str, targets: Sequence[str]) -> tuple[str | None, uuid.UUID]:
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2:
        kind, ident = parts[-2], parts[-1]
        if kind not in targets:
            raise BadRequest(f"{name}: a reference to {kind} cannot match (expects {', '.join(targets)})",
                             field=name)
        return kind, parse_uuid(ident, name)
    return None, parse_uuid(value, name)


_DATE = re.compile(r"^(eq|ne|lt|gt|le|ge|sa|eb)?(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(T.+)?$")


def parse_date_range(value: str, name: str) -> tuple[str, datetime, datetime]:
    """(prefix, start, end) with end exclusive, at the precision the value was given in."""
    m = _DATE.match(value)
    if not m:
        raise BadRequest(f"{name}: {value!r} is not a FHIR date (e.g. ge2026-01-31)", field=name)
    prefix = m.group(1) or "eq"
    year, month, day_, time_part = int(m.group(2)), m.group(3), m.group(4), m.group(5)
    if not MIN_YEAR <= year <= MAX_YEAR:  # 9999-12-31 would overflow the end of its range
        raise BadRequest(f"{name}: {value!r} must be a date from {MIN_YEAR} to {MAX_YEAR}", field=name)
    try:
        if time_part:
            text = value[len(m.group(1) or ""):].replace("Z", "+00:00")
            start = datetime.fromisoformat(text)
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            return prefix, start, start + timedelta(seconds=1)
        if day_:
            start = datetime(year, int(month or 1), int(day_), tzinfo=UTC)
            return prefix, start, start + timedelta(days=1)
        if month:
            start = datetime(year, int(month), 1, tzinfo=UTC)
            end = datetime(year + (int(month) == 12), int(month) % 12 + 1, 1, tzinfo=UTC)
            return prefix, start, end
        return prefix, datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"{name}: {value!r} is not a valid date", field=name) from None


# ----------------------------------------------------------------------------------- builders
def token(name: str, doc: str, column: Any, *, systems: Mapping[str | None, Any] | None = None,
          values: Mapping[str, Any] | None = None, translate: Mapping[tuple[str, str], tuple[Any, str]] | None = None,
          examples: tuple[str, ...] = ()) -> SearchParam:
    """A token on `column`. `systems` picks another column for a system (e.g. SNOMED CT), `values`
    maps a FHIR code to the stored value, `translate` maps (system, code) to (column, stored value)."""

    def build(value: str) -> Clause:
        system: str | None = None
        code = value
        if "|" in value:
            system, code = value.split("|", 1)
            system = system or None
        if system and translate and (system, code) in translate:
            col, stored = translate[(system, code)]
            return col == stored
        col = column
        if system is not None:
            if not systems or system not in systems:
                return false()
            col = systems[system]
        if values is not None:
            if code not in values:
                return false()
            stored = values[code]
            return col.in_(stored) if isinstance(stored, tuple) else col == stored
        return col == code

    return SearchParam(name, "token", doc, build, examples=examples)


def id_token(name: str, column: Any) -> SearchParam:
    def build(value: str) -> Clause:
        return column == parse_uuid(value, name)

    return SearchParam(name, "token", "logical id of the resource", build)


def reference(name: str, doc: str, column: Any, *targets: str, extra: Sequence[Any] = ()) -> SearchParam:
    columns = (column, *extra)

    def build(value: str) -> Clause:
        _, ident = parse_reference(value, name, targets)
        return or_(*[c == ident for c in columns])

    return SearchParam(name, "reference", doc, build, target=targets, column=column)


def date_param(name: str, doc: str, column: Any) -> SearchParam:
    is_day = column.type.python_type is date

    def build(value: str) -> Clause:
        prefix, start, end = parse_date_range(value, name)
        lo: Any = start.date() if is_day else start
        hi: Any = end.date() if is_day else end
        if is_day and end.time() != datetime.min.time():
            hi = (end + timedelta(days=1)).date()
        return {
            "eq": and_(column >= lo, column < hi),
            "ne": or_(column < lo, column >= hi),
            "lt": column < lo, "sa": column >= hi, "eb": column < lo,
            "gt": column >= hi, "le": column < hi, "ge": column >= lo,
        }[prefix]

    return SearchParam(name, "date", doc, build)


def string(name: str, doc: str, *columns: Any, indexed: Any = None) -> SearchParam:
    """Matches the start of any of `columns`, case-insensitively. `indexed`: a stored, lower-cased
    text that holds every one of the columns after a start or a space (the patient's `search_text`,
    under a trigram index on PostgreSQL): the value must then also start a word of it, a condition the
    index answers, so that only its candidates are compared column by column."""

    def build(value: str) -> Clause:
        lowered = value.lower()
        needle = _escape_like(lowered) + "%"
        exact = or_(*[func.lower(c).like(needle, escape="\\") for c in columns])
        if indexed is None or SEPARATOR in lowered:
            return exact
        # `value%` or `% value%`: the word start lets pg_trgm use the trigram "  v" even for one letter
        return and_(or_(indexed.like(needle, escape="\\"), indexed.like("% " + needle, escape="\\")), exact)

    return SearchParam(name, "string", doc, build)


SEPARATOR = "\x1f"  # between the fields of a stored search text (hindfoot.db.models.patient.search_text_of)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
