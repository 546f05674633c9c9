"""Scoring against worked examples computed by hand from the manuals.

FAOS subscale = 100 - 25 x mean(answered items), scored when >= half the items are answered.
FAAM subscale = 100 x sum / (4 x items answered 0-4); "na" leaves sum and count; not scored
when > 2 ADL or > 1 Sports items are missing.
"""

from __future__ import annotations

import pytest

from hindfoot.errors import InvalidInput
from hindfoot.outcomes import scoring
from hindfoot.outcomes.instruments import load_mcid
from hindfoot.outcomes.scoring import (
    FAAM_SUBSCALES,
    FAOS_SUBSCALES,
    ScoringInputError,
    classify_change,
    faam_globals,
    score,
    score_faam,
    score_faos,
    score_pain,
)


def faos(**subscale_values: list[int | None]) -> dict[str, int | None]:
    """Build FAOS responses from per-subscale value lists (in item order)."""
    out: dict[str, int | None] = {}
    for sub, values in subscale_values.items():
        out.update(dict(zip(FAOS_SUBSCALES[sub], values, strict=True)))
    return out


def faam(
    adl: list[int | str | None], sports: list[int | str | None]
) -> dict[str, int | str | None]:
    return dict(zip(FAAM_SUBSCALES["adl"], adl, strict=True)) | dict(
        zip(FAAM_SUBSCALES["sports"], sports, strict=True)
    )


# ---------------------------------------------------------------- FAOS


def test_faos_all_best_is_100():
    result = score_faos({i: 0 for ids in FAOS_SUBSCALES.values() for i in ids})
    assert result == {
        "scores": {
            "symptoms": 100.0,
            "pain": 100.0,
            "adl": 100.0,
            "sport_rec": 100.0,
            "qol": 100.0,
        },
        "notes": [],
    }


def test_faos_all_worst_is_0():
    result = score_faos({i: 4 for ids in FAOS_SUBSCALES.values() for i in ids})
    assert result["scores"] == {
        "symptoms": 0.0,
        "pain": 0.0,
        "adl": 0.0,
        "sport_rec": 0.0,
        "qol": 0.0,
    }


def test_faos_mixed_worked_example():
    result = score_faos(
        faos(
            symptoms=[1, 2, 0, 3, 1, 0, 2],  # sum 9, mean 9/7 -> 100 - 225/7 = 67.857142...
            pain=[2] * 9,  # mean 2 -> 50
            adl=[1] * 17,  # mean 1 -> 75
            sport_rec=[4, 4, 3, 3, 2],  # sum 16, mean 3.2 -> 20
            qol=[3, 2, 3, 1],  # sum 9, mean 2.25 -> 43.75
        )
    )
    s = result["scores"]
    assert s["symptoms"] == pytest.approx(100 - 225 / 7, abs=1e-12)
    assert s["symptoms"] == pytest.approx(67.857142857142857, abs=1e-12)
    assert s == {
        "symptoms": s["symptoms"],
        "pain": 50.0,
        "adl": 75.0,
        "sport_rec": 20.0,
        "qol": 43.75,
    }
    assert result["notes"] == []


def test_faos_missing_at_threshold_scores_mean_of_answered():
    result = score_faos(
        faos(
            symptoms=[1, 1, 1, 1, None, None, None],  # 4 of 7 -> mean 1 -> 75
            pain=[0, 4, 0, 4, 1, None, None, None, None],  # 5 of 9, sum 9, mean 1.8 -> 55
            adl=[2] * 9 + [None] * 8,  # 9 of 17 -> 50
            sport_rec=[1, 2, 4, None, None],  # 3 of 5, mean 7/3 -> 100 - 175/3 = 41.666...
            qol=[0, 1, None, None],  # 2 of 4, mean 0.5 -> 87.5
        )
    )
    s = result["scores"]
    assert s["symptoms"] == 75.0
    assert s["pain"] == pytest.approx(55.0, abs=1e-12)
    assert s["adl"] == 50.0
    assert s["sport_rec"] == pytest.approx(100 - 175 / 3, abs=1e-12)
    assert s["qol"] == 87.5
    assert len(result["notes"]) == 5
    assert result["notes"][0] == "symptoms: scored from 4 of 7 items (3 missing: S5, S6, S7)"


