"""Validated decision rules (knowledge/data/decision_rules.yaml), each held to its publication's
definition and thresholds: Ottawa ankle and midfoot rules (Stiell 1992; Bachmann 2003), Wells score with
D-dimer (Wells 2003; NICE NG158), the acute hot or swollen joint (BSR 2006) and the Kocher criteria
(Kocher 1999: 0-4 predictors = 0.2%, 3.0%, 40.0%, 93.1%, 99.6%), the AAOS Achilles rupture criteria
(two or more of four) and the high-risk stress-fracture sites (Boden 2000)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hindfoot.assessment.engine import assess
from hindfoot.assessment.schemas import Case, result_json
from hindfoot.assessment.triage import RANK
from hindfoot.knowledge.loader import DATA_DIR, check_kb


def rule(case: Case, rule_id: str):
    r = assess(case)
    found = [d for d in r.decision_rules if d.rule == rule_id]
    return (found[0] if found else None), r


def clinic(present=(), absent=(), age=30, **kw) -> Case:
    return Case(id="x", setting="clinic", age=age, present=tuple(present), absent=tuple(absent), **kw)


# --------------------------------------------------------------------------- Ottawa


def test_ottawa_ankle_positive_with_malleolar_tenderness_asks_for_an_x_ray_today() -> None:
    d, r = rule(clinic(["onset_sudden_injury", "injury_inversion", "malleolar_bone_tenderness"],
                       ["cannot_bear_weight"]), "ottawa_ankle")
    assert d.status == "positive" and "X-ray the ankle" in d.result and d.disposition == "urgent"
    assert RANK[r.disposition] >= RANK["urgent"]


def test_ottawa_ankle_negative_when_both_criteria_are_absent() -> None:
    d, _ = rule(clinic(["onset_sudden_injury", "injury_inversion"], ["cannot_bear_weight", "malleolar_bone_tenderness"]),
                "ottawa_ankle")
    assert d.status == "negative" and "no X-ray needed" in d.result and d.disposition is None


def test_ottawa_ankle_is_incomplete_while_a_criterion_is_unknown_and_names_it() -> None:
    d, _ = rule(clinic(["onset_sudden_injury"], ["cannot_bear_weight"]), "ottawa_ankle")
    assert d.status == "incomplete" and d.missing == ("malleolar_bone_tenderness",)


def test_ottawa_rules_are_not_shown_without_an_injury() -> None:
    d, _ = rule(clinic(["onset_gradual", "pain_back_of_ankle"], ["cannot_bear_weight"]), "ottawa_ankle")
    assert d is None


def test_ottawa_midfoot_positive_with_navicular_tenderness() -> None:
    d, _ = rule(clinic(["onset_sudden_injury", "navicular_bone_tenderness"]), "ottawa_midfoot")
    assert d.status == "positive" and "X-ray the foot" in d.result


# --------------------------------------------------------------------------- Wells + D-dimer


def test_wells_likely_with_three_items_asks_for_an_ultrasound_within_4_hours() -> None:
    d, r = rule(clinic(["calf_pain", "calf_swelling_warmth", "calf_swelling_3cm_more", "pitting_oedema_symptomatic_leg",
                        "recent_immobilisation_or_surgery"]), "wells_dvt")
    assert d.score >= 2 and d.status == "positive"  # at least 3 points, the alternative term can only take 2
    assert "ultrasound within 4 hours" in d.result and RANK[r.disposition] >= RANK["urgent"]


WELLS_ITEMS = ["active_cancer", "leg_paralysis_or_plaster", "recent_immobilisation_or_surgery", "tenderness_deep_veins",
               "entire_leg_swollen", "calf_swelling_3cm_more", "pitting_oedema_symptomatic_leg",
               "collateral_superficial_veins", "previous_dvt"]


def test_wells_unlikely_with_an_alternative_diagnosis_and_negative_d_dimer_rules_dvt_out() -> None:
    present = ["calf_pain", "pain_achilles_midportion", "onset_gradual", "achilles_midportion_thickened_tender"]
    d, _ = rule(clinic(present, [*WELLS_ITEMS, "d_dimer_raised"]), "wells_dvt")
    alternative = next(c for c in d.criteria if c.finding is None)
    assert alternative.answer == "present" and d.score == -2 and d.status == "negative"
    assert d.result == "DVT unlikely and D-dimer negative: DVT ruled out"


def test_wells_unlikely_but_raised_d_dimer_asks_for_an_ultrasound() -> None:
    present = ["calf_pain", "pain_achilles_midportion", "onset_gradual", "d_dimer_raised"]
    d, r = rule(clinic(present, WELLS_ITEMS), "wells_dvt")
    assert d.status == "negative" and "ultrasound" in d.result and d.disposition == "urgent"
    assert RANK[r.disposition] >= RANK["urgent"]


def test_wells_is_incomplete_while_unanswered_items_could_reach_2() -> None:
    d, _ = rule(clinic(["calf_pain"], ["active_cancer"]), "wells_dvt")
    assert d.status == "incomplete" and "previous_dvt" in d.missing and d.score_max >= 2


# --------------------------------------------------------------------------- hot joint, Kocher


def test_acute_hot_joint_without_injury_is_septic_until_proven_otherwise_even_with_gout() -> None:
    d, r = rule(clinic(["hot_red_joint", "history_gout_or_inflammatory"], ["fever_or_unwell"]), "hot_swollen_joint")
    assert d.status == "positive" and "until proven otherwise" in d.result
    assert RANK[r.disposition] >= RANK["urgent"]


KOCHER = ["cannot_bear_weight", "temperature_over_38_5", "esr_over_40", "wbc_over_12000"]


@pytest.mark.parametrize(("n", "probability", "status"),
                         [(0, 0.002, "negative"), (1, 0.030, "negative"), (2, 0.400, "positive"),
                          (3, 0.931, "positive"), (4, 0.996, "positive")])
def test_kocher_criteria_give_the_published_probability_for_each_count(n: int, probability: float, status: str) -> None:
    d, r = rule(clinic(["swelling_whole_ankle", *KOCHER[:n]], KOCHER[n:], age=8), "kocher_criteria")
    assert d.status == status and d.score == n and d.probability == (probability, probability)
    if status == "positive":
        assert r.disposition == "emergency"


def test_a_positive_kocher_result_puts_septic_arthritis_first_even_without_a_swelling_or_fever() -> None:
    # Kocher 1999: non-weight-bearing and a white cell count over 12,000 are two predictors (40%)
    d, r = rule(clinic(["cannot_bear_weight", "wbc_over_12000"], age=8), "kocher_criteria")
    assert d.status == "positive" and r.disposition == "emergency"
    assert r.ranking[0].condition == "septic_arthritis"


def test_a_negative_kocher_result_does_not_move_the_ranking() -> None:
    d, r = rule(clinic(["swelling_whole_ankle"], KOCHER, age=8), "kocher_criteria")
    assert d.status == "negative"
    probs = [c.probability for c in r.ranking]
    assert probs == sorted(probs, reverse=True)


def test_kocher_criteria_only_for_children() -> None:
    d, _ = rule(clinic(["swelling_whole_ankle", *KOCHER], age=40), "kocher_criteria")
    assert d is None


# --------------------------------------------------------------------------- Achilles, stress fracture


def test_aaos_rupture_established_by_two_of_four_findings() -> None:
    d, r = rule(clinic(["thompson_test_positive", "palpable_gap_achilles"]), "aaos_achilles_rupture")
    assert d.status == "positive" and d.score == 2 and r.disposition == "urgent"
    assert r.top.condition == "achilles_rupture"


def test_aaos_rupture_not_established_by_one_finding_with_the_others_absent() -> None:
    d, _ = rule(clinic(["thompson_test_positive"],
                       ["plantarflexion_weakness", "palpable_gap_achilles", "increased_resting_dorsiflexion"]),
                "aaos_achilles_rupture")
    assert d.status == "negative" and d.score == 1


def test_high_risk_stress_fracture_site_is_urgent() -> None:
    d, r = rule(clinic(["mri_stress_reaction", "stress_fracture_site_navicular"]), "high_risk_stress_fracture")
    assert d.status == "positive" and "non-weight-bearing" in d.result and r.disposition == "urgent"
    assert r.top.condition == "stress_fracture"


# --------------------------------------------------------------------------- JSON and kb check


def test_rules_are_in_the_assessment_json_with_their_result_and_sources() -> None:
    out = result_json(assess(clinic(["onset_sudden_injury", "malleolar_bone_tenderness"])))
    ottawa = next(d for d in out["decision_rules"] if d["rule"] == "ottawa_ankle")
    assert ottawa["status"] == "positive" and ottawa["sources"] == ["STIELL92", "BACHMANN"] and ottawa["hazard"] == "H2"
    assert {"label": "bone tenderness at the posterior edge or tip of either malleolus",
            "finding": "malleolar_bone_tenderness", "answer": "present", "points": 1} in ottawa["criteria"]


def _kb_copy(tmp_path: Path) -> Path:
    d = tmp_path / "kb"
    shutil.copytree(DATA_DIR, d)
    return d


def test_kb_check_refuses_a_decision_rule_without_a_hazard(tmp_path: Path) -> None:
    d = _kb_copy(tmp_path)
    data = yaml.safe_load((d / "decision_rules.yaml").read_text())
    del data["rules"][0]["hazard"]
    (d / "decision_rules.yaml").write_text(yaml.safe_dump(data))
    assert any("ottawa_ankle: no hazard" in p for p in check_kb(d))


def test_kb_check_refuses_a_red_flag_rule_with_an_unknown_hazard(tmp_path: Path) -> None:
    d = _kb_copy(tmp_path)
    data = yaml.safe_load((d / "red_flags.yaml").read_text())
    data["rules"][0]["hazard"] = "H99"
    (d / "red_flags.yaml").write_text(yaml.safe_dump(data))
    assert any("unknown hazard 'H99'" in p for p in check_kb(d))


def test_every_hazard_is_written_up_in_the_clinical_safety_case() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "clinical-safety.md").read_text()
    hazards = yaml.safe_load((DATA_DIR / "hazards.yaml").read_text())["hazards"]
    for hid in hazards:
        assert f"### {hid}:" in doc, hid


def test_every_rule_and_screen_is_listed_under_its_hazard_in_the_safety_case() -> None:
    from hindfoot.knowledge.loader import load_kb

    kb = load_kb()
    doc = (Path(__file__).parents[2] / "docs" / "clinical-safety.md").read_text()
    sections = {part.split(":", 1)[0].strip(): part for part in doc.split("\n### ")[1:]}
    linked = [(r.hazard, r.id) for r in kb.rules] + [(s.hazard, s.id) for s in kb.red_flags.screens]
    linked += [(r.hazard, r.id) for r in kb.decision_rules.rules]
    for hazard, rid in linked:
        assert f"`{rid}`" in sections[hazard], (hazard, rid)


# --------------------------------------------------------------------------- confirmatory tests


@pytest.mark.parametrize(("story", "test_finding", "condition"), [
    # a positive Doppler in someone whose story is Achilles tendinopathy
    (["calf_pain", "pain_achilles_midportion", "warm_up_eases_pain", "achilles_midportion_thickened_tender"],
     "doppler_dvt_positive", "deep_vein_thrombosis"),
    # an infected aspirate in known gout with urate crystals
    (["hot_red_joint", "history_gout_or_inflammatory", "serum_urate_raised_or_crystals"],
     "joint_aspirate_infected", "septic_arthritis"),
    # a fracture on CT after what looked like a sprain
    (["onset_sudden_injury", "injury_inversion", "pain_outer_ankle", "atfl_tenderness"],
     "ct_mri_fracture", "ankle_fracture"),
    # a positive Thompson test after a calf "strain"
    (["onset_sudden_injury", "calf_pain", "pain_on_push_off"], "thompson_test_positive", "achilles_rupture"),
    # a stress reaction on MRI in a runner with heel pain
    (["pain_back_of_heel", "recent_training_increase", "onset_gradual"], "mri_stress_reaction", "stress_fracture"),
])
def test_a_positive_confirmatory_test_ranks_its_condition_first_and_a_negative_one_lowers_it(
    story: list[str], test_finding: str, condition: str
) -> None:
    without = assess(clinic(story))
    positive = assess(clinic([*story, test_finding]))
    negative = assess(clinic(story, [test_finding]))
    p = {c.condition: c.probability for c in without.ranking}
    assert positive.top.condition == condition
    assert {c.condition: c.probability for c in negative.ranking}[condition] < p[condition]
