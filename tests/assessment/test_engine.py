"""Engine behaviour: calibrated posteriors, unknown findings ignored, explanations, triage, questions."""

from __future__ import annotations

import ast
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from hindfoot.assessment import engine
from hindfoot.assessment.engine import assess, compiled, probabilities
from hindfoot.assessment.schemas import Case, CaseError, parse_case
from hindfoot.assessment.triage import RANK, condition_disposition
from hindfoot.knowledge.loader import load_kb

VIGNETTES = json.loads((Path(__file__).parents[1] / "clinical" / "vignettes.json").read_text())
CASES = [parse_case(v) for v in VIGNETTES]


def test_posterior_is_a_distribution_over_every_condition() -> None:
    kb = load_kb()
    for case in CASES:
        r = assess(case)
        probs = [c.probability for c in r.ranking]
        assert {c.condition for c in r.ranking} == set(kb.condition_by_id)
        assert math.isclose(sum(probs), 1.0, abs_tol=1e-9)
        # a must-not-miss condition suspected by a fired urgent/emergency rule leads; the rest by probability
        lead = {f.suspected for f in r.red_flags
                if f.disposition in ("urgent", "emergency") and f.rule in compiled().leading_rules}
        moved = [c for c in r.ranking if c.listed_first_by]
        assert {c.condition for c in moved} == lead
        rest = [c.probability for c in r.ranking if not c.listed_first_by]
        assert rest == sorted(rest, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probs)


def test_a_fired_must_not_miss_rule_puts_its_condition_first_whatever_its_prior() -> None:
    # calf pain alone: a blood clot is rare in a young footballer, but it cannot be ruled out
    case = Case(id="calf", age=21, sex="female", sport="football", present=("calf_pain",))
    r = assess(case)
    assert "dvt_not_excluded" in {f.rule for f in r.red_flags}
    assert r.ranking[0].condition == "deep_vein_thrombosis"
    assert r.ranking[0].listed_first_by == "dvt_not_excluded"
    assert r.ranking[0].probability < max(c.probability for c in r.ranking)
    assert all(c.listed_first_by is None for c in r.ranking[1:])
    # answered "no" to the calf screen: no longer suspected, back to probability order
    ruled_out = assess(Case(id="calf2", age=21, sex="female", sport="football", present=("calf_pain",),
                            absent=("calf_swelling_warmth",)))
    probs = [c.probability for c in ruled_out.ranking]
    assert probs == sorted(probs, reverse=True)


def test_positive_evidence_of_one_must_not_miss_condition_outranks_another_only_not_excluded() -> None:
    # a pop in the calf after a sudden injury: the rupture rule rests on a sign, the DVT one only on
    # calf pain with the calf question unanswered; both are listed first, the rupture ahead
    r = assess(Case(id="pop", setting="clinic", age=40, sex="male", sport="tennis",
                    present=("calf_pain", "pop_or_kick_in_calf", "onset_sudden_injury")))
    assert [(c.condition, c.listed_first_by) for c in r.ranking[:2]] == [
        ("achilles_rupture", "achilles_rupture_signs"), ("deep_vein_thrombosis", "dvt_not_excluded")]
    assert r.disposition == "urgent"


def test_a_likely_diagnosis_stays_ahead_of_a_condition_only_not_excluded() -> None:
    # a dancer who hurt the back of her ankle pointing it: posterior impingement is likely; a rupture is
    # not excluded until the tiptoe question is answered (urgent), and is listed second, not first
    r = assess(Case(id="pai", setting="clinic", age=22, sex="female", sport="ballet",
                    present=("onset_sudden_injury", "injury_forced_plantarflexion", "pain_back_of_ankle",
                             "pain_on_pointing_toes")))
    assert r.disposition == "urgent" and "rupture_not_excluded_after_injury" in {f.rule for f in r.red_flags}
    assert [(c.condition, c.listed_first_by) for c in r.ranking[:2]] == [
        ("posterior_ankle_impingement", None), ("achilles_rupture", "rupture_not_excluded_after_injury")]