def test_faos_missing_beyond_threshold_is_null_with_reason():
    result = score_faos(
        faos(
            symptoms=[1, 1, 1, None, None, None, None],  # 3 of 7 < 4
            pain=[0, 0, 0, 0, None, None, None, None, None],  # 4 of 9 < 5
            adl=[2] * 8 + [None] * 9,  # 8 of 17 < 9
            sport_rec=[1, 2, None, None, None],  # 2 of 5 < 3
            qol=[0, None, None, None],  # 1 of 4 < 2
        )
    )
    assert result["scores"] == dict.fromkeys(FAOS_SUBSCALES)
    assert result["notes"] == [
        "symptoms: not scored, 3 of 7 items answered (at least 4 needed)",
        "pain: not scored, 4 of 9 items answered (at least 5 needed)",
        "adl: not scored, 8 of 17 items answered (at least 9 needed)",
        "sport_rec: not scored, 2 of 5 items answered (at least 3 needed)",
        "qol: not scored, 1 of 4 items answered (at least 2 needed)",
    ]


def test_faos_absent_keys_count_as_missing():
    result = score_faos({"Q1": 2, "Q2": 2})
    assert result["scores"]["qol"] == 50.0
    assert result["scores"]["pain"] is None


def test_faos_min_answered_is_half_rounded_up():
    for sub, ids in FAOS_SUBSCALES.items():
        assert scoring.FAOS_MIN_ANSWERED[sub] == -(-len(ids) // 2)


# ---------------------------------------------------------------- FAAM


def test_faam_all_best_and_all_worst():
    assert score_faam(faam([4] * 21, [4] * 8)) == {
        "scores": {"adl": 100.0, "sports": 100.0},
        "notes": [],
    }
    assert score_faam(faam([0] * 21, [0] * 8))["scores"] == {"adl": 0.0, "sports": 0.0}


def test_faam_mixed_with_na_and_one_missing_sports_item():
    # ADL: ten 4s, five 3s, three 2s, one 1, two N/A -> 19 answered, sum 40+15+6+1 = 62
    #      100 x 62 / (4 x 19) = 6200 / 76 = 81.578947...
    # Sports: 4,3,3,2,2,1,0 and one missing -> 7 answered, sum 15 -> 1500 / 28 = 53.571428...
    adl: list[int | str | None] = [4] * 10 + [3] * 5 + [2] * 3 + [1] + ["na", "na"]
    result = score_faam(faam(adl, [4, 3, 3, 2, 2, 1, 0, None]))
    assert result["scores"]["adl"] == pytest.approx(6200 / 76, abs=1e-12)
    assert result["scores"]["adl"] == pytest.approx(81.578947368421, abs=1e-9)
    assert result["scores"]["sports"] == pytest.approx(1500 / 28, abs=1e-12)
    assert result["notes"] == [
        "adl: scored from 19 of 21 items (2 not applicable)",
        "sports: scored from 7 of 8 items (1 missing: SPORTS8)",
    ]


def test_faam_missing_limits():
    # ADL: 2 missing is allowed (19 x 3 -> 75), 3 missing is not; Sports: 2 missing is not.
    ok = score_faam(faam([3] * 19 + [None, None], [2] * 8))
    assert ok["scores"] == {"adl": 75.0, "sports": 50.0}
    too_many = score_faam(faam([3] * 18 + [None] * 3, [2] * 6 + [None, None]))
    assert too_many["scores"] == {"adl": None, "sports": None}
    assert too_many["notes"] == [
        "adl: not scored, 3 of 21 items missing (at most 2 allowed; 'na' does not count as missing)",
        "sports: not scored, 2 of 8 items missing (at most 1 allowed; 'na' does not count as missing)",
    ]


def test_faam_na_is_not_missing():
    # 20 N/A and one 3: nothing missing, so scored from the single item: 100 x 3 / 4 = 75
    result = score_faam(faam(["na"] * 20 + [3], ["na"] * 8))
    assert result["scores"]["adl"] == 75.0
    assert result["scores"]["sports"] is None
    assert "sports: not scored, no item answered 0-4 (all answered 'na')" in result["notes"]


def test_faam_globals_are_validated_not_scored():
    responses = faam([4] * 21, [4] * 8) | {"ADL_GLOBAL": 70, "SPORTS_GLOBAL": None}
    assert score_faam(responses)["scores"] == {"adl": 100.0, "sports": 100.0}
    assert faam_globals(responses) == {"adl": 70, "sports": None}
    with pytest.raises(ScoringInputError, match="ADL_GLOBAL: 101 is out of range"):
        score_faam({"ADL_GLOBAL": 101})


# ---------------------------------------------------------------- pain


@pytest.mark.parametrize("value", [0, 7, 10])
def test_pain_is_the_rating(value):
    assert score_pain({"PAIN": value}) == {"scores": {"pain": float(value)}, "notes": []}


def test_pain_missing():
    for responses in ({}, {"PAIN": None}):
        result = score_pain(responses)
        assert result["scores"] == {"pain": None}
        assert result["notes"] == ["pain: not scored, PAIN not answered"]


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("instrument", "responses", "item", "problem"),
    [
        ("faos", {"S8": 1}, "S8", "unknown item id"),
        ("faos", {"PAIN": 1}, "PAIN", "unknown item id"),
        ("faos", {"S1": 5}, "S1", "out of range"),
        ("faos", {"P1": -1}, "P1", "out of range"),
        ("faos", {"A1": "na"}, "A1", "not a valid answer"),
        ("faos", {"Q1": "2"}, "Q1", "not a valid answer"),
        ("faos", {"Q1": 2.0}, "Q1", "not a valid answer"),
        ("faos", {"Q1": True}, "Q1", "not a valid answer"),
        ("faam", {"ADL1": 5}, "ADL1", "out of range"),
        ("faam", {"SPORTS9": 1}, "SPORTS9", "unknown item id"),
        ("faam", {"SPORTS1": "n/a"}, "SPORTS1", "not a valid answer"),
        ("pain", {"PAIN": 11}, "PAIN", "out of range"),
        ("pain", {"PAIN": "na"}, "PAIN", "not a valid answer"),
    ],
)
def test_bad_input_names_item_and_problem(instrument, responses, item, problem):
    with pytest.raises(ScoringInputError) as info:
        score(instrument, responses)
    assert item in str(info.value) and problem in str(info.value)
    assert info.value.field == item
    assert isinstance(info.value, ValueError) and isinstance(info.value, InvalidInput)


