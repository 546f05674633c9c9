"""Recovery plans: windows, sources, sport milestones, procedures, levels, re-planning, status."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from hindfoot.errors import InvalidInput
from hindfoot.recovery.planner import (
    LEVELS,
    PROCEDURES,
    SPORTS,
    RecoveryPlan,
    build_plan,
    replan,
    status,
)

START = date(2025, 3, 3)
ARTHRO = "posterior_arthroscopic_excision"
SURGICAL_IDS = {
    "dressings_every_other_day",
    "wound_check",
    "crutches_off",
    "normal_footwear",
    "cycling_swimming",
    "sport_specific_rehab",
    "running",
    "full_high_impact",
    "full_performance",
    "physio_session_1",
    "physio_session_2",
    "physio_session_3",
    "physio_session_4",
    "physio_session_5",
}
VOCABULARY = Path(__file__).parents[2] / "src/hindfoot/knowledge/data/vocabulary.yaml"


def day(plan: RecoveryPlan, mid: str) -> tuple[int, int, int]:
    m = plan.milestone(mid)
    return (
        (m.earliest - plan.start).days,
        (m.typical - plan.start).days,
        (m.latest - plan.start).days,
    )


def test_sports_match_the_vocabulary_contract() -> None:
    vocab = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    assert tuple(vocab["sports"]) == SPORTS


@pytest.mark.parametrize("procedure", PROCEDURES)
@pytest.mark.parametrize("sport", SPORTS)
@pytest.mark.parametrize("level", LEVELS)
def test_every_combination_has_ordered_windows_and_sources(
    procedure: str, sport: str, level: str
) -> None:
    plan = build_plan(procedure, START, sport, level)
    by_id = {m.id: m for m in plan.milestones}
    assert len(by_id) == len(plan.milestones)
    for m in plan.milestones:
        assert START <= m.earliest <= m.typical <= m.latest
        assert m.criteria and m.source and m.title and m.description
        assert m.category in {"aftercare", "mobility", "activity", "sport"}
        for dep in m.after:  # never dated before a prerequisite
            assert by_id[dep].earliest <= m.earliest and by_id[dep].typical <= m.typical
    typicals = [m.typical for m in plan.milestones]
    assert typicals == sorted(typicals)
    assert "full_performance" in by_id and "sport_specific_rehab" in by_id


@pytest.mark.parametrize(
    "procedure",
    ["posterior_arthroscopic_excision", "posterior_arthroscopic_debridement", "open_excision"],
)
def test_surgical_plans_have_required_milestones(procedure: str) -> None:
    assert {m.id for m in build_plan(procedure, START, "none").milestones} >= SURGICAL_IDS


def test_wound_check_and_dressings_follow_the_seed_pages() -> None:
    plan = build_plan(ARTHRO, START, "running")
    assert day(plan, "wound_check") == (10, 12, 14)
    dressings = plan.milestone("dressings_every_other_day")
    assert dressings.repeat_every_days == 2 and "[S1]" in dressings.source


@pytest.mark.parametrize("level", LEVELS)
def test_crutches_window_spans_both_seed_statements(level: str) -> None:
    earliest, _, latest = day(build_plan(ARTHRO, START, "football", level), "crutches_off")
    assert earliest <= 7 and latest >= 15  # [S2] 1-2 weeks and [S1] 10-15 days
    m = build_plan(ARTHRO, START, "football", level).milestone("crutches_off")
    assert "[S1]" in m.source and "[S2]" in m.source and m.range_note


def test_running_window_spans_two_months_and_eight_to_twelve_weeks() -> None:
    m = build_plan(ARTHRO, START, "running").milestone("running")
    e, t, lt = (m.earliest - START).days, (m.typical - START).days, (m.latest - START).days
    assert e <= 56 and t == 60 and lt >= 84
    assert m.range_note and "[S1]" in m.source and "[S2]" in m.source
    assert day(build_plan(ARTHRO, START, "none"), "full_high_impact") == (56, 70, 84)
    assert day(build_plan(ARTHRO, START, "none"), "cycling_swimming")[1] == 21  # [S1] three weeks
    assert day(build_plan(ARTHRO, START, "none"), "sport_specific_rehab")[1] == 42  # [S2] six weeks


@pytest.mark.parametrize(
    ("sport", "expected"),
    [
        ("ballet", {"barre", "centre", "demi_pointe", "pointe", "jumps"}),
        ("contemporary_dance", {"barre", "centre", "demi_pointe", "full_releve_floorwork"}),
        ("football", {"kicking_ball_work", "full_training"}),
        ("rugby", {"kicking_ball_work", "contact_training"}),
        ("cricket_fast_bowling", {"graded_bowling"}),
        ("running", {"full_running_training"}),
        ("gymnastics", {"tumbling_landings"}),
        ("tennis", {"court_agility_drills"}),
    ],
)
def test_sport_specific_milestones(sport: str, expected: set[str]) -> None:
    ids = {m.id for m in build_plan(ARTHRO, START, sport).milestones}
    assert expected <= ids
    assert "pointe" not in {m.id for m in build_plan(ARTHRO, START, "football").milestones}


def test_ballet_order_barre_before_centre_before_pointe() -> None:
    plan = build_plan(ARTHRO, START, "ballet")
    assert (
        plan.milestone("barre").typical
        < plan.milestone("centre").typical
        < plan.milestone("pointe").typical
    )
    assert plan.milestone("full_performance").title == "Pain-free full repertoire"


def test_open_excision_is_slower_by_four_to_five_weeks() -> None:
    arthro = build_plan(ARTHRO, START, "football")
    open_ = build_plan("open_excision", START, "football")
    for mid in ("running", "sport_specific_rehab", "full_high_impact", "full_performance"):
        gap = (open_.milestone(mid).typical - arthro.milestone(mid).typical).days
        assert 28 <= gap <= 35, mid
    assert open_.milestone("crutches_off").latest > arthro.milestone("crutches_off").latest
    assert open_.milestone("wound_check") == arthro.milestone("wound_check")


def test_debridement_is_never_slower_than_excision() -> None:
    excision = build_plan(ARTHRO, START, "gymnastics")
    debridement = build_plan("posterior_arthroscopic_debridement", START, "gymnastics")
    for m in debridement.milestones:
        assert m.typical <= excision.milestone(m.id).typical


def test_professionals_are_faster_for_loading_and_return() -> None:
    rec = build_plan(ARTHRO, START, "football", "recreational")
    comp = build_plan(ARTHRO, START, "football", "competitive")
    pro = build_plan(ARTHRO, START, "football", "professional")
    for mid in ("running", "sport_specific_rehab", "full_performance"):
        assert (
            pro.milestone(mid).typical <= comp.milestone(mid).typical <= rec.milestone(mid).typical
        )
        assert pro.milestone(mid).typical < rec.milestone(mid).typical
    assert day(pro, "full_performance") == (29, 41, 72)  # match play [CALDER10] 41 d (29-72)
    assert rec.milestone("wound_check") == pro.milestone("wound_check")


def test_pro_dancer_returns_to_dance_about_six_weeks() -> None:
    plan = build_plan(ARTHRO, START, "ballet", "professional")
    assert day(plan, "centre")[1] == 42  # [MOHANTY] 6 weeks (4-8)
    assert 84 <= day(plan, "full_performance")[2] <= 120


def test_conservative_plan_uses_phases() -> None:
    plan = build_plan("conservative", START, "ballet")
    ids = [m.id for m in plan.milestones]
    assert ids[0] == "relative_rest_and_strapping"
    for mid in (
        "restore_phase",
        "sport_specific_rehab",
        "graded_sport_return",
        "full_performance",
        "escalation_review",
        "pointe",
    ):
        assert mid in ids
    assert "crutches_off" not in ids and "wound_check" not in ids
    assert day(plan, "escalation_review") == (42, 42, 84)  # review by 6-12 weeks
    pro = build_plan("conservative", START, "football", "professional")
    assert day(pro, "graded_sport_return") == (24, 36, 42)  # [KUDAS16] 36 d (24-42)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("procedure", {"procedure": "knee_scope"}),
        ("sport", {"sport": "chess"}),
        ("level", {"level": "elite"}),
    ],
)
def test_unknown_values_raise_invalid_input_naming_the_field(
    field: str, kwargs: dict[str, str]
) -> None:
    args = {"procedure": ARTHRO, "sport": "none", "level": "recreational", **kwargs}
    with pytest.raises(InvalidInput) as info:
        build_plan(args["procedure"], START, args["sport"], args["level"])
    assert info.value.field == field
    assert "allowed:" in info.value.message


# --------------------------------------------------------------------------- re-planning


def test_late_milestone_shifts_dependants_only() -> None:
    plan = build_plan(ARTHRO, START, "football")
    late = plan.milestone("crutches_off").typical + timedelta(days=7)
    new = replan(plan, {"crutches_off": late})
    assert new.milestone("crutches_off").completed_on == late
    assert new.milestone("crutches_off").typical == plan.milestone("crutches_off").typical
    for mid in ("normal_footwear", "running", "full_rom", "full_performance"):
        assert new.milestone(mid).typical == plan.milestone(mid).typical + timedelta(days=7), mid
        assert new.milestone(mid).shifted_days == 7
    for mid in ("wound_check", "physio_session_2", "cycling_swimming"):  # not downstream
        assert new.milestone(mid) == plan.milestone(mid)
    assert new.milestone("normal_footwear").earliest >= late


def test_early_milestone_pulls_forward_but_not_before_earliest() -> None:
    plan = build_plan(ARTHRO, START, "none")
    early = plan.milestone("crutches_off").earliest  # 5 days ahead of typical
    new = replan(plan, {"crutches_off": early})
    footwear = new.milestone("normal_footwear")
    assert footwear.typical == plan.milestone("normal_footwear").typical - timedelta(days=4)
    assert footwear.typical >= plan.milestone("normal_footwear").earliest
    assert footwear.earliest == plan.milestone("normal_footwear").earliest


def test_replan_is_idempotent_and_accumulates() -> None:
    plan = build_plan(ARTHRO, START, "ballet")
    first = replan(plan, {"crutches_off": START + timedelta(days=20)})
    again = replan(first, {})
    assert again == first
    second = replan(first, {"wound_check": START + timedelta(days=12)})
    assert second.milestone("crutches_off").completed_on == START + timedelta(days=20)
    assert second.milestone("running") == first.milestone("running")


def test_replan_rejects_unknown_ids_and_dates_before_start() -> None:
    plan = build_plan(ARTHRO, START, "none")
    with pytest.raises(InvalidInput, match="pointe"):
        replan(plan, {"pointe": START})
    with pytest.raises(InvalidInput):
        replan(plan, {"crutches_off": START - timedelta(days=1)})


def test_status_next_overdue_and_behind() -> None:
    plan = build_plan(ARTHRO, START, "none")
    on_day_1 = status(plan, START + timedelta(days=1))
    assert on_day_1.next == "dressings_every_other_day"
    assert not on_day_1.behind and on_day_1.overdue == ()

    today = START + timedelta(days=20)
    done = replan(
        plan,
        {
            m: START + timedelta(days=d)
            for m, d in {
                "dressings_every_other_day": 2,
                "physio_session_1": 5,
                "wound_check": 12,
                "daily_activities": 10,
                "physio_session_2": 14,
            }.items()
        },
    )
    st = status(done, today)
    assert "crutches_off" in st.overdue and "normal_footwear" not in st.overdue
    assert st.days_overdue == 5  # latest was day 15
    assert st.behind and st.days_behind == 5
    assert st.next == "crutches_off"
    assert set(st.completed) == {
        "dressings_every_other_day",
        "physio_session_1",
        "wound_check",
        "daily_activities",
        "physio_session_2",
    }


def test_status_reports_drift_after_late_completion() -> None:
    plan = build_plan(ARTHRO, START, "none")
    before = {
        m.id: m.typical
        for m in plan.milestones
        if m.typical_day <= 14 and m.id not in ("crutches_off", "normal_footwear")
    }
    done = replan(plan, before)
    done = replan(done, {"crutches_off": START + timedelta(days=19)})  # 7 days late
    st = status(done, START + timedelta(days=19))
    assert st.next == "normal_footwear"
    assert st.drift_days == 7 and st.behind and st.days_behind == 7
    assert st.overdue == ()


def test_a_full_performance_date_that_departs_from_the_clinic_page_says_why_with_its_source() -> None:
    # the clinic page: full performance by about 3 months after arthroscopic excision [S2]
    pro = build_plan(ARTHRO, START, sport="football", level="professional").milestone("full_performance")
    assert (pro.typical - START).days < 90 - 14
    assert pro.range_note and "departs from the clinic pages ([S2]" in pro.range_note
    assert "[CALDER10]" in pro.range_note and "41 days" in pro.range_note
    # a recreational plan keeps the clinic page's date, so it says nothing about it
    rec = build_plan(ARTHRO, START, sport="football", level="recreational").milestone("full_performance")
    assert abs((rec.typical - START).days - 90) <= 14
    assert not rec.range_note or "departs from the clinic pages" not in rec.range_note
