"""Patient search, the full record, and record writes. Every read and write is audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_read_patient, can_write_patient, require_staff
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    Appointment,
    CarePlan,
    Condition,
    DiagnosticReport,
    Encounter,
    EpisodeOfCare,
    ImagingStudy,
    Observation,
    PathwayEvent,
    Patient,
    Procedure,
    Questionnaire,
    QuestionnaireResponse,
)
from hindfoot.errors import AccessDenied, InvalidInput
from hindfoot.patients.schemas import EpisodeCreate, ObservationCreate, PatientCreate, PatientUpdate


@dataclass
class PatientListItem:
    patient: Patient
    episode: EpisodeOfCare | None


@dataclass
class PatientRecord:
    patient: Patient
    episodes: list[EpisodeOfCare] = field(default_factory=list)
    encounters: list[Encounter] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    imaging: list[ImagingStudy] = field(default_factory=list)
    reports: list[DiagnosticReport] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    care_plans: list[CarePlan] = field(default_factory=list)
    responses: list[QuestionnaireResponse] = field(default_factory=list)
    pathway_events: list[PathwayEvent] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)


def _current_episode_subquery() -> Select[uuid.UUID, date]:
    return (
        select(EpisodeOfCare.patient_id, func.max(EpisodeOfCare.period_start).label("latest"))
        .group_by(EpisodeOfCare.patient_id)
    )


def list_patients(
    db: Session,
    actor: Actor,
    *,
    q: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PatientListItem], int]:
    """Patients of the clinician's organisation with their current (latest) episode."""
    require_staff(actor)
    latest = _current_episode_subquery().subquery()
    stmt = (
        select(Patient, EpisodeOfCare)
        .outerjoin(latest, latest.c.patient_id == Patient.id)
        .outerjoin(
            EpisodeOfCare,
            (EpisodeOfCare.patient_id == Patient.id) & (EpisodeOfCare.period_start == latest.c.latest),
        )
        .where(Patient.organization_id == actor.organization_id)
    )
    if q:
        term = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.given_name + " " + Patient.family_name).like(term),
                func.lower(Patient.identifier).like(term),
                func.lower(func.coalesce(Patient.email, "")).like(term),
                func.lower(Patient.sport).like(term),
            )
        )
    if stage:
        stmt = stmt.where(EpisodeOfCare.stage == stage)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(
        stmt.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit).offset(offset)
    ).all()
    audit.record(
        db, actor, audit.READ, "Patient",
        description=f"patient list q={q or ''!r} stage={stage or ''!r}: {len(rows)} of {total} shown",
    )
    # Two episodes starting the same day would repeat a patient; keep the first.
    seen: set[uuid.UUID] = set()
    items: list[PatientListItem] = []
    for patient, episode in rows:
        if patient.id in seen:
            continue
        seen.add(patient.id)
        items.append(PatientListItem(patient=patient, episode=episode))
    return items, total


def stage_counts(db: Session, actor: Actor) -> dict[str, int]:
    require_staff(actor)
    latest = _current_episode_subquery().subquery()
    rows = db.execute(
        select(EpisodeOfCare.stage, func.count(func.distinct(EpisodeOfCare.patient_id)))
        .join(latest, (latest.c.patient_id == EpisodeOfCare.patient_id) & (latest.c.latest == EpisodeOfCare.period_start))
        .where(EpisodeOfCare.organization_id == actor.organization_id)
        .group_by(EpisodeOfCare.stage)
    ).all()
    return {stage: count for stage, count in rows}


def get_patient(db: Session, actor: Actor, patient_id: uuid.UUID, *, action: str = audit.READ) -> Patient:
    """Load one patient the actor may see; anything else is a 404 that is audited as a denial."""
    patient = db.get(Patient, patient_id)
    allowed = patient is not None and (
        can_read_patient(actor, patient) if action == audit.READ else can_write_patient(actor, patient)
    )
    if patient is None or not allowed:
        raise AccessDenied(
            "patient not found", entity_type="Patient", entity_id=patient_id,
            patient_id=patient_id if patient is not None else None, action=action,
        )
    return patient


def get_record(db: Session, actor: Actor, patient_id: uuid.UUID) -> PatientRecord:
    patient = get_patient(db, actor, patient_id)

    def rows(stmt):  # type: ignore[no-untyped-def]
        return list(db.scalars(stmt).unique().all())

    record = PatientRecord(patient=patient)
    record.episodes = rows(
        select(EpisodeOfCare).options(joinedload(EpisodeOfCare.care_manager))
        .where(EpisodeOfCare.patient_id == patient.id).order_by(EpisodeOfCare.period_start.desc())
    )
    record.encounters = rows(
        select(Encounter).options(joinedload(Encounter.practitioner), joinedload(Encounter.location))
        .where(Encounter.patient_id == patient.id).order_by(Encounter.start.desc())
    )
    record.observations = rows(
        select(Observation).where(Observation.patient_id == patient.id).order_by(Observation.effective_at.desc())
    )
    record.imaging = rows(
        select(ImagingStudy).where(ImagingStudy.patient_id == patient.id).order_by(ImagingStudy.started_at.desc())
    )
    record.reports = rows(
        select(DiagnosticReport).where(DiagnosticReport.patient_id == patient.id)
        .order_by(DiagnosticReport.issued_at.desc())
    )
    record.conditions = rows(
        select(Condition).where(Condition.patient_id == patient.id).order_by(Condition.recorded_at.desc())
    )
    record.procedures = rows(
        select(Procedure).options(joinedload(Procedure.performer))
        .where(Procedure.patient_id == patient.id).order_by(Procedure.performed_at.desc())
    )
    record.care_plans = rows(
        select(CarePlan).options(selectinload(CarePlan.activities))
        .where(CarePlan.patient_id == patient.id).order_by(CarePlan.period_start.desc())
    )
    record.responses = rows(
        # the record shows titles and scores: skip the answers and the (large) Questionnaire definitions
        select(QuestionnaireResponse).options(
            defer(QuestionnaireResponse.answers),
            selectinload(QuestionnaireResponse.questionnaire).load_only(
                Questionnaire.code, Questionnaire.title, Questionnaire.version
            ),
        )
        .where(QuestionnaireResponse.patient_id == patient.id).order_by(QuestionnaireResponse.authored_at)
    )
    episode_ids = [e.id for e in record.episodes]
    if episode_ids:
        record.pathway_events = rows(
            select(PathwayEvent).where(PathwayEvent.episode_id.in_(episode_ids)).order_by(PathwayEvent.recorded_at)
        )
    record.appointments = rows(
        select(Appointment).options(joinedload(Appointment.practitioner), joinedload(Appointment.location))
        .where(Appointment.patient_id == patient.id).order_by(Appointment.start.desc())
    )
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id, description="full record viewed")
    return record


