"""k-anonymity of the registry export (pure): rare combinations generalised, unique rows withheld."""

from __future__ import annotations

import random

import pytest

from hindfoot.outcomes.disclosure import QUASI_IDENTIFIERS, SUPPRESSED, protect, smallest_group


def _row(age="30-39", sex="female", sport="ballet", level="professional", side="right", year="2026", score="55.0"):
    return {"age_band": age, "sex": sex, "sport": sport, "level": level, "side": side, "episode_year": year,
            "faos.pain_6w": score}


def test_groups_already_large_enough_are_left_alone():
    rows = [_row(score=str(i)) for i in range(5)]
    out = protect(rows, 5)
    assert out.rows == rows and (out.suppressed, out.withheld) == (0, 0)


def test_the_least_useful_identifier_goes_first_and_only_where_needed():
    rows = [_row(level="professional") for _ in range(5)] + [_row(level="recreational") for _ in range(3)] + [
        _row(level="competitive") for _ in range(2)]
    out = protect(rows, 5)
    levels = [r["level"] for r in out.rows]
    assert levels == ["professional"] * 5 + [SUPPRESSED] * 5  # the 5 rarer rows now share a group
    assert out.suppressed == 5 and out.withheld == 0
    assert [r["sport"] for r in out.rows] == ["ballet"] * 10  # nothing else touched


def test_a_row_that_stays_unique_is_withheld_and_scores_never_change():
    rows = [_row(score=str(i)) for i in range(6)] + [_row(age="70+", sex="male", sport="football", score="99.0")]
    out = protect(rows, 5)
    assert out.withheld == 1 and len(out.rows) == 6
    assert [r["faos.pain_6w"] for r in out.rows] == [str(i) for i in range(6)]


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_every_combination_is_shared_by_k_rows_on_random_registries(k):
    rng = random.Random(k)
    rows = [_row(age=rng.choice(["16-19", "20-29", "30-39", "40-49"]), sex=rng.choice(["female", "male"]),
                 sport=rng.choice(["ballet", "football", "cricket", "gymnastics", "running"]),
                 level=rng.choice(["recreational", "competitive", "professional"]), side=rng.choice(["left", "right"]),
                 year=rng.choice(["2024", "2025", "2026"]), score=str(i)) for i in range(300)]
    before_copy = [dict(r) for r in rows]
    out = protect(rows, k)
    assert rows == before_copy  # the input rows are never changed
    assert smallest_group(out.rows) >= k
    assert len(out.rows) + out.withheld == 300
    assert {r["faos.pain_6w"] for r in out.rows} <= {r["faos.pain_6w"] for r in rows}
    for before, after in zip([r for r in rows if r["faos.pain_6w"] in {x["faos.pain_6w"] for x in out.rows}],
                             out.rows, strict=True):
        assert all(after[q] in (before[q], SUPPRESSED) for q in QUASI_IDENTIFIERS)
    with pytest.raises(ValueError):
        protect(rows, 0)
