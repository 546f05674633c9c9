"""Stored findings: the latest finding Observations of an episode, and writing only what changed.

    stored_findings(db, episode_id)   # finding id -> True/False (latest stored observation)

Used by the symptom-check and clinician-panel services (hindfoot.assessment.interview_service and
hindfoot.assessment.clinical_service); the caller authorises and audits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
)
from hindfoot.knowledge.loader import KnowledgeBase
from hindfoot.patients.codes import FINDING_CATEGORIES, WITHDRAWN

Value = Literal["present", "absent", "unknown"]


def _latest_findings(db: Session, episode_id: uuid.UUID) -> dict[str, Observation]:
    """The latest stored finding observation of each finding id on the episode (any status)."""
    rows = db.scalars(
        select(Observation)
        .where(Observation.episode_id == episode_id, Observation.category.in_(FINDING_CATEGORIES))
        .order_by(Observation.effective_at, Observation.created_at)
    ).all()
    return {o.code: o for o in rows}


def stored_findings(db: Session, episode_id: uuid.UUID) -> dict[str, bool]:
    """Finding id -> present (True) / absent (False), from the latest stored observation of each;
    withdrawn findings and observations without a yes/no value are unknown (left out)."""
    return {
        code: bool(o.value_boolean)
        for code, o in _latest_findings(db, episode_id).items()
        if o.status != WITHDRAWN and o.value_boolean is not None
    }


@dataclass
class SaveSummary:
    created: list[str] = field(default_factory=list)  # finding ids newly recorded
    withdrawn: list[str] = field(default_factory=list)  # finding ids set back to unknown
    unchanged: int = 0


def _write_findings(
    db: Session, actor: Actor, episode: EpisodeOfCare, answers: dict[str, Value], *, withdraw_unknown: bool,
    kb: KnowledgeBase, note: str,
) -> SaveSummary:
    """Store only what changed against the episode's latest stored findings."""
    latest = _latest_findings(db, episode.id)
    summary = SaveSummary()
    now = utcnow()
    for fid, value in answers.items():
        finding = kb.finding_by_id[fid]
        current = latest.get(fid)
        stored: Value = (
            "unknown" if current is None or current.status == WITHDRAWN or current.value_boolean is None
            else "present" if current.value_boolean else "absent"
        )
        if value == stored:
            summary.unchanged += 1
            continue
        if value == "unknown":
            if not withdraw_unknown or current is None:
                summary.unchanged += 1
                continue
            for o in db.scalars(select(Observation).where(
                Observation.episode_id == episode.id, Observation.code == fid, Observation.status != WITHDRAWN,
            )):
                o.status = WITHDRAWN
                o.updated_at = now
            summary.withdrawn.append(fid)
            continue
        db.add(Observation(
            patient_id=episode.patient_id, episode_id=episode.id, category=finding.group, code=fid,
            value_boolean=value == "present", effective_at=now, performer_id=actor.practitioner_id, note=note,
        ))
        summary.created.append(fid)
    db.flush()
    return summary