def _new_identifier() -> str:
    return f"HF-{uuid.uuid4().hex[:8].upper()}"


def create_patient(db: Session, actor: Actor, data: PatientCreate) -> Patient:
    require_staff(actor)
    identifier = data.identifier or _new_identifier()
    clash = db.scalar(
        select(Patient.id).where(Patient.organization_id == actor.organization_id, Patient.identifier == identifier)
    )
    if clash:
        raise InvalidInput(f"a patient with identifier {identifier!r} already exists", field="identifier")
    patient = Patient(
        organization_id=actor.organization_id,
        identifier=identifier,
        given_name=data.given_name,
        family_name=data.family_name,
        birth_date=data.birth_date,
        sex=data.sex.value,
        email=str(data.email) if data.email else None,
        phone=data.phone,
        sport=data.sport,
        level=data.level.value,
    )
    db.add(patient)
    db.flush()
    audit.record(db, actor, audit.CREATE, "Patient", patient.id, patient_id=patient.id, description="patient created")
    return patient


def update_patient(db: Session, actor: Actor, patient_id: uuid.UUID, data: PatientUpdate) -> Patient:
    patient = get_patient(db, actor, patient_id, action=audit.UPDATE)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name in ("given_name", "family_name", "sport", "level"):
            raise InvalidInput(f"{name} cannot be empty", field=name)
        setattr(patient, name, value.value if hasattr(value, "value") else (str(value) if name == "email" and value else value))
    patient.updated_at = utcnow()
    audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                 description="changed " + ", ".join(sorted(changes)) if changes else "no change")
    return patient


def create_episode(db: Session, actor: Actor, patient_id: uuid.UUID, data: EpisodeCreate) -> EpisodeOfCare:
    patient = get_patient(db, actor, patient_id, action=audit.CREATE)
    episode = EpisodeOfCare(
        patient_id=patient.id,
        organization_id=patient.organization_id,
        title=data.title,
        condition_code=data.condition_code,
        laterality=data.laterality.value,
        stage=data.stage.value,
        period_start=data.period_start or date.today(),
        care_manager_id=actor.practitioner_id,
    )
    db.add(episode)
    db.flush()
    db.add(PathwayEvent(episode_id=episode.id, from_stage=None, to_stage=episode.stage,
                        reason="episode opened", recorded_by_id=actor.user_id))
    audit.record(db, actor, audit.CREATE, "EpisodeOfCare", episode.id, patient_id=patient.id,
                 description=f"episode opened: {episode.title}")
    return episode


def get_episode(db: Session, actor: Actor, episode_id: uuid.UUID, *, action: str = audit.READ) -> EpisodeOfCare:
    episode = db.get(EpisodeOfCare, episode_id)
    if episode is None:
        raise AccessDenied("episode not found", entity_type="EpisodeOfCare", entity_id=episode_id, action=action)
    try:
        get_patient(db, actor, episode.patient_id, action=action)
    except AccessDenied as exc:
        raise AccessDenied("episode not found", entity_type="EpisodeOfCare", entity_id=episode_id,
                           patient_id=episode.patient_id, action=action) from exc
    return episode


def add_observation(db: Session, actor: Actor, episode_id: uuid.UUID, data: ObservationCreate) -> Observation:
    from hindfoot.patients.codes import known_finding_ids

    episode = get_episode(db, actor, episode_id, action=audit.CREATE)
    if data.category != "measurement" and data.code not in known_finding_ids():
        raise InvalidInput(f"unknown finding id {data.code!r} (see the vocabulary's findings)", field="code")
    if data.present is None and data.value is None:
        raise InvalidInput("give `present` (true/false) for a finding or `value` for a measurement", field="present")
    observation = Observation(
        patient_id=episode.patient_id,
        episode_id=episode.id,
        category=data.category,
        code=data.code,
        value_boolean=data.present,
        value_quantity=data.value,
        value_unit=data.unit,
        effective_at=data.effective_at or utcnow(),
        performer_id=actor.practitioner_id,
        note=data.note,
    )
    db.add(observation)
    db.flush()
    audit.record(db, actor, audit.CREATE, "Observation", observation.id, patient_id=episode.patient_id,
                 description=f"{data.code} recorded")
    return observation