def test_unknown_instrument():
    with pytest.raises(ScoringInputError, match="unknown instrument 'koos'"):
        score("koos", {})


# ---------------------------------------------------------------- MCID


def test_mcid_values_and_sources():
    faos_mcid = load_mcid("faos")
    assert set(faos_mcid) == set(FAOS_SUBSCALES)
    assert all(
        m.value == 10 and m.sources == ("FAOS_MID",) and m.better == "higher"
        for m in faos_mcid.values()
    )
    faam_mcid = load_mcid("faam")
    assert (faam_mcid["adl"].value, faam_mcid["sports"].value) == (8, 9)
    assert faam_mcid["adl"].sources == ("MARTIN05",)
    pain = load_mcid("pain")["pain"]
    assert (pain.value, pain.better, pain.sources) == (2, "lower", ("SALAFFI04", "FARRAR01"))
    for code in scoring.SCORED_INSTRUMENTS:
        assert set(load_mcid(code)) == set(scoring.subscales(code))


def test_classify_change():
    assert classify_change(50, 60, 10, "higher") == "improved"
    assert classify_change(50, 59.9, 10, "higher") == "unchanged"
    assert classify_change(50, 40, 10, "higher") == "worsened"
    assert classify_change(7, 5, 2, "lower") == "improved"
    assert classify_change(5, 6, 2, "lower") == "unchanged"


# ---------------------------------------------------------------- return to sport (not scored)


def test_read_rts():
    from datetime import date

    from hindfoot.outcomes.scoring import ReturnToSport, read_rts

    assert read_rts({}) is None
    assert read_rts({"RTS_STATUS": "not_returned"}) == ReturnToSport("not_returned", None)
    back = read_rts({"RTS_STATUS": "returned_previous_level", "RTS_DATE": "2024-05-02"})
    assert back == ReturnToSport("returned_previous_level", date(2024, 5, 2)) and back.returned


@pytest.mark.parametrize(
    ("responses", "field"),
    [
        ({"RTS_STATUS": "back"}, "RTS_STATUS"),
        ({"RTS_STATUS": "returned_lower_level"}, "RTS_DATE"),
        ({"RTS_STATUS": "returned_lower_level", "RTS_DATE": "2024-13-01"}, "RTS_DATE"),
        ({"RTS_STATUS": "returned_lower_level", "RTS_DATE": 20240101}, "RTS_DATE"),
        ({"RTS_STATUS": "not_returned", "RTS_DATE": "2024-01-01"}, "RTS_DATE"),
        ({"RTS_DATE": "2024-01-01"}, "RTS_STATUS"),
        ({"RTS_LEVEL": 1}, "RTS_LEVEL"),
    ],
)
def test_read_rts_refuses(responses, field):
    from hindfoot.outcomes.scoring import read_rts

    with pytest.raises(ScoringInputError) as info:
        read_rts(responses)
    assert info.value.field == field
