"""Patient search, the full record, and record writes. Every read and write is audited."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, select, tuple_
from sqlalchemy.orm import Session, defer, joinedload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import (
    can_read_demographics,
    can_read_patient,
    can_write_patient,
    require_clinical,
    require_front_desk,
)
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
from hindfoot.db.models.patient import search_pattern
from hindfoot.errors import AccessDenied, InvalidInput
from hindfoot.patients.schemas import (
    ContactDetails,
    EpisodeCreate,
    ObservationCreate,
    PatientCreate,
    PatientUpdate,
)


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


COUNT_CAP = 1000  # a search counts its matches up to here; beyond, the list says "1,000+"


@dataclass
class PatientPage:
    """One page of the patient list. `total` is exact up to `COUNT_CAP`; `total_capped` says more
    match. `next_cursor` (None on the last page) asks for the page after this one."""

    items: list[PatientListItem]
    total: int
    total_capped: bool
    next_cursor: str | None


def encode_cursor(patient: Patient) -> str:
    """An opaque keyset cursor: the list's sort key (family name, given name, id) of a row."""
    raw = json.dumps([patient.family_name, patient.given_name, str(patient.id)], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, uuid.UUID]:
    try:
        family, given, pid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(family), str(given), uuid.UUID(pid)
    except (ValueError, TypeError) as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise InvalidInput("not a cursor from this list (use next_cursor of the previous page)",
                           field="after") from exc


TRIGRAM_MIN = 3  # a trigram index can narrow a LIKE '%term%' only when the term has a whole trigram
PROBE_ROWS = 2000  # a search first reads this many patients in name order before asking the trigram index


def _listed(actor: Actor, stage: str | None, term: str | None, cols: Any = None) -> Select[Any]:
    """Ids of the organisation's patients (with the stage; containing a short term), in no order yet."""
    c = Patient.__table__.c if cols is None else cols
    stmt = select(c.id).where(c.organization_id == actor.organization_id)
    if stage:
        stmt = stmt.where(c.current_stage == stage)
    if term:
        stmt = stmt.where(c.search_text.like(search_pattern(term), escape="\\"))
    return stmt


