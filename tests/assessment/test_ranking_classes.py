"""Ranking classes of issue 10's fifth pass (docs/decision-support.md): children are not ranked as adults,
the medial tubercle fracture of the posterior talar process, a midfoot site, post-traumatic impingement."""

from __future__ import annotations

import pytest

from hindfoot.assessment.engine import assess, compiled, prior
from hindfoot.assessment.interview import next_step, start
from hindfoot.assessment.schemas import AssessmentResult, Case, result_json


def _case(present: list[str], absent: tuple[str, ...] = (), *, setting: str = "self", **demo: object) -> Case:
    return Case.model_validate({"id": "t", "setting": setting, "present": present, "absent": list(absent), **demo})


def _ratio(age: int, a: str, b: str) -> float:
    model = compiled()
    p = prior(model, age, "male", None)
    ids = model.condition_ids
    return float(p[ids.index(a)] / p[ids.index(b)])


@pytest.mark.parametrize(("condition", "factor", "child"), [
    ("achilles_tendinopathy_midportion", 0.33, 12),  # prevalence 2% under 18 against 6% [WANG22]
    ("anterior_ankle_impingement", 0.2, 12),  # an adult's condition of years of kicking [NM_AAI]
])
def test_adult_conditions_are_down_weighted_in_a_child(condition: str, factor: float, child: int) -> None:
    # against a condition with no age modifier between the two ages, so the ratio shows the factor alone
    other = "peroneal_tendon_disorder"
    assert _ratio(child, condition, other) == pytest.approx(factor * _ratio(25, condition, other), rel=1e-6)


def test_a_child_gymnasts_gradual_heel_pain_ranks_severs_first_not_an_adult_tendinopathy() -> None:
    r = assess(_case(["onset_gradual", "duration_over_3_months", "pain_on_push_off"],
                     age=12, sex="female", sport="gymnastics"))
    assert r.ranking[0].condition == "calcaneal_apophysitis"
    # an adult of the same sport with the same story still reads as Achilles tendinopathy
    adult = assess(_case(["onset_gradual", "duration_over_3_months", "pain_on_push_off"],
                         age=30, sex="female", sport="gymnastics"))
    assert adult.ranking[0].condition == "achilles_tendinopathy_midportion"


def test_a_child_footballers_long_gradual_pain_does_not_lead_with_footballers_ankle() -> None:
    r = assess(_case(["onset_gradual", "duration_over_3_months"], age=11, sex="male", sport="football"))
    top3 = [c.condition for c in r.ranking[:3]]
    assert "calcaneal_apophysitis" in top3
    assert "anterior_ankle_impingement" not in top3


def test_posteromedial_signs_after_an_injury_point_to_the_medial_tubercle_fracture() -> None:
    r = assess(_case(["onset_sudden_injury", "pain_posteromedial", "posteromedial_tenderness", "swelling_back_of_ankle"],
                     ("malleolar_bone_tenderness", "cannot_bear_weight"), setting="clinic",
                     age=30, sex="male", sport="basketball"))
    fracture = next(c for c in r.ranking if c.condition == "ankle_fracture")
    assert fracture.subtype == "posterior_talar_process_medial"
    assert [c.condition for c in r.ranking[:4]].count("ankle_fracture") == 1
    contrib = {e["finding"]: e["contribution"] for e in _explained(r, "ankle_fracture")}
    assert contrib["pain_posteromedial"] > 0 and contrib["posteromedial_tenderness"] > 0


def _explained(r: AssessmentResult, condition: str) -> list[dict]:
    body = result_json(r)
    row = next(c for c in body["ranking"] if c["condition"] == condition)
    return row["for"] + row["against"]


def test_the_site_question_offers_the_midfoot_and_midfoot_pain_points_to_a_stress_fracture() -> None:
    step = next_step(start("self", age=20, sex="male", sport="running"))
    assert "pain_midfoot" in {f for f, _ in step.question.choices}
    story = ["onset_gradual", "pain_on_push_off", "recent_training_increase"]
    without = assess(_case(story, age=20, sex="male", sport="running"))
    with_site = assess(_case([*story, "pain_midfoot"], age=20, sex="male", sport="running"))
    assert without.ranking[0].condition == "achilles_tendinopathy_midportion"
    assert with_site.ranking[0].condition == "stress_fracture"


def test_a_pain_that_began_with_a_sprain_began_with_an_injury_in_posterior_impingement() -> None:
    pai = next(c for c in compiled().kb.conditions if c.id == "posterior_ankle_impingement")
    assert pai.likelihoods["onset_sudden_injury"].p >= pai.likelihoods["after_ankle_sprain"].p
    assert pai.likelihoods["onset_sudden_injury"].p + pai.likelihoods["onset_gradual"].p <= 1.0
