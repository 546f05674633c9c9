"""Disclosure control for the registry's row-level export (pure).

A de-identified row can still point at one person when its combination of indirect identifiers is
rare: the only professional footballer in their forties operated on this year. Each row's
combination of the quasi-identifiers below must therefore be shared by at least `k` rows (k-anonymity).
Rows in smaller groups have their values replaced by `SUPPRESSED`, one identifier at a time in
`SUPPRESSION_ORDER` (the least useful for analysis first), recounting after each; rows still in a
group smaller than k after all of them are withheld. Scores and outcomes are never changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

QUASI_IDENTIFIERS = ("age_band", "sex", "sport", "level", "side", "episode_year")
SUPPRESSION_ORDER = ("level", "side", "episode_year", "sport", "age_band", "sex")
SUPPRESSED = "*"


@dataclass(frozen=True)
class Protected:
    rows: list[dict[str, str]]
    suppressed: int  # values replaced by SUPPRESSED
    withheld: int  # rows left out


def _key(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(row[q] for q in QUASI_IDENTIFIERS)


def protect(rows: Sequence[dict[str, str]], k: int) -> Protected:
    """Rows (copied, in the same order) in which every quasi-identifier combination is shared by at least k rows."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    out = [dict(r) for r in rows]
    suppressed = 0
    for attribute in SUPPRESSION_ORDER:
        counts = Counter(map(_key, out))
        small = [r for r in out if counts[_key(r)] < k]
        if not small:
            break
        for r in small:
            if r[attribute] != SUPPRESSED:
                r[attribute] = SUPPRESSED
                suppressed += 1
    counts = Counter(map(_key, out))
    kept = [r for r in out if counts[_key(r)] >= k]
    return Protected(rows=kept, suppressed=suppressed, withheld=len(out) - len(kept))


def smallest_group(rows: Sequence[dict[str, str]]) -> int:
    """The size of the rarest quasi-identifier combination (0 for no rows)."""
    return min(Counter(map(_key, rows)).values(), default=0)
