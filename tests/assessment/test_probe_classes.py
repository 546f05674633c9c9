"""The classes the safety probe found (tests/clinical/test_safety_probe.py; docs/clinical-safety.md, "Safety
probe"): an unknown duration or an unknown start lowered urgency, and the symptom check never asked about a
medicine that tears the Achilles tendon. Each test is a worked example of its rule in red_flags.yaml, with
the answer that ends it."""

from __future__ import annotations

from hindfoot.assessment import triage
from hindfoot.assessment.engine import assess
from hindfoot.assessment.interview import simulate
from hindfoot.assessment.schemas import Case
from hindfoot.knowledge.loader import load_kb

ADULT = dict(setting="self", age=57, sex="male", sport="none")


def _rules(r) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.rule for f in r.red_flags}


def _answers(yes: set[str], no: set[str] = frozenset()):  # type: ignore[no-untyped-def, assignment]
    return lambda f: "present" if f in yes else "absent" if f in no else "unknown"


def test_a_fever_with_the_duration_and_the_start_unknown_keeps_same_day_care() -> None:
    # "I have gout and I feel feverish": how long and how it started not given, hot and red not answered.
    # With "under two weeks" this was urgent; with the duration unknown it was routine
    rule = "fever_infection_not_excluded_duration_unknown"
    said = ("history_gout_or_inflammatory", "fever_or_unwell")
    r = assess(Case(id="fever", **ADULT, present=said))
    assert r.disposition == "urgent" and rule in _rules(r)
    assert "infection" in {s.screen for s in r.not_ruled_out}
    # not hot and red: the infection screen is closed
    assert rule not in _rules(assess(Case(id="cool", **ADULT, present=said, absent=("hot_red_joint",))))
    # not in the last two weeks (and not over three months), a gradual start, or an injury: not this net
    for more, less in ((("onset_gradual",), ()), (("onset_sudden_injury",), ()), ((), ("duration_under_2_weeks",))):
        assert rule not in _rules(assess(Case(id="other", **ADULT, present=(*said, *more), absent=less))), (more, less)


def test_the_symptom_check_asks_about_fever_when_the_start_and_the_duration_are_not_sure() -> None:
    # the patient can say only that they feel unwell: the symptom check must ask it, and not end routine
    _state, step, asked = simulate(Case(id="unwell", **ADULT), respond=_answers({"fever_or_unwell"}))
    assert "fever_or_unwell" in asked
    assert step.result.disposition in ("urgent", "emergency")
    # asked of pain at the ankle joint, not of pain placed under the heel (away from the joint)
    kb = load_kb()
    unsure = {"onset_sudden_injury", "hot_red_joint", "duration_under_2_weeks"}
    assert "fever_or_unwell" in triage.pending_screen_questions(kb, {"pain_inner_ankle"}, {"pain_inner_ankle", *unsure})
    assert "fever_or_unwell" not in triage.pending_screen_questions(kb, {"pain_under_heel"}, {"pain_under_heel", *unsure})


def test_a_swollen_ankle_without_injury_keeps_same_day_care_while_the_duration_is_unknown() -> None:
    rule = "atraumatic_swollen_joint_infection_not_excluded_duration_unknown"
    for sign in ("swelling_whole_ankle", "pain_at_rest_or_night", "cannot_bear_weight"):
        r = assess(Case(id="swollen", **ADULT, present=(sign,), absent=("onset_sudden_injury",)))
        assert r.disposition == "urgent" and rule in _rules(r), sign
    # "not sure" how it started: often an old sprain its history does not call an injury (vignette p031):
    # not this net
    unsure = assess(Case(id="unsure", **ADULT, present=("swelling_whole_ankle",)))
    assert rule not in _rules(unsure) and unsure.disposition == "routine"
    # more than two weeks: not this net either
    weeks = assess(Case(id="weeks", **ADULT, present=("swelling_whole_ankle",),
                        absent=("onset_sudden_injury", "duration_under_2_weeks")))
    assert rule not in _rules(weeks)