def _hits(actor: Actor, stage: str | None, term: str) -> tuple[Select[Any], Any]:
    """A term of 3+ characters looked up on its own first (`hits`, materialised on PostgreSQL, where
    only the trigram index can answer it, statistics or not); the organisation, the stage and the
    order then apply to the hits alone."""
    hits = (
        select(Patient.id, Patient.organization_id, Patient.family_name, Patient.given_name, Patient.current_stage)
        .where(Patient.search_text.like(search_pattern(term), escape="\\"))
        .cte("hits").prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return _listed(actor, stage, None, hits.c), hits.c


def _in_order(stmt: Select[Any], cols: Any, limit: int, offset: int, after: tuple[str, str, uuid.UUID] | None
              ) -> Select[Any]:
    stmt = stmt.order_by(cols.family_name, cols.given_name, cols.id).limit(limit)
    if after:
        stmt = stmt.where(tuple_(cols.family_name, cols.given_name, cols.id) > tuple_(*after))
    elif offset:
        stmt = stmt.offset(offset)
    return stmt


def _page_ids(db: Session, actor: Actor, stage: str | None, term: str, limit: int, offset: int,
              after: tuple[str, str, uuid.UUID] | None, *, few: bool = False) -> list[uuid.UUID]:
    """Up to `limit` ids of the page, in name order. Every path is an index path whatever the
    planner's statistics say: the plain list, a stage and a short term walk the name-ordered index and
    stop after one page; a longer term is first looked for among the next `PROBE_ROWS` patients in
    name order (a common term, e.g. a sport, fills its page there) and only when that window is full
    and still leaves the page short does the trigram index find the rare matches. `few`: the count
    already says every match fits on the page, so the probe could only be wasted (a rare term)."""
    table = Patient.__table__.c
    if len(term) < TRIGRAM_MIN:
        return list(db.scalars(_in_order(_listed(actor, stage, term or None), table, limit, offset, after)))
    if not offset and not few:
        scope = [table.organization_id == actor.organization_id] + ([table.current_stage == stage] if stage else [])
        window = _in_order(
            select(table.id, table.family_name, table.given_name, table.search_text).where(*scope),
            table, PROBE_ROWS, 0, after,
        ).subquery("window")
        w = window.c
        found = list(db.scalars(
            select(w.id).where(w.search_text.like(search_pattern(term), escape="\\"))
            .order_by(w.family_name, w.given_name, w.id).limit(limit)
        ))
        if len(found) == limit or (db.scalar(select(func.count()).select_from(window)) or 0) < PROBE_ROWS:
            return found
    hits, cols = _hits(actor, stage, term)
    return list(db.scalars(_in_order(hits, cols, limit, offset, after)))


def list_patients(
    db: Session,
    actor: Actor,
    *,
    q: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> PatientPage:
    """Patients of the clinician's organisation in name order with their current (latest) episode.
    Pages by keyset (`after`, from the previous page's `next_cursor`) or by `offset`."""
    require_front_desk(actor)
    if not actor.is_clinical:
        stage = None  # the pathway stage is clinical: the front desk finds patients by who they are
    term = (q or "").strip()
    cursor = decode_cursor(after) if after else None
    # the count stops at COUNT_CAP + 1 matches; through the trigram hits that is lazy either way
    counted = _hits(actor, stage, term)[0] if len(term) >= TRIGRAM_MIN else _listed(actor, stage, term or None)
    total = db.scalar(select(func.count()).select_from(counted.limit(COUNT_CAP + 1).subquery())) or 0
    ids = _page_ids(db, actor, stage, term, limit + 1, offset, cursor, few=total <= limit + 1)
    rows = db.execute(
        select(Patient, EpisodeOfCare)
        .outerjoin(EpisodeOfCare, EpisodeOfCare.id == Patient.current_episode_id)
        .where(Patient.id.in_(ids))
        .order_by(Patient.family_name, Patient.given_name, Patient.id)
    ).all() if ids else []
    items = [PatientListItem(patient=patient, episode=episode) for patient, episode in rows[:limit]]
    shown = f"{total}{'+' if total > COUNT_CAP else ''}"
    audit.record(
        db, actor, audit.READ, "Patient",
        description=f"patient list q={q or ''!r} stage={stage or ''!r}: {len(items)} of {shown} shown",
    )
    return PatientPage(
        items=items, total=min(total, COUNT_CAP), total_capped=total > COUNT_CAP,
        next_cursor=encode_cursor(items[-1].patient) if len(rows) > limit else None,
    )


def stage_counts(db: Session, actor: Actor) -> dict[str, int]:
    """Patients of the organisation per current pathway stage (of their latest episode)."""
    require_clinical(actor)
    rows = db.execute(
        select(Patient.current_stage, func.count())
        .where(Patient.organization_id == actor.organization_id, Patient.current_stage.is_not(None))
        .group_by(Patient.current_stage)
    ).all()
    return {stage: count for stage, count in rows if stage is not None}


def get_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, *, action: str = audit.READ, demographics: bool = False,
) -> Patient:
    """Load one patient the actor may see; anything else is a 404 that is audited as a denial.
    `demographics`: only the front-desk part of the record (name, birth date, contact details, appointments),
    which receptionists may read and change; everything else is the clinical record."""
    patient = db.get(Patient, patient_id)
    allowed = patient is not None and (
        can_read_demographics(actor, patient) if demographics and (action == audit.READ or actor.role != "patient")
        else can_read_patient(actor, patient) if action == audit.READ else can_write_patient(actor, patient)
    )
    if patient is None or not allowed:
        raise AccessDenied(
            "patient not found", entity_type="Patient", entity_id=patient_id,
            patient_id=patient_id if patient is not None else None, action=action,
        )
    return patient


_PID: Any = bindparam("patient_id")


def _statements() -> dict[str, Any]:
    """The record's reads, one round trip per related collection (what each row refers to joined in), built once with the patient as a bound parameter:
    a request only binds the id (no SQL expression built, no cache key computed per request)."""
    return {
        "episodes": select(EpisodeOfCare).options(joinedload(EpisodeOfCare.care_manager))
        .where(EpisodeOfCare.patient_id == _PID).order_by(EpisodeOfCare.period_start.desc()),
        "encounters": select(Encounter).options(joinedload(Encounter.practitioner), joinedload(Encounter.location))
        .where(Encounter.patient_id == _PID).order_by(Encounter.start.desc()),
        "observations": select(Observation).where(Observation.patient_id == _PID)
        .order_by(Observation.effective_at.desc()),
        "imaging": select(ImagingStudy).where(ImagingStudy.patient_id == _PID).order_by(ImagingStudy.started_at.desc()),
        "conditions": select(Condition).where(Condition.patient_id == _PID).order_by(Condition.recorded_at.desc()),
        "procedures": select(Procedure).options(joinedload(Procedure.performer))
        .where(Procedure.patient_id == _PID).order_by(Procedure.performed_at.desc()),
        "care_plans": select(CarePlan).options(joinedload(CarePlan.activities))
        .where(CarePlan.patient_id == _PID).order_by(CarePlan.period_start.desc()),
        # the record shows titles and scores: skip the answers and the (large) Questionnaire definitions
        "responses": select(QuestionnaireResponse).options(
            defer(QuestionnaireResponse.answers),
            joinedload(QuestionnaireResponse.questionnaire).load_only(
                Questionnaire.code, Questionnaire.title, Questionnaire.version
            ),
        ).where(QuestionnaireResponse.patient_id == _PID).order_by(QuestionnaireResponse.authored_at),
        # the page's collections (timeline, reports, appointments); the API answer does not carry them
        "reports": select(DiagnosticReport).where(DiagnosticReport.patient_id == _PID)
        .order_by(DiagnosticReport.issued_at.desc()),
        "pathway_events": select(PathwayEvent).join(EpisodeOfCare, EpisodeOfCare.id == PathwayEvent.episode_id)
        .where(EpisodeOfCare.patient_id == _PID).order_by(PathwayEvent.recorded_at, PathwayEvent.id),
        "appointments": select(Appointment).options(joinedload(Appointment.practitioner),
                                                    joinedload(Appointment.location))
        .where(Appointment.patient_id == _PID).order_by(Appointment.start.desc()),
    }


_RECORD_READS = _statements()
API_PARTS = ("episodes", "encounters", "observations", "imaging", "conditions", "procedures", "care_plans",
             "responses")  # what GET /api/patients/{id} answers with
PAGE_PARTS = tuple(_RECORD_READS)


def get_record(db: Session, actor: Actor, patient_id: uuid.UUID, parts: tuple[str, ...] = PAGE_PARTS
               ) -> PatientRecord:
    """The record of one patient the actor may read (anything else: the audited 404 of `get_patient`),
    one query per related collection in `parts` (the others stay empty); the read is audited."""
    patient = get_patient(db, actor, patient_id)
    record = PatientRecord(patient=patient)
    params = {"patient_id": patient.id}
    for part in parts:
        setattr(record, part, list(db.scalars(_RECORD_READS[part], params).unique().all()))
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id, description="full record viewed")
    return record


