"""Boundary schemas for the pathway API (separate from the ORM classes and the pure values)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hindfoot.pathway.machine import Stage
from hindfoot.pathway.service import PathwayView
from hindfoot.bounds import SaneDate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TransitionCreate(Strict):
    to: Stage
    reason: str | None = Field(default=None, max_length=2000)
    override_reason: str | None = Field(
        default=None, max_length=2000,
        description="Why the patient is listed for surgery without documented failed conservative care.",
    )
    expected_stage: Stage | None = Field(
        default=None, description="The stage the caller saw; a different current stage is refused (409).",
    )


class ConsentCreate(Strict):
    given: bool = True
    note: str = Field(default="", max_length=2000)


class DiagnosisConfirm(Strict):
    condition_id: uuid.UUID | None = None
    note: str = Field(default="", max_length=2000)


class DocumentationCreate(Strict):
    kind: Literal["conservative_care_failed", "durable_relief"]
    value: bool = True
    note: str = Field(default="", max_length=2000)


class ProcedureCreate(Strict):
    code: Literal[
        "posterior_arthroscopic_excision", "posterior_arthroscopic_debridement", "open_excision",
        "image_guided_injection",
    ]
    performed_on: SaneDate
    note: str = Field(default="", max_length=2000)


class ReturnToSportCreate(Strict):
    status: Literal["returned_previous_level", "returned_higher_level", "returned_lower_level"] = (
        "returned_previous_level"
    )
    on: SaneDate
    note: str = Field(default="", max_length=2000)


class CitationRead(BaseModel):
    key: str
    label: str
    url: str | None = None


class OptionRead(BaseModel):
    to: str
    allowed: bool
    blocked_reasons: list[str]
    requires_reason: bool
    note: str | None


class NextStepRead(BaseModel):
    id: str
    title: str
    explanation: str
    category: str
    priority: int
    due: date | None
    sources: list[CitationRead]


class EscalationRead(BaseModel):
    due: bool
    basis: str
    weeks: float
    threshold_weeks: float


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    episode_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    reason: str
    recorded_at: datetime
    recorded_by_id: uuid.UUID | None


class PathwayRead(BaseModel):
    episode_id: uuid.UUID
    patient_id: uuid.UUID
    stage: str
    status: str
    options: list[OptionRead]
    next_steps: list[NextStepRead]
    escalation: EscalationRead
    facts: dict[str, object]
    events: list[EventRead]

    @classmethod
    def from_view(cls, v: PathwayView) -> PathwayRead:
        return cls(
            episode_id=v.episode.id,
            patient_id=v.patient.id,
            stage=v.episode.stage,
            status=v.episode.status,
            options=[OptionRead(to=o.target.value, allowed=o.allowed, blocked_reasons=list(o.blocked_reasons),
                                requires_reason=o.requires_reason, note=o.note) for o in v.options],
            next_steps=[
                NextStepRead(
                    id=r.recommendation.id, title=r.recommendation.title, explanation=r.recommendation.explanation,
                    category=r.recommendation.category, priority=r.recommendation.priority, due=r.recommendation.due,
                    sources=[CitationRead(key=c.key, label=c.label, url=c.url) for c in r.citations],
                )
                for r in v.recommendations
            ],
            escalation=EscalationRead(**v.escalation.model_dump()),
            facts=v.pathway.model_dump(mode="json"),
            events=[EventRead.model_validate(e) for e in v.events],
        )
