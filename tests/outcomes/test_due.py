"""Due schedule: time points, windows, the surgery reset, and statuses on a given day."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from hindfoot.outcomes.due import (
    CompletedResponse,
    ScheduleInputError,
    add_months,
    due_status,
    schedule,
)

CONSULT = date(2024, 1, 15)
TREAT = date(2024, 1, 22)


def by_id(points):
    return {p.id: p for p in points}


def test_baseline_only_without_treatment():
    points = schedule(CONSULT)
    assert [p.id for p in points] == ["baseline"]
    b = points[0]
    assert (b.due, b.opens, b.closes) == (CONSULT, date(2024, 1, 1), date(2024, 1, 29))
    assert b.instruments == ("faos", "faam", "pain")


def test_follow_ups_from_treatment_start():
    points = by_id(schedule(CONSULT, treatment_start=TREAT))
    assert list(points) == ["baseline", "6w", "3m", "6m", "12m"]
    assert points["6w"].due == date(2024, 3, 4)  # 22 Jan + 42 days
    assert (points["6w"].opens, points["6w"].closes) == (date(2024, 2, 19), date(2024, 3, 18))
    assert points["3m"].due == date(2024, 4, 22)
    assert points["6m"].due == date(2024, 7, 22)
    assert points["12m"].due == date(2025, 1, 22)
    assert (points["12m"].opens, points["12m"].closes) == (date(2024, 11, 27), date(2025, 3, 19))
    assert all(
        points[t].instruments == ("faos", "faam", "pain", "rts") for t in ("6w", "3m", "6m", "12m")
    )
    assert points["6w"].anchor == "treatment_start"


def test_windows_do_not_overlap():
    points = schedule(CONSULT, treatment_start=CONSULT)
    for earlier, later in pairwise(points):
        assert earlier.closes < later.opens


def test_surgery_resets_follow_ups_and_closes_baseline():
    surgery = date(2024, 1, 25)  # 10 days after the consultation
    points = by_id(schedule(CONSULT, treatment_start=CONSULT, surgery_date=surgery))
    assert points["baseline"].closes == date(2024, 1, 24)  # pre-operative
    assert points["6w"].due == date(2024, 3, 7)
    assert points["12m"].due == date(2025, 1, 25)
    assert points["6w"].anchor == "surgery"


def test_late_surgery_makes_conservative_responses_not_count():
    surgery = date(2024, 6, 3)
    responses = [CompletedResponse("faos", date(2024, 3, 5))]  # filled the conservative 6w
    rows = due_status(schedule(CONSULT, TREAT, surgery), responses, today=date(2024, 7, 15))
    six_weeks = {r.instrument: r for r in rows if r.timepoint == "6w"}
    assert six_weeks["faos"].due == date(2024, 7, 15)
    assert six_weeks["faos"].status == "due"


def test_statuses():
    points = schedule(CONSULT, treatment_start=TREAT)
    responses = [
        CompletedResponse("faos", date(2024, 1, 10)),  # baseline, before the visit
        CompletedResponse("faam", date(2024, 1, 15)),
        CompletedResponse("faos", date(2024, 3, 1)),  # 6w
        CompletedResponse("faos", date(2024, 3, 2)),  # duplicate: the earliest counts
        CompletedResponse("pain", date(2024, 2, 10)),  # between windows: fills nothing
    ]
    rows = {
        (r.timepoint, r.instrument): r
        for r in due_status(points, responses, today=date(2024, 3, 10))
    }
    assert rows[("baseline", "faos")].status == "completed"
    assert rows[("baseline", "faos")].completed_on == date(2024, 1, 10)
    assert rows[("baseline", "faam")].status == "completed"
    assert rows[("baseline", "pain")].status == "missed"
    assert rows[("6w", "faos")].completed_on == date(2024, 3, 1)
    assert rows[("6w", "pain")].status == "overdue"  # due 4 Mar, window open to 18 Mar
    assert rows[("6w", "rts")].status == "overdue"
    assert rows[("3m", "faos")].status == "upcoming"
    assert ("baseline", "rts") not in rows
    assert len(rows) == 3 + 4 * 4


def test_due_before_due_date_and_window_bounds_inclusive():
    points = schedule(CONSULT, treatment_start=TREAT)
    rows = due_status(
        points, [CompletedResponse("pain", date(2024, 3, 18))], today=date(2024, 2, 19)
    )
    six = {r.instrument: r for r in rows if r.timepoint == "6w"}
    assert six["faos"].status == "due"  # window opened today
    assert six["pain"].status == "completed"  # completed on the closing day


def test_dates_before_consultation_are_refused():
    with pytest.raises(ScheduleInputError, match="surgery_date 2024-01-01 is before"):
        schedule(CONSULT, surgery_date=date(2024, 1, 1))


def test_add_months_clamps():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 12) == date(2025, 12, 15)