def test_once_a_net_fires_on_an_unknown_duration_the_symptom_check_asks_the_duration_and_a_no_ends_it() -> None:
    # no injury, a swollen ankle: the net fires before the duration is known; the symptom check then asks
    # "did it start in the last two weeks?" ("not sure" keeps it; "no" ends it)
    swollen = _answers({"swelling_whole_ankle"}, {"onset_sudden_injury"})
    _state, step, asked = simulate(Case(id="s", **ADULT), respond=swollen)
    assert "duration_under_2_weeks" in asked and step.result.disposition == "urgent"
    weeks = _answers({"swelling_whole_ankle"}, {"onset_sudden_injury", "duration_under_2_weeks"})
    _state, step, asked = simulate(Case(id="w", **ADULT), respond=weeks)
    assert "duration_under_2_weeks" in asked
    assert "atraumatic_swollen_joint_infection_not_excluded_duration_unknown" not in _rules(step.result)


def test_a_foot_that_cannot_bear_weight_whose_start_is_unknown_keeps_the_fracture_net() -> None:
    # "I can't walk on it" and nothing about how it started: with the injury named this is urgent (Ottawa);
    # an unknown start must not make it routine
    rule = "fracture_not_excluded_cannot_bear_weight_start_unknown"
    r = assess(Case(id="cbw", setting="self", age=21, sex="male", present=("cannot_bear_weight",)))
    assert r.disposition == "urgent" and rule in _rules(r)
    assert "fracture" in {s.screen for s in r.not_ruled_out}
    # "no injury" ends it (the infection nets take over), as does a gradual start
    assert rule not in _rules(assess(Case(id="none", **ADULT, present=("cannot_bear_weight",),
                                          absent=("onset_sudden_injury",))))
    assert rule not in _rules(assess(Case(id="slow", **ADULT, present=("cannot_bear_weight", "onset_gradual"))))


def test_after_an_operation_or_a_cast_a_painful_leg_keeps_the_dvt_net_whatever_the_place() -> None:
    # "I had my knee operated on and now my leg hurts, I can't say exactly where": with the calf named this
    # is urgent (`dvt_not_excluded`); not knowing the place must not make it routine
    rule = "dvt_not_excluded_after_immobilisation"
    for place in ((), ("pain_deep_hard_to_locate",)):
        r = assess(Case(id="op", **ADULT, present=("recent_immobilisation_or_surgery", *place)))
        assert r.disposition == "urgent" and rule in _rules(r), place
    # no swelling or warmth of the calf closes the DVT screen
    calm = assess(Case(id="calm", **ADULT, present=("recent_immobilisation_or_surgery",),
                       absent=("calf_swelling_warmth",)))
    assert rule not in _rules(calm)


def test_the_symptom_check_asks_about_fluoroquinolones_when_the_achilles_hurts_and_a_rupture_is_open() -> None:
    # on ciprofloxacin, pain and swelling in the Achilles tendon, no injury mentioned: `hindfoot assess`
    # said urgent, the symptom check never asked about the medicine and said routine
    yes = {"pain_achilles_midportion", "swelling_back_of_ankle", "fluoroquinolone_or_steroid"}
    _state, step, asked = simulate(Case(id="fq", setting="self", age=76, sex="male"), respond=_answers(yes))
    assert "fluoroquinolone_or_steroid" in asked
    assert step.result.disposition == "urgent" and "rupture_not_excluded_drug" in _rules(step.result)
    # asked for pain at the tendon while a rupture is open; not for pain under the heel, nor after a
    # gradual start (the rupture screen is closed)
    kb = load_kb()
    fq = "fluoroquinolone_or_steroid"
    assert fq in triage.pending_screen_questions(kb, {"pain_achilles_midportion"}, {"pain_achilles_midportion"})
    assert fq not in triage.pending_screen_questions(kb, {"pain_under_heel"}, {"pain_under_heel"})
    gradual = {"pain_achilles_midportion", "onset_gradual"}
    assert fq not in triage.pending_screen_questions(kb, gradual, gradual)


def test_screens_do_not_ask_the_places_of_where_it_hurts_one_by_one() -> None:
    # "where does it hurt?" is one question: once answered (under the heel), a screen does not ask "in the
    # Achilles tendon?" and "at the back of the heel?" as questions of their own
    kb = load_kb()
    pending = triage.pending_screen_questions(kb, {"pain_under_heel"}, {"pain_under_heel"})
    sites = {f for s in kb.interview.presenting_complaint if s.slot == "site" for f in s.findings}
    assert not sites & set(pending)
    # before it is asked, they may be
    assert sites & set(triage.pending_screen_questions(kb, {"fluoroquinolone_or_steroid"}, {"fluoroquinolone_or_steroid"}))
