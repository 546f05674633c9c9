"""The care-pathway state machine for one episode of posterior ankle impingement care.

Pure on purpose: no database, no clock, no web imports. The service layer builds a
`PathwayFacts` snapshot from what is recorded, asks this module whether a move is legal, and
stores the returned `PathwayEvent` append-only. Keeping the rules here means the API, the web
pages and the CLI refuse the same moves for the same reasons.

Stepped care follows evidence.md 5.1: self-care and physiotherapy first, an image-guided
injection next, surgery only after conservative care has failed ([S1], [S2]). The guards make
that order explicit, and a clinician can override the "failed conservative care" guard only by
writing down why (e.g. an acute displaced fragment), so the exception is visible in the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hindfoot.errors import Conflict

__all__ = [
    "STAGE_LABELS",
    "TRANSITIONS",
    "PathwayEvent",
    "PathwayFacts",
    "Stage",
    "TransitionOption",
    "TransitionRefused",
    "allowed_next",
    "options",
    "transition",
]


class Stage(StrEnum):
    """Where an episode of care stands. Values are stored, so never rename one."""

    ENQUIRY = "enquiry"
    ASSESSMENT = "assessment"
    INVESTIGATION = "investigation"
    CONSERVATIVE_CARE = "conservative_care"
    SURGICAL_LISTING = "surgical_listing"
    SURGERY = "surgery"
    POST_OP = "post_op"
    REHABILITATION = "rehabilitation"
    RETURNED_TO_SPORT = "returned_to_sport"
    DISCHARGED = "discharged"


#: What pages and the CLI call each stage.
STAGE_LABELS: dict[str, str] = {
    "enquiry": "New enquiry",
    "assessment": "Assessed",
    "investigation": "Investigations",
    "conservative_care": "Conservative care",
    "surgical_listing": "Listed for surgery",
    "surgery": "Surgery",
    "post_op": "Post-op",
    "rehabilitation": "Rehabilitation",
    "returned_to_sport": "Returned to sport",
    "discharged": "Discharged",
}

S = Stage

#: Legal moves, before guards. Order inside each tuple is the order options are offered in.
#: Backward moves exist where care really goes backward: more investigation during
#: conservative care, coming off the surgical list back to conservative care, a setback after
#: returning to sport. Discharge is possible from every stage except the operation itself.
TRANSITIONS: Mapping[Stage, tuple[Stage, ...]] = {
    S.ENQUIRY: (S.ASSESSMENT, S.DISCHARGED),
    S.ASSESSMENT: (S.INVESTIGATION, S.CONSERVATIVE_CARE, S.SURGICAL_LISTING, S.DISCHARGED),
    S.INVESTIGATION: (S.ASSESSMENT, S.CONSERVATIVE_CARE, S.SURGICAL_LISTING, S.DISCHARGED),
    S.CONSERVATIVE_CARE: (
        S.INVESTIGATION,
        S.SURGICAL_LISTING,
        S.RETURNED_TO_SPORT,
        S.DISCHARGED,
    ),
    S.SURGICAL_LISTING: (S.SURGERY, S.CONSERVATIVE_CARE, S.DISCHARGED),
    S.SURGERY: (S.POST_OP,),
    S.POST_OP: (S.REHABILITATION, S.DISCHARGED),
    S.REHABILITATION: (S.RETURNED_TO_SPORT, S.DISCHARGED),
    S.RETURNED_TO_SPORT: (S.REHABILITATION, S.DISCHARGED),
    S.DISCHARGED: (),
}


class PathwayFacts(BaseModel):
    """What the record says about the episode, flattened for the guards.

    The service layer fills this from stored observations and procedures; the API can accept
    it directly. Every field has a safe default (nothing done yet), so a missing fact can only
    block a move, never allow one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    assessment_recorded: bool = Field(
        False, description="A clinical assessment has been documented."
    )
    confirmed_diagnosis: bool = Field(
        False, description="PAI confirmed by a clinician (imaging and/or diagnostic injection)."
    )
    conservative_weeks: float = Field(
        0.0, ge=0, description="Weeks of structured conservative care so far."
    )
    injection_done: bool = Field(
        False, description="At least one image-guided posterior injection given."
    )
    conservative_failed: bool = Field(
        False,
        description="Clinician documented that conservative care failed or gave no durable relief.",
    )
    override_reason: str | None = Field(
        None,
        description="Written reason to list for surgery without failed conservative care.",
    )
    consent_recorded: bool = Field(
        False, description="Informed consent for the operation is recorded."
    )
    procedure_recorded: bool = Field(
        False, description="The operation note / procedure is recorded."
    )
    return_to_sport_recorded: bool = Field(
        False, description="Return to sport or usual activity has been documented."
    )


class TransitionOption(BaseModel):
    """One candidate move from the current stage, and why it is or is not possible now."""

    model_config = ConfigDict(frozen=True)

    target: Stage
    allowed: bool
    blocked_reasons: tuple[str, ...] = ()
    requires_reason: bool = False
    note: str | None = None