def test_a_recent_injury_with_weight_bearing_unknown_is_urgent_and_names_the_open_question() -> None:
    # issue 10 class 3: a sprain days ago, nobody recorded whether she can take four steps: the Ottawa rule
    # cannot be applied, so an X-ray is not ruled out: urgent, with the weight-bearing question named
    base = dict(id="sprain", setting="self", age=34, sex="female", sport="tennis")
    findings = ("onset_sudden_injury", "injury_inversion", "pain_outer_ankle", "swelling_whole_ankle",
                "duration_under_2_weeks")
    r = assess(Case(**base, present=findings))
    fired = {f.rule: f for f in r.red_flags}
    assert r.disposition == "urgent" and "fracture_not_excluded_after_recent_injury" in fired
    assert "four steps" in fired["fracture_not_excluded_after_recent_injury"].advice
    assert "fracture" in {s.screen for s in r.not_ruled_out}
    assert r.ranking[0].condition == "lateral_ankle_sprain"  # a safety net: the sprain stays first
    # she can walk on it: the Ottawa self-check is answered, back to the sprain's own level
    walks = assess(Case(**base, present=findings, absent=("cannot_bear_weight",)))
    assert walks.disposition in ("self_care", "routine")
    assert "fracture_not_excluded_after_recent_injury" not in {f.rule for f in walks.red_flags}
    # an old injury (not recent) is left to the routine safety net
    old = assess(Case(**base, present=findings[:-1]))
    assert old.disposition == "routine"


def test_a_recent_sports_injury_with_the_pain_not_placed_and_tiptoe_unknown_is_urgent() -> None:
    # issue 10 class 5: a footballer hurt in a tackle, can walk, pain "around the ankle" (no site), tiptoe
    # not asked: a torn Achilles tendon is not ruled out; it is listed right after the likely sprain
    base = dict(id="tackle", setting="self", age=27, sex="male", sport="football")
    findings = ("onset_sudden_injury", "swelling_whole_ankle", "duration_under_2_weeks")
    r = assess(Case(**base, present=findings, absent=("cannot_bear_weight",)))
    assert r.disposition == "urgent"
    assert [(c.condition, c.listed_first_by) for c in r.ranking[:2]] == [
        ("lateral_ankle_sprain", None), ("achilles_rupture", "rupture_not_excluded_after_recent_injury")]
    assert "rupture" in {s.screen for s in r.not_ruled_out}
    # standing on tiptoe closes the rupture screen
    tiptoe = assess(Case(**base, present=findings, absent=("cannot_bear_weight", "cannot_tiptoe")))
    assert tiptoe.disposition != "urgent"
    # pain placed on the outer ankle after rolling it is the sprain (and the Ottawa rule's) territory
    rolled = assess(Case(**base, present=(*findings, "injury_inversion", "pain_outer_ankle"),
                         absent=("cannot_bear_weight",)))
    assert "rupture_not_excluded_after_recent_injury" not in {f.rule for f in rolled.red_flags}
    assert rolled.disposition != "urgent"


def test_a_safety_net_rule_does_not_displace_the_likely_diagnosis() -> None:
    # crystals in a known gout patient: infection cannot be excluded (urgent), but gout stays first
    case = Case(id="gout", age=82, sex="male", sport="none",
                present=("history_gout_or_inflammatory", "posteromedial_tenderness", "serum_urate_raised_or_crystals"))
    r = assess(case)
    assert "crystals_do_not_exclude_infection" in {f.rule for f in r.red_flags}
    assert r.disposition == "urgent"
    assert r.ranking[0].condition == "inflammatory_arthritis"
    # a hot joint in known gout: same-day care (BSR), the flare first
    flare = assess(Case(id="flare", age=60, sex="male", sport="none",
                        present=("hot_red_joint", "history_gout_or_inflammatory", "serum_urate_raised_or_crystals")))
    assert flare.disposition == "urgent" and flare.ranking[0].condition == "inflammatory_arthritis"
    # without known crystal disease the emergency rule lists septic arthritis first, crystals or not
    unexplained = assess(Case(id="hot", age=60, sex="male", sport="none",
                              present=("hot_red_joint", "serum_urate_raised_or_crystals", "duration_under_2_weeks")))
    assert unexplained.disposition == "emergency" and unexplained.ranking[0].condition == "septic_arthritis"


def test_no_findings_gives_the_prior() -> None:
    model = compiled()
    case = Case(id="empty", age=30, sex="male", sport="football")
    post = np.array(list(probabilities(case).values()))
    assert np.allclose(post, engine.prior(model, 30, "male", "football"))


def test_the_prior_kept_per_demographics_is_the_one_computed_for_them() -> None:
    """`prior` keeps one array per (age, sex, sport) on the compiled model: each must be the prior of its
    own demographics (not of the first ones asked), and read-only so no caller can change the next."""
    kb = load_kb()
    model = engine._compile(kb)  # a fresh model: nothing kept yet
    sports = [None, *list(kb.sports)[:3]]
    combos = list(itertools.product([None, 12, 15, 35, 70], [None, "female", "male"], sports))
    for _ in range(2):  # the second pass reads what the first kept
        for age, sex, sport in combos:
            expected = model.base_prior.copy()
            for ci, when, factor in model.modifiers:
                if engine._matches(when, age, sex, sport):
                    expected[ci] *= factor
            got = engine.prior(model, age, sex, sport)
            assert got.tolist() == (expected / expected.sum()).tolist(), (age, sex, sport)
    assert len({engine.prior(model, *c).tobytes() for c in combos}) > 1  # demographics do change the prior
    with pytest.raises(ValueError):
        engine.prior(model, 35, "female", None)[0] = 1.0


