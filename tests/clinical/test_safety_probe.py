"""The safety probe (hindfoot.assessment.probe; docs/clinical-safety.md, "Safety probe"): every urgent and
emergency case of the development sets (vignettes.json, the same as shared/clinical/vignettes.json, and
cases-published.json), told the way real patients tell it (two to four findings, the rest "not sure"; no
duration, no onset, no injury, no place, no age; a child or an adult), run through `hindfoot assess` and
through the symptom check answered from it. None may be advised self-care, none of the emergency ones less
than urgent while a sign of infection or a foot that cannot bear weight is kept, and forgetting a "no" or
the context never lowers urgency.

The default budget (4 seeded random subsets per case, about 500 variants, both modes) runs in well under
60 s; the larger budget (marked slow, run by `make test` too: about 30 s) runs 40 per case (about 1,900
variants); `pytest -m slow tests/clinical/test_safety_probe.py` runs it alone. The
held-out sets are not probed: they must stay unseen by tuning (tests/clinical/README.md)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hindfoot.assessment import probe
from hindfoot.assessment.engine import assess
from hindfoot.assessment.interview import simulate
from hindfoot.assessment.schemas import AssessmentResult, Case, Expected, parse_case
from hindfoot.knowledge.loader import KnowledgeBase, load_kb

HERE = Path(__file__).parent
SETS = (HERE / "vignettes.json", HERE / "cases-published.json")
SITES = frozenset(f for s in load_kb().interview.presenting_complaint if s.slot == "site" for f in s.findings)


def _pairs(kb: KnowledgeBase) -> list[tuple[Case, Expected]]:
    return [(parse_case(v, kb), Expected.model_validate(v["expected"])) for path in SETS
            for v in json.loads(path.read_text())]


def _assess(kb: KnowledgeBase):  # type: ignore[no-untyped-def]
    return lambda c: assess(c, kb, explain=False, question_limit=0)


def _interview(kb: KnowledgeBase):  # type: ignore[no-untyped-def]
    def run(c: Case) -> tuple[AssessmentResult, int]:
        _state, step, asked = simulate(c, kb)
        return step.result, len(asked)
    return run


# Residual classes, measured and accepted (docs/clinical-safety.md, "Safety probe"), each as a predicate on
# the failure rather than a list of cases.
def _swelling_start_unknown(f: probe.Failure) -> bool:
    """An emergency case told as a swollen ankle (or rest or night pain) and nothing else: the start not
    placed, no fever, weight bearing unknown. Routine: same-day care for it sent vignette p031 (an
    osteochondral lesion months after a sprain that its history does not call an injury) to urgent care,
    below the vignette interview's disposition floor."""
    c = f.variant.case
    return (f.floor == "urgent" and f.advised == "routine" and set(c.present) <= {"swelling_whole_ankle",
            "pain_at_rest_or_night", *SITES} and not probe.ONSET & set(c.present + c.absent))


def _long_course_start_unknown(f: probe.Failure) -> bool:
    """A rupture over three months old whose injury is not mentioned (r019, a neglected rupture): routine in
    the symptom check. The whole history is urgent only through the acute-injury rules (Ottawa, tiptoe after
    an injury); over three months closes the rupture and fracture screens."""
    c = f.variant.case
    return (f.variant.context_only and f.advised == "routine" and "duration_over_3_months" in c.present
            and "onset_sudden_injury" not in c.present)


def _risk_factor_not_asked(f: probe.Failure) -> bool:
    """A DVT after an operation or a cast (r032) whose patient cannot say where it hurts: `hindfoot assess`
    is urgent (`dvt_not_excluded_after_immobilisation`), the symptom check does not ask about a recent
    operation or cast and stays routine. Asking it of everyone with the calf question open cost the
    vignette interview one top-1 (100% -> 94.4%)."""
    return (f.mode == "interview" and f.variant.kind == "no_site" and f.advised == "routine"
            and "recent_immobilisation_or_surgery" in f.variant.case.present)


RESIDUAL = (_swelling_start_unknown, _long_course_start_unknown, _risk_factor_not_asked)


def _unexplained(random_subsets: int) -> list[str]:
    kb = load_kb()
    vs = probe.probe_variants(_pairs(kb), kb, random_subsets=random_subsets)
    assert len(vs) > 300 * min(random_subsets, 4) // 4  # the probe has something to probe
    failures = probe.check(vs, _assess(kb), _interview(kb))
    return [f"{f.mode} {f.variant.id}: {f.advised} < {f.floor} (top {f.top}; present {f.variant.case.present}, "
            f"absent {f.variant.case.absent}, age {f.variant.case.age})"
            for f in failures if not any(accepted(f) for accepted in RESIDUAL)]


def test_no_degraded_history_of_an_urgent_or_emergency_case_is_under_triaged() -> None:
    assert _unexplained(4) == []


@pytest.mark.slow
def test_no_degraded_history_is_under_triaged_with_the_larger_budget() -> None:
    assert _unexplained(40) == []