def _new_identifier() -> str:
    return f"HF-{uuid.uuid4().hex[:8].upper()}"


def create_patient(db: Session, actor: Actor, data: PatientCreate) -> Patient:
    require_front_desk(actor)
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
    patient = get_patient(db, actor, patient_id, action=audit.UPDATE, demographics=True)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name in ("given_name", "family_name", "sport", "level"):
            raise InvalidInput(f"{name} cannot be empty", field=name)
        setattr(patient, name, value.value if hasattr(value, "value") else (str(value) if name == "email" and value else value))
    patient.updated_at = utcnow()
    audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                 description="changed " + ", ".join(sorted(changes)) if changes else "no change")
    return patient


def get_contact_details(db: Session, actor: Actor, patient_id: uuid.UUID) -> Patient:
    """A patient's contact details, for the patient themself or their clinic's staff (audited read)."""
    patient = get_patient(db, actor, patient_id, demographics=True)
    audit.record(db, actor, audit.READ, "Patient", patient.id, patient_id=patient.id,
                 description="contact details viewed")
    return patient


def update_contact_details(db: Session, actor: Actor, patient_id: uuid.UUID, data: ContactDetails) -> Patient:
    """Change how to reach a patient: the patient themself or their clinic's staff (anyone else: audited 404)."""
    patient = db.get(Patient, patient_id)
    if patient is None or not can_read_demographics(actor, patient):
        raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                           patient_id=patient_id if patient is not None else None, action=audit.UPDATE)
    changed = []
    for name in data.model_fields_set:
        value = getattr(data, name)
        value = (str(value).strip() or None) if value is not None else None
        if name == "email" and value:
            value = value.lower()
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    if changed:
        patient.updated_at = utcnow()
    audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                 description="contact details: " + (", ".join(sorted(changed)) if changed else "no change"))
    db.flush()
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

