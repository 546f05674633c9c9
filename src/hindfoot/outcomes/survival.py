"""Kaplan-Meier estimate for time-to-event outcomes, chiefly time to return to sport.

For return to sport the "event" is the return and a patient who has not yet returned is
censored at their last follow-up. Censored patients are kept: dropping them would make recovery
look faster than it is, because the slow recoverers are exactly the ones still out. The curve
S(t) is then the proportion not yet returned at time t; 1 - S(t) the proportion returned.

Conventions (those of R's `survival` package, so results can be checked against it):

- at tied times, events happen before censorings: a patient censored at t counts as at risk at t;
- variance by Greenwood's formula; the confidence interval is the log-log ("exponential
  Greenwood", Kalbfleisch-Prentice) interval, which stays inside [0, 1];
- median = the first time S(t) <= 0.5 (the midpoint to the next drop if S(t) is exactly 0.5);
  its confidence interval is read off the pointwise CI curves in the same way (Brookmeyer-Crowley
  style): lower limit where the lower curve reaches 0.5, upper limit where the upper curve does,
  None when a curve never gets there (common with small series: the upper limit is then
  "not reached").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hindfoot.errors import InvalidInput

__all__ = [
    "KaplanMeier",
    "SurvivalInputError",
    "duration_from_dates",
    "durations_and_events",
    "kaplan_meier",
]


class SurvivalInputError(InvalidInput, ValueError):
    """Durations and events that cannot describe a cohort (negative, mismatched, not finite)."""

    code = "invalid_survival_input"


@dataclass(frozen=True)
class KaplanMeier:
    """The step table (one row per distinct observed time, event or censoring) and the median.

    `survival[i]` is S just after `time[i]`; `lower`/`upper` its pointwise CI; `std_err` the
    Greenwood standard error of S.
    """

    time: NDArray[np.float64]
    at_risk: NDArray[np.int64]
    events: NDArray[np.int64]
    censored: NDArray[np.int64]
    survival: NDArray[np.float64]
    std_err: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    median: float | None
    median_lower: float | None
    median_upper: float | None
    conf_level: float

    @property
    def n(self) -> int:
        return int(self.at_risk[0]) if self.at_risk.size else 0

    @property
    def total_events(self) -> int:
        return int(self.events.sum())

    def survival_at(self, t: float) -> float:
        """S(t) of the step function (1.0 before the first event)."""
        idx = int(np.searchsorted(self.time, t, side="right")) - 1
        return 1.0 if idx < 0 else float(self.survival[idx])

    def rows(self) -> list[dict[str, Any]]:
        """The table as plain dicts (JSON-ready) for the API and the web page."""
        return [
            {
                "time": float(self.time[i]),
                "at_risk": int(self.at_risk[i]),
                "events": int(self.events[i]),
                "censored": int(self.censored[i]),
                "survival": float(self.survival[i]),
                "std_err": float(self.std_err[i]),
                "lower": float(self.lower[i]),
                "upper": float(self.upper[i]),
            }
            for i in range(self.time.size)
        ]


def kaplan_meier(
    durations: ArrayLike, events: ArrayLike, *, conf_level: float = 0.95
) -> KaplanMeier:
    """Kaplan-Meier estimate with Greenwood variance and a log-log CI; see the module docstring.

    `durations`: time from the start (e.g. days from surgery) to the event or to censoring.
    `events`: 1/True where the event (return to sport) was observed, 0/False where censored.
    """
    t = np.asarray(durations, dtype=np.float64).ravel()
    e_raw = np.asarray(events).ravel()
    if t.size != e_raw.size:
        raise SurvivalInputError(
            f"durations ({t.size}) and events ({e_raw.size}) differ in length", field="events"
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise SurvivalInputError("durations must be finite and non-negative", field="durations")
    if not np.all(np.isin(e_raw, (0, 1))):
        raise SurvivalInputError("events must be 0/1 or booleans", field="events")
    if not 0 < conf_level < 1:
        raise SurvivalInputError("conf_level must lie between 0 and 1", field="conf_level")
    e = e_raw.astype(bool)
    if t.size == 0:
        empty_f = np.zeros(0, dtype=np.float64)
        empty_i = np.zeros(0, dtype=np.int64)
        return KaplanMeier(
            empty_f,
            empty_i,
            empty_i,
            empty_i,
            empty_f,
            empty_f,
            empty_f,
            empty_f,
            None,
            None,
            None,
            conf_level,
        )

    times, inverse = np.unique(t, return_inverse=True)
    d = np.bincount(inverse, weights=e, minlength=times.size).astype(np.int64)
    total = np.bincount(inverse, minlength=times.size).astype(np.int64)
    c = total - d
    # at risk at time i: everyone whose duration is >= times[i]
    n = (t.size - np.concatenate(([0], np.cumsum(total)[:-1]))).astype(np.int64)

    # every row has n >= 1; n == d only when the last ones at risk all have the event
    surv = np.cumprod(1.0 - d / n).astype(np.float64)
    safe = n - d > 0
    term = np.where(safe, d / np.where(safe, n * (n - d), 1), 0.0)
    greenwood = np.cumsum(term)  # sum of d / (n (n - d))
    std_err = surv * np.sqrt(greenwood)

    z = NormalDist().inv_cdf(0.5 + conf_level / 2)
    lower = surv.copy()
    upper = surv.copy()
    # log-log CI is defined only for 0 < S < 1; S == 1 (no event yet) and S == 0 are kept as is
    ok = (surv > 0) & (surv < 1)
    log_s = np.log(np.where(ok, surv, 0.5))
    se_loglog = np.sqrt(greenwood) / np.abs(log_s)
    lower = np.where(ok, surv ** np.exp(z * se_loglog), lower).astype(np.float64)
    upper = np.where(ok, surv ** np.exp(-z * se_loglog), upper).astype(np.float64)

    return KaplanMeier(
        time=times,
        at_risk=n,
        events=d,
        censored=c,
        survival=surv,
        std_err=std_err,
        lower=lower,
        upper=upper,
        median=_first_at_or_below_half(times, surv),
        median_lower=_first_at_or_below_half(times, lower),
        median_upper=_first_at_or_below_half(times, upper),
        conf_level=conf_level,
    )


def _first_at_or_below_half(times: NDArray[np.float64], curve: NDArray[np.float64]) -> float | None:
    """First time the step curve is <= 0.5; midpoint to its next drop when it sits at 0.5 exactly."""
    hits = np.nonzero(curve <= 0.5 + 1e-12)[0]
    if hits.size == 0:
        return None
    i = int(hits[0])
    if math.isclose(float(curve[i]), 0.5, abs_tol=1e-12):
        drops = np.nonzero(curve[i + 1 :] < 0.5 - 1e-12)[0]
        if drops.size:
            return (float(times[i]) + float(times[i + 1 + int(drops[0])])) / 2
    return float(times[i])


def duration_from_dates(
    start: date, event_date: date | None, last_follow_up: date
) -> tuple[int, bool]:
    """(days, event observed) for one patient: days to the event, or to the last follow-up if none.

    For return to sport, `start` is the surgery (or treatment start) date, `event_date` the
    reported return date and `last_follow_up` the latest questionnaire or visit.
    """
    if event_date is not None:
        if event_date < start:
            raise SurvivalInputError("the event date is before the start date", field="event_date")
        return (event_date - start).days, True
    if last_follow_up < start:
        raise SurvivalInputError(
            "the last follow-up is before the start date", field="last_follow_up"
        )
    return (last_follow_up - start).days, False


def durations_and_events(pairs: Sequence[tuple[int, bool]]) -> tuple[list[int], list[bool]]:
    """Split `duration_from_dates` results into the two sequences `kaplan_meier` takes."""
    return [p[0] for p in pairs], [p[1] for p in pairs]