def test_unknown_findings_are_ignored() -> None:
    """Only the answered findings enter: the posterior equals naive Bayes over exactly those."""
    model = compiled()
    case = Case(id="x", setting="self", age=25, sex="female", sport="ballet",
                present=("pain_back_of_ankle", "pain_on_pointing_toes"), absent=("cannot_bear_weight",))
    prior = engine.component_prior(model, engine.prior(model, 25, "female", "ballet"))
    i = model.fidx
    lik = model.Pa[:, i["pain_back_of_ankle"]] * model.Pa[:, i["pain_on_pointing_toes"]] * model.Qa[:, i["cannot_bear_weight"]]
    expected = model.M @ (prior * lik / (prior * lik).sum())
    got = np.array(list(probabilities(case).values()))
    assert np.allclose(got, expected)


def test_absent_is_not_the_same_as_unknown() -> None:
    base = Case(id="a", present=("onset_sudden_injury", "injury_inversion"))
    with_absent = Case(id="b", present=base.present, absent=("cannot_bear_weight",))
    assert probabilities(base) != probabilities(with_absent)


def test_explanations_sum_to_the_posterior_odds() -> None:
    """log(post_a / post_b) = log(prior_a / prior_b) + sum(contrib_a) - sum(contrib_b)."""
    for case in CASES[:20]:
        r = assess(case)
        single = [c for c in r.ranking if c.subtype is None and c.probability > 1e-12]
        for c in r.ranking:
            total = sum(x.contribution for x in c.for_) + sum(x.contribution for x in c.against)
            assert math.isclose(total, c.log_evidence, abs_tol=1e-9)
            assert all(x.contribution > 0 for x in c.for_)
            assert all(x.contribution <= 0 for x in c.against)
            assert len(c.for_) + len(c.against) == len(case.present) + len(case.absent)
            for x in (*c.for_, *c.against):
                assert x.sources
        for a, b in itertools.combinations(single[:6], 2):
            lhs = math.log(a.probability / b.probability)
            rhs = math.log(a.prior / b.prior) + a.log_evidence - b.log_evidence
            assert math.isclose(lhs, rhs, rel_tol=1e-6, abs_tol=1e-6)


def test_explanation_names_the_defining_finding() -> None:
    r = assess(parse_case(VIGNETTES[0]))  # p001 ballet PAI
    pai = r.ranking[0]
    assert pai.condition == "posterior_ankle_impingement"
    assert "pain_on_pointing_toes" in [x.finding for x in pai.for_[:4]]


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        (("hot_red_joint", "fever_or_unwell"), "emergency"),
        (("hot_red_joint",), "emergency"),
        (("calf_swelling_warmth",), "urgent"),
        (("pop_or_kick_in_calf",), "urgent"),
        (("onset_sudden_injury", "cannot_bear_weight"), "urgent"),
        (("injury_high_energy",), "urgent"),
        (("xray_fracture",), "urgent"),
    ],
)
@pytest.mark.parametrize("over_3_months", [False, True])
def test_red_flags_are_never_lowered(flags: tuple[str, ...], level: str, over_3_months: bool) -> None:
    """Adding a red flag to ANY case makes the disposition at least the flag's level; a sign does so
    also when the symptoms have lasted more than three months. A violent injury (a mechanism, not a sign)
    is a red flag of an acute injury only: months on, it is left to `persistent_symptoms` (routine; issue
    10 sixth pass, tests/assessment/test_safety_nets.py)."""
    mechanism_months_on = over_3_months and flags == ("injury_high_energy",)
    durations = ("duration_over_3_months", "duration_under_2_weeks")
    for v in VIGNETTES:
        extra = durations[:1] if over_3_months else ()
        present = tuple(dict.fromkeys((*(f for f in v["present"] if not (over_3_months and f in durations)),
                                       *flags, *extra)))
        absent = tuple(f for f in v["absent"] if f not in flags and f not in extra)
        case = parse_case({**v, "present": list(present), "absent": list(absent)})
        r = assess(case)
        if mechanism_months_on:
            assert "high_energy_injury" not in {f.rule for f in r.red_flags}, v["id"]
            continue
        assert RANK[r.disposition] >= RANK[level], (v["id"], flags, r.disposition)