def test_the_probe_derives_histories_as_patients_report_them() -> None:
    kb = load_kb()
    case = parse_case({"id": "x", "setting": "clinic", "age": 30, "present": [
        "onset_sudden_injury", "pop_or_kick_in_calf", "pain_achilles_midportion", "duration_under_2_weeks",
        "cannot_tiptoe", "thompson_test_positive"], "absent": ["cannot_bear_weight"]}, kb)
    vs = {v.kind: v for v in probe.variants(case, Expected(diagnosis="achilles_rupture", disposition="urgent"), kb)}
    # a clinic case is first reduced to what the patient can tell (the Thompson test is the clinician's)
    assert all("thompson_test_positive" not in v.case.present and v.case.setting == "self" for v in vs.values())
    assert vs["first2"].case.present == ("onset_sudden_injury", "pop_or_kick_in_calf")
    assert vs["first2"].case.absent == ()  # the rest "not sure", a "no" too
    assert vs["no_duration"].case.present == ("onset_sudden_injury", "pop_or_kick_in_calf",
                                              "pain_achilles_midportion", "cannot_tiptoe")
    assert vs["injury_not_mentioned"].case.present == ("pain_achilles_midportion", "duration_under_2_weeks",
                                                       "cannot_tiptoe")
    assert vs["no_age"].case.age is None and vs["child"].case.age == 10
    assert vs["no_negatives"].case.absent == () and vs["no_negatives"].floor == "routine"  # a sign was lost
    assert {v.floor for v in vs.values()} == {"routine"}  # urgent: never self-care
    # the same seed gives the same variants; routine cases give none
    again = probe.variants(case, Expected(diagnosis="achilles_rupture", disposition="urgent"), kb)
    assert [v.case for v in again] == [v.case for v in vs.values()]
    assert probe.variants(case, Expected(diagnosis="achilles_rupture", disposition="routine"), kb) == []


def test_an_emergency_case_keeps_an_urgent_floor_only_while_a_sign_of_infection_is_kept() -> None:
    kb = load_kb()
    case = parse_case({"id": "s", "setting": "self", "age": 19, "present": [
        "pain_inner_ankle", "duration_under_2_weeks", "fever_or_unwell"], "absent": ["onset_sudden_injury"]}, kb)
    vs = {v.kind: v for v in probe.variants(case, Expected(diagnosis="septic_arthritis", disposition="emergency"), kb)}
    assert vs["first2"].floor == "routine"  # site and duration only
    assert vs["no_duration"].floor == "urgent"  # the fever is kept
    assert vs["no_negatives"].floor == "emergency"  # every finding kept, the "no" forgotten


def test_the_probe_reports_a_variant_advised_below_its_floor() -> None:
    # an engine that advises self-care to everyone fails every variant, in both modes; one that advises
    # the emergency department fails none
    kb = load_kb()
    vs = probe.probe_variants(_pairs(kb)[:10], kb, random_subsets=1)
    real = _assess(kb)

    def advising(level: str):  # type: ignore[no-untyped-def]
        def run(c: Case) -> AssessmentResult:
            return dataclasses.replace(real(c), disposition=level)
        return run

    home = advising("self_care")
    failures = list(probe.check(vs, home, lambda c: (home(c), 3)))
    assert len(failures) == 2 * len(vs) and {f.mode for f in failures} == {"assess", "interview"}
    assert list(probe.check(vs, advising("emergency"))) == []


def test_cli_eval_probe_lists_the_variants_below_their_floor_and_exits_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hindfoot.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["eval", "--probe", "1", "--json", str(HERE / "vignettes.json")])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["cases"] == 7 and report["variants"] > 50 and report["failures"] == []
    # r019s, a neglected Achilles rupture (the residual `_long_course_start_unknown` above): told without the
    # injury, the symptom check advises routine care
    r019s = [v for v in json.loads((HERE / "cases-published.json").read_text()) if v["id"] == "r019s"]
    (tmp_path / "r019s.json").write_text(json.dumps(r019s))
    bad = runner.invoke(app, ["eval", "--probe", "0", "--json", str(tmp_path / "r019s.json")])
    assert bad.exit_code == 1
    failures = json.loads(bad.output)["failures"]
    assert {(f["variant"], f["mode"], f["advised"]) for f in failures} == {
        ("r019s~no_onset", "interview", "routine"), ("r019s~injury_not_mentioned", "interview", "routine")}
    text = runner.invoke(app, ["eval", "--probe", "0", str(tmp_path / "r019s.json")])
    assert text.exit_code == 1 and "2 below their floor" in text.output


_KB = load_kb()
_URGENT = [(probe.history_only(c, _KB), e) for c, e in _pairs(_KB) if e.disposition in ("urgent", "emergency")]


@pytest.mark.fuzz
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mix_of_known_and_not_sure_answers_keeps_the_floor(data: st.DataObject) -> None:
    # beyond the probe's fixed kinds: each finding of an urgent or emergency history independently kept or
    # "not sure" (a "no" too), at any age; seeded (derandomize) and bounded, so it runs the same every time
    base, expected = data.draw(st.sampled_from(_URGENT), label="case")
    present = tuple(f for f in base.present if data.draw(st.booleans(), label=f"knows {f}"))
    absent = tuple(f for f in base.absent if data.draw(st.booleans(), label=f"says no to {f}"))
    age = data.draw(st.sampled_from([None, base.age, 8, 14, 30, 70]), label="age")
    assume(present)
    case = base.model_copy(update={"id": f"{base.id}~mix", "present": present, "absent": absent, "age": age})
    variant = probe.Variant(id=case.id, source=base.id, kind="mix", case=case, base=base,
                            floor="urgent" if expected.disposition == "emergency" and probe.EMERGENCY_KEEPS & set(present)
                            else "routine")
    failures = [f for f in probe.check([variant], _assess(_KB), _interview(_KB))
                if not any(accepted(f) for accepted in RESIDUAL)]
    assert failures == []