class PathwayEvent(BaseModel):
    """An accepted stage change, to be stored append-only by the service layer.

    `reason` is the human-readable justification the record keeps: the clinician's words when
    given, otherwise what the guards checked. `override` marks a listing that bypassed the
    failed-conservative-care guard, so audits can find every exception.
    """

    model_config = ConfigDict(frozen=True)

    from_stage: Stage
    to_stage: Stage
    reason: str
    override: bool = False
    occurred_at: datetime | None = None


class TransitionRefused(Conflict):
    """An illegal or not-yet-allowed pathway move (HTTP 409), carrying every refusal reason."""

    code = "transition_refused"

    def __init__(self, current: Stage, target: Stage, reasons: tuple[str, ...]) -> None:
        text = "; ".join(reasons)
        super().__init__(
            f"cannot move from {current.value} to {target.value}: {text}", field="to_stage"
        )
        self.current = current
        self.target = target
        self.reasons = reasons

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        body["reasons"] = list(self.reasons)
        return body


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


def _guard(target: Stage, facts: PathwayFacts) -> tuple[list[str], str | None]:
    """Return (blocking reasons, note on what allowed it) for moving into `target`."""
    blocked: list[str] = []
    note: str | None = None
    if target is S.SURGICAL_LISTING:
        if not facts.confirmed_diagnosis:
            blocked.append(
                "the diagnosis is not confirmed "
                "(imaging or a diagnostic image-guided injection first)"
            )
        if facts.conservative_failed:
            note = (
                f"conservative care documented as failed after {facts.conservative_weeks:g} weeks"
            )
            if facts.injection_done:
                note += " including an image-guided injection"
        elif _has_text(facts.override_reason):
            note = f"clinician override: {facts.override_reason.strip()}"  # type: ignore[union-attr]
        else:
            blocked.append(
                "failed conservative care is not documented "
                "and no clinician override reason is given"
            )
    elif target is S.SURGERY:
        if not facts.confirmed_diagnosis:
            blocked.append("the diagnosis is not confirmed")
        if not facts.consent_recorded:
            blocked.append("informed consent is not recorded")
    elif target is S.POST_OP:
        if not facts.procedure_recorded:
            blocked.append("the procedure (operation note) is not recorded")
    elif target is S.INVESTIGATION or target is S.CONSERVATIVE_CARE:
        if not facts.assessment_recorded:
            blocked.append("no clinical assessment is recorded")
    elif target is S.RETURNED_TO_SPORT and not facts.return_to_sport_recorded:
        blocked.append("return to sport or usual activity is not documented")
    return blocked, note


def options(current: Stage, facts: PathwayFacts) -> list[TransitionOption]:
    """Every stage in the pathway except `current`, each marked allowed or blocked with reasons.

    Stages with no direct route are included (blocked) so a UI can explain, not just hide.
    """
    current = Stage(current)
    legal = TRANSITIONS[current]
    result: list[TransitionOption] = []
    for target in (*legal, *(s for s in Stage if s not in legal and s is not current)):
        if target not in legal:
            why = (
                "the episode is discharged; open a new episode of care"
                if current is S.DISCHARGED
                else f"there is no direct route from {current.value} to {target.value}"
            )
            result.append(TransitionOption(target=target, allowed=False, blocked_reasons=(why,)))
            continue
        blocked, note = _guard(target, facts)
        result.append(
            TransitionOption(
                target=target,
                allowed=not blocked,
                blocked_reasons=tuple(blocked),
                requires_reason=target is S.DISCHARGED,
                note=note,
            )
        )
    return result


def allowed_next(current: Stage, facts: PathwayFacts) -> list[Stage]:
    """The stages the episode may move to now, in the order they are usually offered."""
    return [o.target for o in options(current, facts) if o.allowed]


def transition(
    current: Stage,
    target: Stage,
    facts: PathwayFacts,
    *,
    reason: str | None = None,
    occurred_at: datetime | None = None,
) -> PathwayEvent:
    """Validate one move and return the event to store, or raise `TransitionRefused`.

    Discharge needs a written `reason` (why the episode ends matters for outcomes audits).
    For other moves `reason` is an optional clinician note; the guard's own justification is
    always kept in the event so the record shows why the move was allowed.
    """
    current, target = Stage(current), Stage(target)
    option = next((o for o in options(current, facts) if o.target is target), None)
    if option is None:  # target == current
        raise TransitionRefused(current, target, ("the episode is already at this stage",))
    reasons = list(option.blocked_reasons)
    if target is S.DISCHARGED and not _has_text(reason):
        reasons.append("a discharge reason is required")
    if reasons:
        raise TransitionRefused(current, target, tuple(reasons))
    parts = [p for p in ((reason or "").strip(), option.note or "") if p]
    override = (
        target is S.SURGICAL_LISTING
        and not facts.conservative_failed
        and _has_text(facts.override_reason)
    )
    return PathwayEvent(
        from_stage=current,
        to_stage=target,
        reason="; ".join(parts) or f"{current.value} -> {target.value}",
        override=override,
        occurred_at=occurred_at,
    )
