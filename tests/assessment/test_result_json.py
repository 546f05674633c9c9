"""The public JSON builder's exact rounding (`round_all` must equal Python's `round`, value by value)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hindfoot.assessment.schemas import round_all, round_array


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


@pytest.mark.parametrize("ndigits", [0, 1, 4, 6, 10])
def test_round_all_is_pythons_round_on_random_values(ndigits: int) -> None:
    rng = np.random.default_rng(ndigits)
    values = [
        *(rng.normal(0, 1, 20_000)),
        *(rng.normal(0, 50, 20_000)),
        *(rng.uniform(-1e-3, 1e-3, 5_000)),
        *(10.0 ** rng.uniform(-12, 12, 5_000) * rng.choice([-1, 1], 5_000)),
    ]
    values = [float(v) for v in values]
    assert all(_same(a, round(v, ndigits)) for a, v in zip(round_all(values, ndigits), values, strict=True))


@pytest.mark.parametrize("ndigits", [0, 2, 4])
def test_round_all_is_pythons_round_at_and_next_to_ties(ndigits: int) -> None:
    ties = [(k + 0.5) / 10**ndigits for k in range(-3000, 3000)]  # the nearest doubles to halfway points
    values = [w for t in ties for w in (t, math.nextafter(t, math.inf), math.nextafter(t, -math.inf))]
    values += [0.0, -0.0, 1e-300, -1e-300, 2.0**30, 1e20, -1e20, math.inf, -math.inf, math.nan]
    out = round_all(values, ndigits)
    assert all(_same(a, round(v, ndigits)) for a, v in zip(out, values, strict=True))


def test_round_all_edge_cases() -> None:
    assert round_all([], 4) == []
    with pytest.raises(ValueError):
        round_all([1.0], 16)


def test_round_array_keeps_the_shape_and_rounds_ties_like_python_in_two_dimensions() -> None:
    ties = [(k + 0.5) / 10**4 for k in range(-600, 600)]
    values = np.array([w for t in ties for w in (t, math.nextafter(t, math.inf), math.nextafter(t, -math.inf))])
    matrix = values.reshape(60, 60)
    out = round_array(matrix, 4)
    assert out.shape == (60, 60)
    assert matrix.tolist() == values.reshape(60, 60).tolist()  # the input is left alone
    assert all(_same(a, round(v, 4)) for a, v in zip(out.ravel().tolist(), values.tolist(), strict=True))


def test_changing_one_answer_leaves_the_next_answer_alone() -> None:
    """Contributions are copies of shared stubs: a caller that edits its JSON cannot change the next one."""
    from hindfoot.assessment.engine import assess
    from hindfoot.assessment.schemas import parse_case, result_json

    case = parse_case({"setting": "self", "present": ["pain_back_of_ankle", "pain_on_pointing_toes"],
                       "absent": ["cannot_bear_weight"]})
    first = result_json(assess(case))
    before = result_json(assess(case))
    for condition in first["ranking"]:
        for item in (*condition["for"], *condition["against"]):
            item["contribution"] = 99.0
            item["finding"] = "edited"
    assert result_json(assess(case)) == before
    assert all(x["contribution"] != 99.0 for c in before["ranking"] for x in (*c["for"], *c["against"]))
