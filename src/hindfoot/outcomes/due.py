"""When each outcome questionnaire is due, and which ones a patient still owes.

Time points: `baseline` at the first consultation, then `6w`, `3m`, `6m` and `12m` after the
*anchor*. Decisions (evidence.md gives no windows; these are the project's, chosen so that
windows never overlap and a response can belong to one time point only):

- Anchor: the surgery date when there is one, else the start of conservative treatment. Surgery
  after a conservative course resets the post-treatment time points: outcome after surgery is
  what the clinic reports, so 6w..12m count from the operation. Responses given during the
  conservative course stay stored but no longer fill a time point, because they fall outside the
  new windows. Without either date only the baseline is scheduled.
- Baseline window: from 14 days before to 14 days after the first consultation (patients fill it
  in at booking or just after the visit), but it closes the day before surgery if surgery comes
  sooner: a baseline must be pre-operative.
- Follow-up windows around the due date: 6w +/- 14 days, 3m and 6m +/- 28 days, 12m +/- 56 days.
  Months are calendar months (the 31st clamps to the month's last day).
- Instruments: FAOS, FAAM and pain at every time point; return to sport from 6w on.
- A response fills a (time point, instrument) when it is for that instrument and was completed
  inside the window (bounds included). Status for the rest: `upcoming` before the window opens,
  `due` while open up to the due date, `overdue` past the due date with the window still open
  (send a reminder), `missed` once the window has closed.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from hindfoot.errors import InvalidInput

__all__ = [
    "BASELINE_INSTRUMENTS",
    "FOLLOW_UP_INSTRUMENTS",
    "TIMEPOINT_IDS",
    "CompletedResponse",
    "DueItem",
    "DueStatus",
    "ScheduleInputError",
    "TimePoint",
    "add_months",
    "due_status",
    "schedule",
]

DueStatus = Literal["upcoming", "due", "overdue", "missed", "completed"]

TIMEPOINT_IDS: Final = ("baseline", "6w", "3m", "6m", "12m")
BASELINE_INSTRUMENTS: Final = ("faos", "faam", "pain")
FOLLOW_UP_INSTRUMENTS: Final = ("faos", "faam", "pain", "rts")
BASELINE_WINDOW_DAYS: Final = 14

# id, label, offset (weeks or months), window half-width in days
_FOLLOW_UPS: Final[tuple[tuple[str, str, tuple[Literal["weeks", "months"], int], int], ...]] = (
    ("6w", "6 weeks", ("weeks", 6), 14),
    ("3m", "3 months", ("months", 3), 28),
    ("6m", "6 months", ("months", 6), 28),
    ("12m", "12 months", ("months", 12), 56),
)


class ScheduleInputError(InvalidInput, ValueError):
    """Dates that cannot make a schedule, e.g. treatment before the first consultation."""

    code = "invalid_schedule_input"


@dataclass(frozen=True, slots=True)
class TimePoint:
    id: str
    label: str
    due: date
    opens: date
    closes: date
    instruments: tuple[str, ...]
    anchor: Literal["first_consultation", "treatment_start", "surgery"]


@dataclass(frozen=True, slots=True)
class CompletedResponse:
    """A stored questionnaire response, reduced to what the schedule needs."""

    instrument: str
    completed_on: date


@dataclass(frozen=True, slots=True)
class DueItem:
    timepoint: str
    instrument: str
    due: date
    opens: date
    closes: date
    status: DueStatus
    completed_on: date | None = None


def add_months(day: date, months: int) -> date:
    """`day` plus calendar months, clamping to the last day of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule(
    first_consultation: date,
    treatment_start: date | None = None,
    surgery_date: date | None = None,
) -> list[TimePoint]:
    """The time points for one episode of care; see the module docstring for the rules."""
    for name, value in (("treatment_start", treatment_start), ("surgery_date", surgery_date)):
        if value is not None and value < first_consultation:
            raise ScheduleInputError(
                f"{name} {value.isoformat()} is before the first consultation "
                f"{first_consultation.isoformat()}",
                field=name,
            )
    closes = first_consultation + timedelta(days=BASELINE_WINDOW_DAYS)
    if surgery_date is not None:
        closes = min(closes, max(first_consultation, surgery_date - timedelta(days=1)))
    points = [
        TimePoint(
            id="baseline",
            label="Baseline",
            due=first_consultation,
            opens=first_consultation - timedelta(days=BASELINE_WINDOW_DAYS),
            closes=closes,
            instruments=BASELINE_INSTRUMENTS,
            anchor="first_consultation",
        )
    ]
    anchor_date, anchor = (
        (surgery_date, "surgery")
        if surgery_date is not None
        else (treatment_start, "treatment_start")
    )
    if anchor_date is None:
        return points
    for tp_id, label, (unit, amount), half_width in _FOLLOW_UPS:
        due = (
            anchor_date + timedelta(weeks=amount)
            if unit == "weeks"
            else add_months(anchor_date, amount)
        )
        points.append(
            TimePoint(
                id=tp_id,
                label=label,
                due=due,
                opens=due - timedelta(days=half_width),
                closes=due + timedelta(days=half_width),
                instruments=FOLLOW_UP_INSTRUMENTS,
                anchor=anchor,  # type: ignore[arg-type]  # one of the two literals above
            )
        )
    return points


def due_status(
    timepoints: Iterable[TimePoint], responses: Iterable[CompletedResponse], today: date
) -> list[DueItem]:
    """One row per (time point, instrument): completed (earliest response in the window) or not."""
    by_instrument: dict[str, list[date]] = {}
    for r in responses:
        by_instrument.setdefault(r.instrument, []).append(r.completed_on)
    for dates in by_instrument.values():
        dates.sort()
    out: list[DueItem] = []
    for tp in timepoints:
        for instrument in tp.instruments:
            done = next(
                (d for d in by_instrument.get(instrument, []) if tp.opens <= d <= tp.closes), None
            )
            status: DueStatus
            if done is not None:
                status = "completed"
            elif today < tp.opens:
                status = "upcoming"
            elif today <= tp.due:
                status = "due"
            elif today <= tp.closes:
                status = "overdue"
            else:
                status = "missed"
            out.append(DueItem(tp.id, instrument, tp.due, tp.opens, tp.closes, status, done))
    return out
