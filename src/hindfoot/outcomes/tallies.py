"""What one episode adds to the registry dashboard's running totals (pure: no database).

The dashboard's figures are sums over the clinic's episodes. Each episode's share of them is a
handful of integer counts under a few small keys (organisation, sport, a day, a score code...);
the totals tables hold the sums per key, kept in step by subtracting an episode's old share and
adding its new one whenever its record changes (`hindfoot.db.registry_sync`, run by the session
hooks of `hindfoot.db.registry_hooks`). Every value is an integer (score sums in millionths), so no
amount of adding and subtracting drifts: the totals always equal the sums over the episodes,
whatever the order of the writes.

Keys and values (all counts are of episodes unless said otherwise):

- `start` (org, sport, period start day): episodes, patients (1 on the patient's first episode in
  the organisation), completed baseline, return-to-sport answered / returned / back at the previous
  level; completion at baseline counts the days on or before today;
- `anchor` (org, sport, anchor day): episodes with that anchor (surgery, else the start of
  conservative care), completed 6w / 3m / 6m / 12m; a follow-up is due once anchor + its delay
  is on or before today;
- `score` (org, sport, score code, follow-up time point): episodes with a baseline and that
  follow-up, sums of baseline, follow-up and change (millionths), and how many reach the MCID;
- `km` (org, sport, days from the anchor, returned 1/0): the Kaplan-Meier counts;
- `procedure` (org, sport, complication ("" for none), surgical 1/0): completed procedures.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from hindfoot.outcomes.instruments import load_mcid

__all__ = ["FOLLOW_UP_POINTS", "KINDS", "MICRO", "SCORE_CODES", "SURGICAL_CODES", "EpisodeShare", "Tally", "add_into", "shares"]

MICRO: Final = 1_000_000  # score sums are kept in millionths of a point
FOLLOW_UP_POINTS: Final = ("6w", "3m", "6m", "12m")
TIMEPOINTS: Final = ("baseline", *FOLLOW_UP_POINTS)
# kind -> number of integer values under each of its keys
# the scores the dashboard shows (`outcomes.vocabulary.SCORE_LABELS`); other codes are not counted
SCORE_CODES: Final = ("faos.symptoms", "faos.pain", "faos.adl", "faos.sport_rec", "faos.qol", "faam.adl",
                      "faam.sports", "pain.nrs")
# the completed procedures that anchor follow-up (`outcomes.vocabulary.SURGICAL_PROCEDURES`)
SURGICAL_CODES: Final = ("posterior_arthroscopic_excision", "posterior_arthroscopic_debridement", "open_excision")
KINDS: Final[dict[str, int]] = {"start": 6, "anchor": 5, "score": 5, "km": 1, "procedure": 1}

Key = tuple[object, ...]  # (kind, organization_id, sport, *rest)
Tally = dict[Key, list[int]]


@dataclass(frozen=True)
class EpisodeShare:
    """The facts about one episode that the dashboard counts."""

    organization_id: uuid.UUID
    sport: str
    start_day: date
    anchor_day: date | None
    first_of_patient: bool
    done: Mapping[str, int]  # time point -> 1 when a completed response exists
    rts_answers: int
    rts_returned_on: str | None  # ISO date
    rts_last_seen: date | None
    rts_previous: int
    rts_returned: int
    procedures: Iterable[tuple[str, int]]  # completed: (complication or "", surgical 1/0)
    scores: Iterable[tuple[str, Mapping[str, float | None]]]  # (code, time point -> the episode's mean)


_MCID_CACHE: dict[str, tuple[float, float]] = {}


def mcid_of(code: str) -> tuple[float, float]:
    """(MCID, sign of an improvement) of a dashboard score code (pain: lower is better)."""
    if code not in _MCID_CACHE:
        instrument, _, sub = code.partition(".")
        m = load_mcid(instrument)["pain" if instrument == "pain" else sub]
        _MCID_CACHE[code] = (m.value, -1.0 if code == "pain.nrs" else 1.0)
    return _MCID_CACHE[code]


def _micro(value: float) -> int:
    return round(value * MICRO)


@functools.lru_cache(maxsize=65536)
def _score_share(code: str, base: float, fu: float) -> tuple[int, int, int, int, int]:
    """One episode's share of a score total (scores repeat: a bulk load meets the same pairs often)."""
    value, sign = mcid_of(code)
    change = fu - base
    return 1, _micro(base), _micro(fu), _micro(change), int(sign * change >= value - 1e-9)


def shares(e: EpisodeShare) -> Tally:
    """The episode's share of every total (only the keys it adds to)."""
    org, sport = e.organization_id, e.sport
    out: Tally = {}
    answered = int(e.rts_answers > 0)
    out[("start", org, sport, e.start_day)] = [
        1, int(e.first_of_patient), int(e.done.get("baseline", 0) == 1), answered,
        answered * int(e.rts_returned == 1), answered * int(e.rts_previous == 1)]
    if e.anchor_day is not None:
        out[("anchor", org, sport, e.anchor_day)] = [1, *(int(e.done.get(tp, 0) == 1) for tp in FOLLOW_UP_POINTS)]
    for code, by_tp in e.scores:
        base = by_tp.get("baseline")
        if code not in SCORE_CODES or base is None:
            continue
        for tp in FOLLOW_UP_POINTS:
            fu = by_tp.get(tp)
            if fu is None:
                continue
            out[("score", org, sport, code, tp)] = list(_score_share(code, base, fu))
    if answered and e.anchor_day is not None and e.rts_last_seen is not None:
        returned_on = _iso_day(e.rts_returned_on)
        end = returned_on if e.rts_returned_on is not None else e.rts_last_seen
        if end is not None:
            days = (end - e.anchor_day).days
            if days >= 0:
                out[("km", org, sport, days, int(e.rts_returned_on is not None))] = [1]
    for complication, surgical in e.procedures:
        key = ("procedure", org, sport, complication or "", int(surgical))
        out.setdefault(key, [0])[0] += 1
    return out


def _iso_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def add_into(total: Tally, part: Tally, sign: int = 1) -> None:
    """total += sign * part, key by key."""
    for key, values in part.items():
        have = total.get(key)
        if have is None:
            total[key] = [sign * v for v in values]
        else:
            for i, v in enumerate(values):
                have[i] += sign * v
