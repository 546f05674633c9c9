"""One patient's outcome scores over time: a series per score code with its MCID threshold from the
baseline, the pathway's markers (surgery, treatment start) and the return-to-sport answers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.models import EpisodeOfCare, Observation, Patient, QuestionnaireResponse
from hindfoot.outcomes.due_list import episode_anchors
from hindfoot.outcomes.instruments import Mcid
from hindfoot.outcomes.vocabulary import SCORE_LABELS, mcid_for
from hindfoot.patients import service as patients_service


@dataclass
class ScoreSeries:
    code: str
    label: str
    points: list[tuple[date, float, str]]  # (date, value, time point)
    mcid: Mcid
    baseline: float | None

    @property
    def threshold(self) -> float | None:
        """The score that reaches the MCID from the baseline (None without a baseline)."""
        if self.baseline is None:
            return None
        return self.baseline + self.mcid.value if self.mcid.better == "higher" else self.baseline - self.mcid.value


@dataclass
class PatientOutcomes:
    patient: Patient
    series: list[ScoreSeries] = field(default_factory=list)
    markers: list[tuple[date, str]] = field(default_factory=list)  # surgery, treatment start
    rts: list[tuple[date, str, str | None]] = field(default_factory=list)  # (answered, status, date)


def patient_outcomes(db: Session, actor: Actor, patient_id: uuid.UUID) -> PatientOutcomes:
    """Scores over time per score code, with MCID thresholds and pathway markers; audited."""
    patient = patients_service.get_patient(db, actor, patient_id)
    rows = db.execute(
        select(Observation.code, Observation.effective_at, Observation.value_quantity, Observation.value_string,
               QuestionnaireResponse.timepoint)
        .outerjoin(QuestionnaireResponse, QuestionnaireResponse.id == Observation.questionnaire_response_id)
        .where(Observation.patient_id == patient.id,
               Observation.code.in_([*SCORE_LABELS, "rts.status", "rts.date"]))
        .order_by(Observation.effective_at)
    ).all()
    result = PatientOutcomes(patient=patient)
    by_code: dict[str, list[tuple[date, float, str]]] = defaultdict(list)
    rts_dates: dict[datetime, str] = {}
    for code, when, _value, text, _timepoint in rows:
        if code == "rts.date" and text:
            rts_dates[when] = text
    for code, when, value, text, timepoint in rows:
        if code == "rts.status" and text:
            result.rts.append((when.date(), text, rts_dates.get(when)))
        elif code in SCORE_LABELS and value is not None:
            by_code[code].append((when.date(), float(value), timepoint or ""))
    for code, label in SCORE_LABELS.items():
        points = by_code.get(code)
        if not points:
            continue
        base = [v for _, v, tp in points if tp == "baseline"]
        result.series.append(ScoreSeries(code, label, points, mcid_for(code), base[0] if base else None))
    episodes = list(db.scalars(select(EpisodeOfCare).where(EpisodeOfCare.patient_id == patient.id)))
    for a in episode_anchors(db, episodes).values():
        if a.surgery_date:
            result.markers.append((a.surgery_date, "Surgery"))
        if a.treatment_start:
            result.markers.append((a.treatment_start, "Treatment start"))
    audit.record(db, actor, audit.READ, "Observation", patient_id=patient.id, description="outcome scores viewed")
    return result
