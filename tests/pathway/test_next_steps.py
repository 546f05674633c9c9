"""Next-step rules: scenario by scenario, plus checks on the rules file itself."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from hindfoot.pathway.next_steps import (
    EpisodeFacts,
    TreatmentRecord,
    conservative_weeks,
    escalation,
    load_rules,
    recommend,
)

TODAY = date(2025, 6, 2)
VOCABULARY = Path(__file__).parents[2] / "src/hindfoot/knowledge/data/vocabulary.yaml"


def ids(facts: EpisodeFacts) -> list[str]:
    return [r.id for r in recommend(facts)]


def test_new_patient_without_xray_gets_xray_first_then_first_line_care() -> None:
    recs = ids(EpisodeFacts(today=TODAY, stage="assessment"))
    assert recs[0] == "order_lateral_xray"
    assert "first_line_bundle" in recs
    assert "order_mri" not in recs
    assert not any(r.startswith("discuss") for r in recs)


def test_after_xray_mri_is_next_and_unconfirmed_goes_to_diagnostic_injection() -> None:
    after_xray = ids(EpisodeFacts(today=TODAY, stage="investigation", imaging_done={"xray"}))
    assert after_xray[0] == "order_mri"
    assert "diagnostic_injection" not in after_xray
    after_mri = ids(EpisodeFacts(today=TODAY, stage="investigation", imaging_done={"xray", "mri"}))
    assert "order_mri" not in after_mri
    assert after_mri[0] == "diagnostic_injection"


def test_mri_unavailable_suggests_bone_scan_and_injection() -> None:
    recs = ids(
        EpisodeFacts(
            today=TODAY, stage="investigation", imaging_done={"xray"}, mri_unavailable=True
        )
    )
    assert recs[:2] == ["order_bone_scan", "diagnostic_injection_without_mri"]


def test_first_line_bundle_mentions_each_measure_with_sources() -> None:
    rec = next(r for r in recommend(EpisodeFacts(today=TODAY)) if r.id == "first_line_bundle")
    for word in ("pain relief", "anti-inflammatories", "ice", "strapping", "physiotherapy"):
        assert word in rec.explanation
    assert "[S1]" in rec.sources


def test_severe_pain_adds_offloading() -> None:
    assert "offload_severe_pain" in ids(EpisodeFacts(today=TODAY, severe_pain=True))


def test_ten_weeks_failed_rehab_plus_injection_recreational_discusses_arthroscopy() -> None:
    start = TODAY - timedelta(weeks=10)
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        imaging_done={"xray", "mri", "injection"},
        treatments=(
            TreatmentRecord(id="physiotherapy", started=start),
            TreatmentRecord(id="steroid_injection", started=start + timedelta(weeks=6)),
        ),
        confirmed_diagnosis=True,
        level="recreational",
    )
    assert conservative_weeks(facts) == 10
    recs = recommend(facts)
    discuss = next(r for r in recs if r.id == "discuss_arthroscopy")
    assert (
        "10 weeks of structured rehabilitation and 1 image-guided injection" in discuss.explanation
    )
    assert "schedule_review" not in [r.id for r in recs]


def test_pro_dancer_with_os_trigonum_at_six_weeks_discusses_arthroscopy() -> None:
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        present={"xray_os_trigonum", "mri_posterior_bone_oedema"},
        imaging_done={"xray", "mri"},
        conservative_weeks=6,
        confirmed_diagnosis=True,
        level="professional",
        sport="ballet",
    )
    recs = ids(facts)
    assert "discuss_arthroscopy" in recs
    assert "order_ct" in recs  # bony detail before excision
    assert escalation(facts).threshold_weeks == 6


def test_recreational_at_six_weeks_without_injection_is_offered_injection_not_surgery() -> None:
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        imaging_done={"xray", "mri"},
        treatments=(TreatmentRecord(id="physiotherapy", started=TODAY - timedelta(weeks=6)),),
        confirmed_diagnosis=True,
        present={"xray_os_trigonum"},
    )
    recs = ids(facts)
    assert "therapeutic_injection" in recs
    assert "discuss_arthroscopy" not in recs
    review = next(r for r in recommend(facts) if r.id == "schedule_review")
    assert review.due == TODAY  # six weeks since start: review is due now


def test_three_months_without_injection_escalates() -> None:
    facts = EpisodeFacts(
        today=TODAY, stage="conservative_care", conservative_weeks=13, confirmed_diagnosis=True
    )
    assert "discuss_arthroscopy" in ids(facts)
    assert "about 3 months" in escalation(facts).basis


def test_escalation_without_confirmed_diagnosis_asks_to_confirm_first() -> None:
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        conservative_weeks=8,
        injections=1,
        imaging_done={"xray"},
    )
    recs = ids(facts)
    assert "confirm_before_surgery" in recs
    assert "discuss_arthroscopy" not in recs


def test_durable_relief_stops_escalation_but_recurrence_restarts_it() -> None:
    base = dict(
        today=TODAY,
        stage="conservative_care",
        conservative_weeks=10,
        injections=1,
        confirmed_diagnosis=True,
    )
    settled = ids(EpisodeFacts(**base, durable_relief=True))  # type: ignore[arg-type]
    assert "continue_and_return" in settled and "discuss_arthroscopy" not in settled
    recurred = ids(EpisodeFacts(**base, durable_relief=True, recurrence_after_injection=True))  # type: ignore[arg-type]
    assert "discuss_arthroscopy" in recurred


def test_professional_gets_earlier_injection_and_tighter_reviews() -> None:
    start = TODAY - timedelta(weeks=3)
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        level="professional",
        sport="football",
        imaging_done={"xray", "mri"},
        confirmed_diagnosis=True,
        treatments=(TreatmentRecord(id="physiotherapy", started=start),),
        last_review=TODAY - timedelta(days=3),
    )
    recs = recommend(facts)
    assert "therapeutic_injection_professional" in [r.id for r in recs]
    assert "therapeutic_injection" not in [r.id for r in recs]  # one per exclusive group
    review = next(r for r in recs if r.id == "schedule_review")
    assert review.due == TODAY + timedelta(days=11)
    assert review.title == f"Review on {review.due.isoformat()}"


def test_physiotherapy_hint_is_sport_specific() -> None:
    facts = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        sport="cricket_fast_bowling",
        treatments=(TreatmentRecord(id="strapping", started=TODAY),),
    )
    rec = next(r for r in recommend(facts) if r.id == "start_physiotherapy")
    assert "front-foot landing" in rec.explanation


def test_prp_is_flagged_unproven() -> None:
    recs = recommend(EpisodeFacts(today=TODAY, stage="conservative_care", prp_requested=True))
    prp = next(r for r in recs if r.id == "prp_unproven")
    assert "unproven" in prp.title
    started = EpisodeFacts(
        today=TODAY,
        stage="conservative_care",
        treatments=(TreatmentRecord(id="prp", started=TODAY),),
    )
    assert "prp_unproven" in ids(started)


def test_red_flag_comes_first() -> None:
    recs = ids(EpisodeFacts(today=TODAY, present={"hot_red_joint", "fever_or_unwell"}))
    assert recs[0] == "red_flag_urgent"


def test_surgical_stages() -> None:
    listing = ids(EpisodeFacts(today=TODAY, stage="surgical_listing", confirmed_diagnosis=True))
    assert listing[:2] == ["record_consent", "preop_assessment"]
    assert "record_consent" not in ids(
        EpisodeFacts(today=TODAY, stage="surgical_listing", consent_recorded=True)
    )
    assert ids(EpisodeFacts(today=TODAY, stage="post_op")) == ["postop_aftercare"]
    assert ids(EpisodeFacts(today=TODAY, stage="rehabilitation")) == ["follow_recovery_plan"]


def test_recommendations_are_ordered_and_sourced() -> None:
    recs = recommend(
        EpisodeFacts(
            today=TODAY, stage="conservative_care", conservative_weeks=13, prp_requested=True
        )
    )
    assert [r.priority for r in recs] == sorted(r.priority for r in recs)
    for r in recs:
        assert r.sources and r.title and r.explanation
        assert "{" not in r.title + r.explanation


def test_rules_file_uses_only_vocabulary_findings() -> None:
    vocab = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    known = {f["id"] for group in vocab["findings"].values() for f in group}
    rules = load_rules()
    used = set(rules.bony_lesion_findings)
    for rule in rules.rules:
        used |= set(rule.when.findings_present_any or ())
    assert used <= known


def test_rules_file_rejects_unknown_condition(tmp_path: Path) -> None:
    data = yaml.safe_load(
        Path(__file__)
        .parents[2]
        .joinpath("src/hindfoot/knowledge/data/next_steps.yaml")
        .read_text()
    )
    data["rules"][0]["when"]["stage_is"] = ["assessment"]
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="stage_is"):
        load_rules(bad)