def test_disposition_is_the_most_urgent_of_rules_and_conditions() -> None:
    kb = load_kb()
    for case in CASES:
        r = assess(case)
        probs = {c.condition: c.probability for c in r.ranking}
        from_conditions = condition_disposition(kb, probs)
        assert from_conditions == r.disposition_from_conditions
        levels = [from_conditions, *(f.disposition for f in r.red_flags)]
        assert RANK[r.disposition] == max(RANK[x] for x in levels)


def test_hot_joint_with_known_gout_is_still_at_least_urgent() -> None:
    r = assess(Case(id="g", setting="self", present=("hot_red_joint", "history_gout_or_inflammatory")))
    assert RANK[r.disposition] >= RANK["urgent"]


def test_self_setting_asks_only_history_presenting_complaint_then_red_flags_first() -> None:
    kb = load_kb()
    r = assess(Case(id="s", setting="self", age=22, sex="female", sport="ballet", present=("pain_back_of_ankle",)),
               question_limit=10)
    assert r.next_questions
    assert all(kb.finding_by_id[q.finding].group == "history" for q in r.next_questions)
    # the site is answered: onset, weight bearing, swelling, duration come next, then the red-flag screens
    assert [q.finding for q in r.next_questions[:4]] == [
        "onset_sudden_injury", "cannot_bear_weight", "swelling_whole_ankle", "duration_under_2_weeks"]
    assert r.next_questions[4].reason == "red_flag"
    assert r.next_questions[4].finding == "hot_red_joint"
    order = {"presenting_complaint": 0, "red_flag": 1, "information_gain": 2}
    reasons = [q.reason for q in r.next_questions]
    assert reasons == sorted(reasons, key=order.__getitem__)


def test_clinic_setting_can_ask_exam_and_imaging() -> None:
    kb = load_kb()
    screened = ["hot_red_joint", "calf_swelling_warmth", "calf_tenderness_swelling", "doppler_dvt_positive",
                "pop_or_kick_in_calf", "thompson_test_positive", "palpable_gap_achilles", "imaging_achilles_rupture",
                "onset_sudden_injury", "injury_high_energy", "xray_fracture", "ct_mri_fracture",
                "swelling_whole_ankle", "joint_effusion",
                # the presenting complaint (asked first in every setting)
                "onset_gradual", "cannot_bear_weight", "duration_over_3_months", "duration_under_2_weeks"]
    r = assess(Case(id="c", setting="clinic", age=22, sport="ballet",
                    present=("pain_back_of_ankle", "pain_on_pointing_toes"), absent=tuple(screened)),
               question_limit=10)
    groups = {kb.finding_by_id[q.finding].group for q in r.next_questions}
    assert groups - {"history"}
    assert all(q.reason == "information_gain" for q in r.next_questions)
    gains = [q.expected_information_gain for q in r.next_questions]
    assert gains == sorted(gains, reverse=True)


def test_answered_findings_are_not_asked_again() -> None:
    case = Case(id="x", setting="self", present=("pain_back_of_ankle",), absent=("hot_red_joint",))
    r = assess(case, answered=["calf_swelling_warmth"], question_limit=50)
    asked = {q.finding for q in r.next_questions}
    assert not asked & {"pain_back_of_ankle", "hot_red_joint", "calf_swelling_warmth"}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"id": "x", "present": ["pain_back_of_ankle", "bogus_finding"]}, "bogus_finding"),
        ({"id": "x", "absent": ["nope"]}, "nope"),
        ({"id": "x", "colour": "red"}, "colour"),
        ({"id": "x", "sport": "curling"}, "curling"),
        ({"id": "x", "present": ["giving_way"], "absent": ["giving_way"]}, "giving_way"),
        ({"id": "x", "setting": "home"}, "setting"),
    ],
)
def test_bad_cases_are_rejected_with_the_offending_name(body: dict, needle: str) -> None:
    with pytest.raises(CaseError, match=needle):
        parse_case(body)


def test_expected_and_note_are_ignored() -> None:
    case = parse_case(VIGNETTES[0])
    assert case.id == VIGNETTES[0]["id"]


def test_engine_is_pure() -> None:
    forbidden = ("sqlalchemy", "fastapi", "hindfoot.db", "hindfoot.web", "hindfoot.api", "requests", "httpx")
    for mod in ("engine", "model", "posterior", "explain", "questions", "triage", "interview", "schemas"):
        src = (Path(engine.__file__).parent / f"{mod}.py").read_text()
        tree = ast.parse(src)
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.startswith(forbidden)], (mod, names)
        assert "open(" not in src


