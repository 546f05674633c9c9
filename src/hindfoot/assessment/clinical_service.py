"""The clinician's decision-support panel: a patient's demographics and stored findings, the live
ranking, and saving findings and a provisional diagnosis to an episode.

    clinician_context(db, actor, patient_id, episode_id)   # patient, episodes, chosen episode, stored findings
    assess_for_patient(db, actor, patient_id, answers)
    save_clinical_assessment(db, actor, episode_id, answers, condition=None)

Only staff of the patient's organisation; every read and write is audited. Services flush, the
request commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.assessment import engine
from hindfoot.assessment.findings_store import SaveSummary, Value, _write_findings, stored_findings
from hindfoot.assessment.schemas import AssessmentResult, Case
from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_clinical
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    Condition,
    EpisodeOfCare,
    Patient,
)
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.knowledge.loader import KnowledgeBase, load_kb
from hindfoot.patients import service as patients_service


def demographics(patient: Patient, kb: KnowledgeBase | None = None, today: date | None = None) -> dict[str, Any]:
    """Age, sex and sport of a patient as the engine understands them (others become None)."""
    kb = kb or load_kb()
    return {
        "age": max(0, min(120, patient.age_on(today or date.today()))),
        "sex": patient.sex if patient.sex in ("female", "male") else None,
        "sport": patient.sport if patient.sport in kb.sports else None,
    }


@dataclass
class ClinicalContext:
    patient: Patient
    episodes: list[EpisodeOfCare]
    episode: EpisodeOfCare | None
    stored: dict[str, bool]  # finding id -> present / absent (latest stored)
    demographics: dict[str, Any]


def clinician_context(
    db: Session, actor: Actor, patient_id: uuid.UUID, episode_id: uuid.UUID | None = None
) -> ClinicalContext:
    """What the clinician's assessment page needs: the patient, their episodes, the chosen one
    (default: the latest) and its stored findings. Staff only; audited."""
    require_clinical(actor)
    patient = patients_service.get_patient(db, actor, patient_id)
    episodes = list(db.scalars(
        select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)
        .order_by(EpisodeOfCare.period_start.desc(), EpisodeOfCare.created_at.desc())
    ).all())
    episode = episodes[0] if episodes else None
    if episode_id is not None:
        episode = next((e for e in episodes if e.id == episode_id), None)
        if episode is None:
            raise NotFound("episode not found for this patient")
    stored = stored_findings(db, episode.id) if episode is not None else {}
    audit.record(db, actor, audit.READ, "EpisodeOfCare", episode.id if episode else None, patient_id=patient.id,
                 description="decision support opened")
    return ClinicalContext(patient=patient, episodes=episodes, episode=episode, stored=stored,
                           demographics=demographics(patient))


def answers_from(present: list[str] | tuple[str, ...], absent: list[str] | tuple[str, ...],
                 unknown: list[str] | tuple[str, ...] = (), kb: KnowledgeBase | None = None) -> dict[str, Value]:
    """finding id -> value; unknown ids or a finding both present and absent: InvalidInput."""
    kb = kb or load_kb()
    out: dict[str, Value] = {}
    for name, ids, value in (("present", present, "present"), ("absent", absent, "absent"), ("unknown", unknown, "unknown")):
        bad = [f for f in ids if f not in kb.finding_by_id]
        if bad:
            raise InvalidInput(f"unknown finding id(s) in {name}: {', '.join(bad)}", field=name)
        for f in ids:
            if f in out and out[f] != value:
                raise InvalidInput(f"finding {f!r} is given as both {out[f]} and {value}", field=name)
            out[f] = value  # type: ignore[assignment]
    return out


def clinical_case(patient: Patient, answers: dict[str, Value], kb: KnowledgeBase | None = None) -> Case:
    kb = kb or load_kb()
    return Case.model_validate({
        "id": str(patient.id), "setting": "clinic", **demographics(patient, kb),
        "present": [f for f, v in answers.items() if v == "present"],
        "absent": [f for f, v in answers.items() if v == "absent"],
    }, context={"kb": kb})


def assess_for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, answers: dict[str, Value], *, question_limit: int = 8
) -> AssessmentResult:
    """The live panel: rank ALL conditions for these answers and the patient's demographics."""
    require_clinical(actor)
    patient = patients_service.get_patient(db, actor, patient_id)
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id,
                 description="decision support recalculated")
    return engine.assess(clinical_case(patient, answers), question_limit=question_limit)


@dataclass
class ClinicalSave:
    episode: EpisodeOfCare
    summary: SaveSummary
    condition: Condition | None
    condition_created: bool
    result: AssessmentResult


def save_clinical_assessment(
    db: Session, actor: Actor, episode_id: uuid.UUID, answers: dict[str, Value], *, condition: str | None = None,
) -> ClinicalSave:
    """Store the findings that changed (audited) and a provisional Condition (the chosen condition,
    default the leading one) with its SNOMED CT and ICD-10 codes. Staff of the patient's organisation only."""
    kb = load_kb()
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.UPDATE)
    require_clinical(actor)
    if condition is not None and condition not in kb.condition_by_id:
        raise InvalidInput(f"unknown condition id {condition!r}", field="condition")
    patient = db.get(Patient, episode.patient_id)
    assert patient is not None
    summary = _write_findings(db, actor, episode, answers, withdraw_unknown=True, kb=kb,
                              note="recorded in the decision-support panel")
    # rank on everything now stored for the episode (the saved form plus findings not on it)
    merged: dict[str, Value] = {f: ("present" if v else "absent") for f, v in stored_findings(db, episode.id).items()}
    result = engine.assess(clinical_case(patient, merged, kb), kb)
    if summary.created or summary.withdrawn:
        audit.record(
            db, actor, audit.CREATE, "Observation", None, patient_id=patient.id,
            description=f"decision support saved on episode {episode.id}: recorded "
                        + (", ".join(summary.created) or "none")
                        + (f"; withdrawn {', '.join(summary.withdrawn)}" if summary.withdrawn else ""),
        )
    chosen = condition or result.top.condition
    cond = kb.condition_by_id[chosen]
    probability = next(r.probability for r in result.ranking if r.condition == chosen)
    existing = db.scalars(
        select(Condition).where(Condition.episode_id == episode.id, Condition.code == chosen,
                                Condition.verification_status == "provisional")
    ).first()
    created = existing is None
    if existing is None:
        existing = Condition(
            patient_id=patient.id, episode_id=episode.id, code=chosen, display=cond.name[:200],
            snomed_code=cond.codes.snomed[0].code if cond.codes.snomed else None,
            icd10_code=cond.codes.icd10[0].code if cond.codes.icd10 else None,
            verification_status="provisional", laterality=episode.laterality,
            recorder_id=actor.practitioner_id,
            note=f"decision support: probability {probability:.2f}, advised {result.disposition}",
        )
        db.add(existing)
        db.flush()
        audit.record(db, actor, audit.CREATE, "Condition", existing.id, patient_id=patient.id,
                     description=f"provisional condition {chosen} (decision support)")
    else:
        existing.recorded_at = utcnow()
        existing.note = f"decision support: probability {probability:.2f}, advised {result.disposition}"
        audit.record(db, actor, audit.UPDATE, "Condition", existing.id, patient_id=patient.id,
                     description=f"provisional condition {chosen} confirmed again (decision support)")
    db.flush()
    return ClinicalSave(episode=episode, summary=summary, condition=existing, condition_created=created, result=result)
