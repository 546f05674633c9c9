"""Kaplan-Meier against the textbook example: Freireich et al. (1963) 6-MP arm of the leukaemia
remission trial (Gehan 1965), 21 patients, weeks in remission, * = censored:

    6 6 6 6* 7 9* 10 10* 11* 13 16 17* 19* 20* 22 23 25* 32* 32* 34* 35*

By hand, S(t) = prod (1 - d/n) over event times:
    t   n   d   S
    6   21  3   18/21                    = 0.857143
    7   17  1   0.857143 x 16/17         = 0.806723
    10  15  1   0.806723 x 14/15         = 0.752941
    13  12  1   0.752941 x 11/12         = 0.690196
    16  11  1   0.690196 x 10/11         = 0.627451
    22  7   1   0.627451 x 6/7           = 0.537815
    23  6   1   0.537815 x 5/6           = 0.448179   -> median 23 (first S <= 0.5)
(n at 7 is 21 - 3 events - 1 censored at 6 = 17; the censored 6* counts as at risk at 6.)

Greenwood at t=6: var = S^2 x 3/(21 x 18) = 0.734694 x 0.0079365 = 0.0058309, SE = 0.07636.
Log-log CI at t=6: v = 0.0079365 / ln(0.857143)^2 = 0.0079365 / 0.0237620 = 0.33400,
sqrt = 0.57793, exp(1.96 x 0.57793) = 3.1041 -> lower = 0.857143^3.1041 = 0.6197,
exp(-1.96 x 0.57793) = 0.32215 -> upper = 0.857143^0.32215 = 0.9516.
(R: survfit(..., conf.type = "log-log") prints 0.620, 0.952.)

Median CI: sum d/(n(n-d)) to t=10 = 0.0079365 + 1/272 + 1/210 = 0.0163749, ln S = -0.283768,
v = 0.0163749 / 0.080524 = 0.20335 -> lower(10) = 0.752941^exp(1.96 x 0.45095) = 0.5032 (> 0.5);
to t=13 add 1/132 -> 0.0239507, ln S = -0.370781, v = 0.17421 -> lower(13) = 0.4316 (<= 0.5):
so the median's lower limit is 13. The upper curve stays above 0.5 (0.680 at 23 and after),
so the upper limit is not reached. R prints: median 23, 0.95LCL 13, 0.95UCL NA.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from hindfoot.outcomes.survival import (
    SurvivalInputError,
    duration_from_dates,
    durations_and_events,
    kaplan_meier,
)

TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
EVENTS = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


@pytest.fixture(scope="module")
def km():
    return kaplan_meier(TIMES, EVENTS)


def test_survival_matches_textbook(km):
    expected = {
        6: 18 / 21,
        7: 0.806723,
        10: 0.752941,
        13: 0.690196,
        16: 0.627451,
        22: 0.537815,
        23: 0.448179,
    }
    for t, s in expected.items():
        assert km.survival_at(t) == pytest.approx(s, abs=5e-7)
    assert [round(km.survival_at(t), 3) for t in expected] == [
        0.857,
        0.807,
        0.753,
        0.690,
        0.627,
        0.538,
        0.448,
    ]
    assert km.survival_at(5.9) == 1.0
    assert km.survival_at(100) == pytest.approx(0.448179, abs=5e-7)


def test_table_keeps_censored_patients(km):
    rows = {r["time"]: r for r in km.rows()}
    assert list(km.time) == [6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35]
    assert (rows[6]["at_risk"], rows[6]["events"], rows[6]["censored"]) == (21, 3, 1)
    assert (rows[7]["at_risk"], rows[10]["at_risk"], rows[23]["at_risk"]) == (17, 15, 6)
    assert (rows[32]["at_risk"], rows[32]["censored"]) == (4, 2)
    assert km.n == 21 and km.total_events == 9 and int(km.censored.sum()) == 12
    assert rows[9]["survival"] == rows[7]["survival"]  # a censoring does not move the curve


def test_greenwood_and_loglog_ci(km):
    row = km.rows()[0]
    assert row["std_err"] == pytest.approx(0.07636, abs=1e-5)
    assert row["lower"] == pytest.approx(0.6197, abs=1e-4)
    assert row["upper"] == pytest.approx(0.9516, abs=1e-4)
    # R, conf.type = "log-log", at t = 23: 0.448 (0.188, 0.680)
    last_event = km.rows()[11]
    assert (last_event["time"], round(last_event["lower"], 3), round(last_event["upper"], 3)) == (
        23,
        0.188,
        0.680,
    )
    assert np.all(km.lower <= km.survival) and np.all(km.survival <= km.upper)


def test_median_and_its_ci(km):
    assert km.median == 23
    assert km.median_lower == 13
    assert km.median_upper is None


def test_all_events_and_exact_half():
    km = kaplan_meier([1, 2], [True, True])
    # S(1) = 0.5 exactly -> median is the midpoint to the next drop, as in R
    assert km.median == 1.5
    assert list(km.survival) == [0.5, 0.0]
    assert (km.lower[-1], km.upper[-1]) == (0.0, 0.0)


def test_no_events_and_empty():
    km = kaplan_meier([3, 5], [0, 0])
    assert list(km.survival) == [1.0, 1.0] and km.median is None
    assert list(km.lower) == [1.0, 1.0]
    empty = kaplan_meier([], [])
    assert empty.n == 0 and empty.rows() == [] and empty.median is None


@pytest.mark.parametrize(
    ("durations", "events", "message"),
    [
        ([1, 2], [1], "differ in length"),
        ([-1], [1], "non-negative"),
        ([float("nan")], [1], "finite"),
        ([1], [2], "0/1"),
    ],
)
def test_bad_input(durations, events, message):
    with pytest.raises(SurvivalInputError, match=message):
        kaplan_meier(durations, events)


def test_duration_from_dates():
    surgery = date(2024, 1, 10)
    assert duration_from_dates(surgery, date(2024, 3, 10), date(2024, 6, 1)) == (60, True)
    assert duration_from_dates(surgery, None, date(2024, 2, 9)) == (30, False)
    assert durations_and_events([(60, True), (30, False)]) == ([60, 30], [True, False])
    with pytest.raises(SurvivalInputError):
        duration_from_dates(surgery, date(2024, 1, 1), date(2024, 6, 1))