def test_a_swollen_ankle_with_fever_after_a_sprain_is_an_emergency_and_a_sprain_without_fever_is_not() -> None:
    # issue 10 (residual r029): an infected joint after a sprain. Swelling is expected after an injury,
    # fever is not: the acute-swollen-joint rules leave injuries out, this one does not.
    sprain = ("onset_sudden_injury", "injury_inversion", "after_ankle_sprain", "swelling_whole_ankle")
    r = assess(Case(id="sepsis", setting="self", age=48, sex="male", sport="none",
                    present=(*sprain, "fever_or_unwell")))
    assert r.disposition == "emergency"
    assert "swollen_joint_fever_after_injury" in {f.rule for f in r.red_flags}
    assert r.ranking[0].condition == "septic_arthritis"
    # the same sprain without fever, able to walk and not hot: not an emergency
    calm = assess(Case(id="sprain", setting="self", age=48, sex="male", sport="none", present=sprain,
                       absent=("fever_or_unwell", "hot_red_joint", "cannot_bear_weight")))
    assert calm.disposition != "emergency" and calm.ranking[0].condition == "lateral_ankle_sprain"
    # fever after a gradual, months-long problem is left to the other rules
    chronic = assess(Case(id="chronic", setting="self", age=48, sex="male", sport="none",
                          present=("onset_sudden_injury", "after_ankle_sprain", "swelling_whole_ankle",
                                   "fever_or_unwell", "duration_over_3_months")))
    assert "swollen_joint_fever_after_injury" not in {f.rule for f in chronic.red_flags}


def test_the_symptom_check_asks_one_infection_question_after_an_injury_not_two() -> None:
    # after an injury the check asks whether the ankle turned red, warm or opened; the fever rule is not a
    # screening question (one question for the class), but a fever the patient reports still fires it
    from hindfoot.assessment.interview import simulate

    case = Case(id="sepsis-check", setting="self", age=48, sex="male", sport="none",
                present=("onset_sudden_injury", "injury_inversion", "swelling_whole_ankle", "injury_turning_red_or_open"),
                absent=("cannot_bear_weight",))
    _state, step, asked = simulate(case)
    assert "injury_turning_red_or_open" in asked and "fever_or_unwell" not in asked
    assert step.result.disposition == "emergency"
    r = assess(Case(id="fever", setting="self", age=48, present=("onset_sudden_injury", "swelling_whole_ankle",
                                                                 "fever_or_unwell")))
    assert "swollen_joint_fever_after_injury" in {f.rule for f in r.red_flags}
    assert "fever_or_unwell" not in {q.finding for q in assess(
        Case(id="nofever", setting="self", age=48, present=("onset_sudden_injury", "swelling_whole_ankle")),
        question_limit=3).next_questions if q.reason == "red_flag"}


def test_an_injured_ankle_turning_red_or_opening_days_later_is_an_emergency_and_the_check_asks_it() -> None:
    # the class of published case r029: septic arthritis two weeks after a sprain, found with a wound
    from hindfoot.assessment.interview import simulate

    sprain = ("onset_sudden_injury", "injury_inversion", "after_ankle_sprain")
    r = assess(Case(id="r029-like", setting="clinic", age=48, sex="male", sport="none",
                    present=(*sprain, "injury_turning_red_or_open")))
    assert r.disposition == "emergency" and r.ranking[0].condition == "septic_arthritis"
    assert "injury_turning_red_or_open" in {f.rule for f in r.red_flags}
    # the same sprain with the question unanswered: not an emergency (residual risk H1), the question is named
    plain = assess(Case(id="r029", setting="clinic", age=48, sex="male", sport="none", present=sprain))
    assert plain.disposition == "routine" and "infection" in {s.screen for s in plain.not_ruled_out}
    # the symptom check asks it of an injured patient who can walk ...
    walker = Case(id="walks", setting="self", age=48, sex="male", sport="none",
                  present=("onset_sudden_injury", "injury_inversion", "injury_turning_red_or_open"),
                  absent=("cannot_bear_weight",))
    _state, step, asked = simulate(walker)
    assert "injury_turning_red_or_open" in asked and step.result.disposition == "emergency"
    # ... but not of one who cannot (the Ottawa rule sends them to be examined today), nor without an injury
    for present, absent in ((("onset_sudden_injury", "cannot_bear_weight"), ()), (("onset_gradual",), ("onset_sudden_injury",))):
        _s, _st, asked = simulate(Case(id="no", setting="self", age=48, present=present, absent=absent))
        assert "injury_turning_red_or_open" not in asked, asked
