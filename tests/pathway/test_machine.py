"""Pathway state machine: legal moves, guards and refusal reasons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hindfoot.errors import Conflict
from hindfoot.pathway.machine import (
    TRANSITIONS,
    PathwayEvent,
    PathwayFacts,
    Stage,
    TransitionRefused,
    allowed_next,
    options,
    transition,
)

ASSESSED = PathwayFacts(assessment_recorded=True)
READY_TO_LIST = PathwayFacts(
    assessment_recorded=True,
    confirmed_diagnosis=True,
    conservative_weeks=10,
    injection_done=True,
    conservative_failed=True,
)


def _reasons(current: Stage, target: Stage, facts: PathwayFacts) -> tuple[str, ...]:
    with pytest.raises(TransitionRefused) as info:
        transition(current, target, facts)
    return info.value.reasons


def test_every_stage_is_in_the_table_and_discharged_is_terminal() -> None:
    assert set(TRANSITIONS) == set(Stage)
    assert TRANSITIONS[Stage.DISCHARGED] == ()
    for stage, targets in TRANSITIONS.items():
        assert stage not in targets


def test_enquiry_to_assessment_returns_event() -> None:
    at = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    event = transition(
        Stage.ENQUIRY, Stage.ASSESSMENT, PathwayFacts(), reason="booked", occurred_at=at
    )
    assert event == PathwayEvent(
        from_stage=Stage.ENQUIRY, to_stage=Stage.ASSESSMENT, reason="booked", occurred_at=at
    )


def test_no_direct_route_is_refused_with_reason() -> None:
    reasons = _reasons(Stage.ENQUIRY, Stage.SURGERY, READY_TO_LIST)
    assert reasons == ("there is no direct route from enquiry to surgery",)


def test_conservative_care_needs_an_assessment() -> None:
    assert "no clinical assessment is recorded" in _reasons(
        Stage.ASSESSMENT, Stage.CONSERVATIVE_CARE, PathwayFacts()
    )
    assert (
        transition(Stage.ASSESSMENT, Stage.CONSERVATIVE_CARE, ASSESSED).to_stage
        is Stage.CONSERVATIVE_CARE
    )


def test_surgical_listing_refused_without_diagnosis_and_failed_care() -> None:
    reasons = _reasons(Stage.CONSERVATIVE_CARE, Stage.SURGICAL_LISTING, ASSESSED)
    assert len(reasons) == 2
    assert any("diagnosis is not confirmed" in r for r in reasons)
    assert any("no clinician override reason" in r for r in reasons)


def test_surgical_listing_refused_with_failed_care_but_unconfirmed_diagnosis() -> None:
    facts = READY_TO_LIST.model_copy(update={"confirmed_diagnosis": False})
    reasons = _reasons(Stage.CONSERVATIVE_CARE, Stage.SURGICAL_LISTING, facts)
    assert reasons == (
        "the diagnosis is not confirmed (imaging or a diagnostic image-guided injection first)",
    )


def test_surgical_listing_after_documented_failed_conservative_care() -> None:
    event = transition(Stage.CONSERVATIVE_CARE, Stage.SURGICAL_LISTING, READY_TO_LIST)
    assert event.override is False
    assert "failed after 10 weeks" in event.reason
    assert "injection" in event.reason


def test_surgical_listing_with_clinician_override_is_marked() -> None:
    facts = PathwayFacts(
        assessment_recorded=True,
        confirmed_diagnosis=True,
        override_reason="displaced fragment, pro dancer",
    )
    event = transition(Stage.INVESTIGATION, Stage.SURGICAL_LISTING, facts)
    assert event.override is True
    assert "clinician override: displaced fragment, pro dancer" in event.reason


def test_blank_override_reason_does_not_count() -> None:
    facts = PathwayFacts(assessment_recorded=True, confirmed_diagnosis=True, override_reason="   ")
    assert Stage.SURGICAL_LISTING not in allowed_next(Stage.INVESTIGATION, facts)


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"consent_recorded": False}, ("informed consent is not recorded",)),
        ({"confirmed_diagnosis": False}, ("the diagnosis is not confirmed",)),
        (
            {"consent_recorded": False, "confirmed_diagnosis": False},
            ("the diagnosis is not confirmed", "informed consent is not recorded"),
        ),
    ],
)
def test_surgery_needs_diagnosis_and_consent(
    update: dict[str, bool], expected: tuple[str, ...]
) -> None:
    facts = READY_TO_LIST.model_copy(update={"consent_recorded": True, **update})
    assert _reasons(Stage.SURGICAL_LISTING, Stage.SURGERY, facts) == expected


def test_surgery_allowed_with_diagnosis_and_consent() -> None:
    facts = READY_TO_LIST.model_copy(update={"consent_recorded": True})
    assert Stage.SURGERY in allowed_next(Stage.SURGICAL_LISTING, facts)
    assert transition(Stage.SURGICAL_LISTING, Stage.SURGERY, facts).to_stage is Stage.SURGERY


def test_surgery_only_leads_to_post_op_once_procedure_recorded() -> None:
    assert allowed_next(Stage.SURGERY, PathwayFacts()) == []
    assert allowed_next(Stage.SURGERY, PathwayFacts(procedure_recorded=True)) == [Stage.POST_OP]
    assert "no direct route" in _reasons(Stage.SURGERY, Stage.DISCHARGED, PathwayFacts())[0]


def test_discharge_needs_a_reason() -> None:
    assert _reasons(Stage.ASSESSMENT, Stage.DISCHARGED, PathwayFacts()) == (
        "a discharge reason is required",
    )
    event = transition(
        Stage.ASSESSMENT, Stage.DISCHARGED, PathwayFacts(), reason="not PAI: referred to spinal"
    )
    assert event.reason == "not PAI: referred to spinal"
    discharge = next(
        o for o in options(Stage.POST_OP, PathwayFacts()) if o.target is Stage.DISCHARGED
    )
    assert discharge.allowed and discharge.requires_reason


def test_discharged_episode_cannot_move() -> None:
    assert allowed_next(Stage.DISCHARGED, READY_TO_LIST) == []
    assert "open a new episode" in _reasons(Stage.DISCHARGED, Stage.ASSESSMENT, READY_TO_LIST)[0]


def test_same_stage_refused() -> None:
    assert _reasons(Stage.SURGERY, Stage.SURGERY, PathwayFacts()) == (
        "the episode is already at this stage",
    )


def test_options_cover_every_other_stage_with_reasons_when_blocked() -> None:
    opts = options(Stage.CONSERVATIVE_CARE, ASSESSED)
    assert {o.target for o in opts} == set(Stage) - {Stage.CONSERVATIVE_CARE}
    for o in opts:
        assert o.allowed == (not o.blocked_reasons)
    assert allowed_next(Stage.CONSERVATIVE_CARE, ASSESSED) == [
        Stage.INVESTIGATION,
        Stage.DISCHARGED,
    ]


def test_returned_to_sport_needs_documentation_and_allows_setback() -> None:
    assert Stage.RETURNED_TO_SPORT not in allowed_next(Stage.REHABILITATION, PathwayFacts())
    done = PathwayFacts(return_to_sport_recorded=True)
    assert Stage.RETURNED_TO_SPORT in allowed_next(Stage.REHABILITATION, done)
    assert Stage.REHABILITATION in allowed_next(Stage.RETURNED_TO_SPORT, done)


def test_refusal_is_a_conflict_with_reasons_in_body() -> None:
    with pytest.raises(Conflict) as info:
        transition("surgical_listing", "surgery", PathwayFacts())  # type: ignore[arg-type]
    body = info.value.to_dict()
    assert info.value.status_code == 409
    assert body["field"] == "to_stage"
    assert body["reasons"] == ["the diagnosis is not confirmed", "informed consent is not recorded"]


def test_facts_reject_unknown_fields() -> None:
    with pytest.raises(ValueError):
        PathwayFacts(consent=True)  # type: ignore[call-arg]
