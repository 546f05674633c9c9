"""Boundary schemas for the recovery-plan API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from hindfoot.pathway.citations import cite
from hindfoot.pathway.schemas import CitationRead
from hindfoot.recovery.planner import PlanStatus
from hindfoot.recovery.service import BehindRow, PlanView
from hindfoot.bounds import SaneDate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CarePlanCreate(Strict):
    procedure: str = Field(max_length=80, description="posterior_arthroscopic_excision, ..., or conservative")
    start: SaneDate = Field(description="Day of surgery, or first day of conservative care.")
    sport: str | None = Field(default=None, max_length=40, description="Defaults to the patient's sport.")
    level: str | None = Field(default=None, max_length=20, description="Defaults to the patient's level.")


class MilestoneReached(Strict):
    date: SaneDate | None = Field(default=None, description="The day it was reached; today when omitted.")


class CriterionUpdate(Strict):
    met: bool


class CriterionRead(BaseModel):
    index: int
    text: str
    met: bool


class MilestoneRead(BaseModel):
    code: str
    title: str
    description: str
    category: str
    status: str
    earliest: date
    typical: date
    latest: date
    completed_on: date | None
    shifted_days: int
    range_note: str | None
    criteria: list[CriterionRead]
    source: str
    sources: list[CitationRead]


class CarePlanRead(BaseModel):
    id: uuid.UUID
    episode_id: uuid.UUID | None
    patient_id: uuid.UUID
    title: str
    kind: str
    status: str
    procedure: str | None
    sport: str | None
    level: str | None
    start: date
    period_end: date | None
    progress: PlanStatus
    milestones: list[MilestoneRead]

    @classmethod
    def from_view(cls, v: PlanView) -> CarePlanRead:
        cp, acts = v.care_plan, v.activities
        milestones = []
        for m in v.plan.milestones:
            a = acts[m.id]
            flags = list(a.criteria_met or [])
            milestones.append(MilestoneRead(
                code=m.id, title=m.title, description=m.description, category=m.category, status=a.status,
                earliest=m.earliest, typical=m.typical, latest=m.latest, completed_on=m.completed_on,
                shifted_days=m.shifted_days, range_note=m.range_note,
                criteria=[CriterionRead(index=i, text=t, met=bool(flags[i]) if i < len(flags) else False)
                          for i, t in enumerate(a.criteria or [])],
                source=m.source,
                sources=[CitationRead(key=c.key, label=c.label, url=c.url) for c in cite([m.source])],
            ))
        return cls(
            id=cp.id, episode_id=cp.episode_id, patient_id=cp.patient_id, title=cp.title, kind=cp.kind,
            status=cp.status, procedure=cp.procedure_code, sport=cp.sport, level=cp.level, start=cp.period_start,
            period_end=cp.period_end, progress=v.status, milestones=milestones,
        )


class BehindItem(BaseModel):
    patient_id: uuid.UUID
    patient_name: str
    care_plan_id: uuid.UUID
    plan_title: str
    next_milestone: str | None
    overdue: list[str]
    days_behind: int
    days_overdue: int
    drift_days: int

    @classmethod
    def from_row(cls, r: BehindRow) -> BehindItem:
        return cls(
            patient_id=r.patient.id, patient_name=r.patient.display_name, care_plan_id=r.care_plan.id,
            plan_title=r.care_plan.title, next_milestone=r.next_title, overdue=r.overdue_titles,
            days_behind=r.status.days_behind, days_overdue=r.status.days_overdue, drift_days=r.status.drift_days,
        )
