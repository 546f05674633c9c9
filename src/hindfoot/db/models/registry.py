"""Outcomes registry summary tables: narrow per-episode rows the registry dashboard aggregates.

The clinical record stays FHIR-shaped (`QuestionnaireResponse`, score `Observation`s); these two
tables are derived from it, per episode, so the dashboard never joins millions of wide rows:

- `registry_score`: per episode and score code, the mean value at each time point (the mean when a
  time point was answered twice), from the Observations that belong to a QuestionnaireResponse;
- `registry_episode`: per episode, which time points have a completed response, and the return to
  sport summary (first reported return date, last status answer, back at the previous level,
  returned at all, number of return-to-sport answers).

`registry_episode` also keeps what places the episode in the dashboard's running totals: its
organisation, patient, the patient's sport, its start day, its anchor day (surgery, else the start
of conservative care), whether it is the patient's first episode, and its completed procedures.

The `registry_total_*` tables are the dashboard's pre-aggregated rows: per organisation and sport,
small keys (a day, a score and time point, days to return, a complication) with integer sums
(`hindfoot.outcomes.tallies`). Their size depends on the calendar and the vocabulary, not on the
number of patients, so the dashboard reads a few thousand rows at any registry size.

This module holds the tables only. Deriving the rows from the record and moving the totals is
`hindfoot.db.registry_sync`; the session hooks that keep it all in step with every write, in the
same transaction, are `hindfoot.db.registry_hooks` (registered once, when `hindfoot.db.models` is
imported).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Final, cast

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from hindfoot.db.base import Base

__all__ = [
    "EPISODE_COLUMNS",
    "REGISTRY_TABLES",
    "REGISTRY_TIMEPOINTS",
    "RETURNED_PREVIOUS",
    "RTS_CODES",
    "SCORE_COLUMNS",
    "TOTALS",
    "RegistryEpisode",
    "RegistryScore",
    "RegistryTotalAnchor",
    "RegistryTotalKm",
    "RegistryTotalProcedure",
    "RegistryTotalScore",
    "RegistryTotalStart",
]

REGISTRY_TIMEPOINTS: Final = ("baseline", "6w", "3m", "6m", "12m")
RTS_CODES: Final = ("rts.status", "rts.date")
RETURNED_PREVIOUS: Final = ("returned_previous_level", "returned_higher_level")


class RegistryScore(Base):
    __tablename__ = "registry_score"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"),
                                                  primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. "faos.pain"
    tp_baseline: Mapped[float | None]
    tp_6w: Mapped[float | None]
    tp_3m: Mapped[float | None]
    tp_6m: Mapped[float | None]
    tp_12m: Mapped[float | None]


class RegistryEpisode(Base):
    __tablename__ = "registry_episode"

    episode_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("episode_of_care.id", ondelete="CASCADE"),
                                                  primary_key=True)
    done_baseline: Mapped[int] = mapped_column(default=0)  # 1 = a completed response at that time point
    done_6w: Mapped[int] = mapped_column(default=0)
    done_3m: Mapped[int] = mapped_column(default=0)
    done_6m: Mapped[int] = mapped_column(default=0)
    done_12m: Mapped[int] = mapped_column(default=0)
    rts_answers: Mapped[int] = mapped_column(default=0)  # rts.status / rts.date observations
    rts_returned_on: Mapped[str | None] = mapped_column(String(300))  # earliest reported return date (ISO)
    rts_last_seen: Mapped[datetime | None]  # latest rts.status answer
    rts_previous: Mapped[int] = mapped_column(default=0)  # 1 = back at the previous level or higher
    rts_returned: Mapped[int] = mapped_column(default=0)  # 1 = any status other than not_returned
    # where the episode counts in the totals (as of its last refresh)
    organization_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    sport: Mapped[str | None] = mapped_column(String(40))
    start_day: Mapped[date | None]
    anchor_day: Mapped[date | None]
    first_of_patient: Mapped[int] = mapped_column(default=0)  # 1 = the patient's first episode in the organisation
    procedures: Mapped[list[Any] | None] = mapped_column(JSON)  # completed: [complication or "", surgical]


def _org_fk() -> Any:
    return mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)


class RegistryTotalStart(Base):
    """Per organisation, sport and episode start day: episodes, patients, baseline and RTS counts."""

    __tablename__ = "registry_total_start"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    episodes: Mapped[int]
    patients: Mapped[int]
    done_baseline: Mapped[int]
    rts_answered: Mapped[int]
    rts_returned: Mapped[int]
    rts_previous: Mapped[int]


class RegistryTotalAnchor(Base):
    """Per organisation, sport and anchor day: episodes and completed follow-ups."""

    __tablename__ = "registry_total_anchor"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    episodes: Mapped[int]
    done_6w: Mapped[int]
    done_3m: Mapped[int]
    done_6m: Mapped[int]
    done_12m: Mapped[int]


class RegistryTotalScore(Base):
    """Per organisation, sport, score and follow-up: change from baseline (sums in millionths)."""

    __tablename__ = "registry_total_score"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    timepoint: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int]
    baseline_sum: Mapped[int] = mapped_column(BigInteger)
    follow_up_sum: Mapped[int] = mapped_column(BigInteger)
    change_sum: Mapped[int] = mapped_column(BigInteger)
    above_mcid: Mapped[int]


class RegistryTotalKm(Base):
    """Per organisation, sport, days from the anchor and outcome (1 returned, 0 censored): episodes."""

    __tablename__ = "registry_total_km"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    days: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


class RegistryTotalProcedure(Base):
    """Per organisation, sport, complication ("" for none) and surgical or not: completed procedures."""

    __tablename__ = "registry_total_procedure"

    organization_id: Mapped[uuid.UUID] = _org_fk()
    sport: Mapped[str] = mapped_column(String(40), primary_key=True)
    complication: Mapped[str] = mapped_column(String(200), primary_key=True)
    surgical: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


# tally kind -> (table, key columns after organisation and sport, value columns)
TOTALS: Final[dict[str, tuple[type[Base], tuple[str, ...], tuple[str, ...]]]] = {
    "start": (RegistryTotalStart, ("day",),
              ("episodes", "patients", "done_baseline", "rts_answered", "rts_returned", "rts_previous")),
    "anchor": (RegistryTotalAnchor, ("day",), ("episodes", "done_6w", "done_3m", "done_6m", "done_12m")),
    "score": (RegistryTotalScore, ("code", "timepoint"),
              ("n", "baseline_sum", "follow_up_sum", "change_sum", "above_mcid")),
    "km": (RegistryTotalKm, ("days", "event"), ("n",)),
    "procedure": (RegistryTotalProcedure, ("complication", "surgical"), ("n",)),
}


REGISTRY_TABLES: Final = ("registry_episode", "registry_score", *(cast(Table, t[0].__table__).name
                                                                  for t in TOTALS.values()))
SCORE_COLUMNS: Final = ["episode_id", "code", *(f"tp_{tp}" for tp in REGISTRY_TIMEPOINTS)]
EPISODE_COLUMNS: Final = ["episode_id", *(f"done_{tp}" for tp in REGISTRY_TIMEPOINTS), "rts_answers",
                          "rts_returned_on", "rts_last_seen", "rts_previous", "rts_returned", "organization_id",
                          "patient_id", "sport", "start_day", "anchor_day", "first_of_patient", "procedures"]


_MOVED: Final = frozenset({"add_totals", "refresh_registry", "forget_registry"})


def __getattr__(name: str) -> Any:
    """The rows' derivation used to live here; the frozen migration 0014 still imports
    `refresh_registry` from this module, so the moved public names resolve on first use."""
    if name in _MOVED:
        from hindfoot.db import registry_sync

        return getattr(registry_sync, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

