"""Patients' data rights (GDPR articles 15-18 and 20).

Access and portability (15, 20) need no request: the patient downloads the whole record as a FHIR
Bundle and as a readable summary (`summary`). Correction, erasure and restriction (16-18) are requests
that an admin of the patient's clinic accepts or refuses with a reason; the patient sees the status
and the answer, and is emailed it. Accepting an erasure anonymises what the law lets the clinic erase
and keeps the medical record (`hindfoot.patients.erasure` says which); accepting a restriction marks
the record so that it is shown as restricted to staff and left out of the registry dashboard and its
export. Every step is audited; staff of another clinic never see a request (a 404, audited).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.audit import service as audit
from hindfoot.auth import sessions
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_admin
from hindfoot.auth.throttle import email_key
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    Appointment,
    AuditEvent,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    LoginThrottle,
    MfaRecoveryCode,
    Organization,
    OutcomeReminder,
    Patient,
    UserAccount,
)
from hindfoot.errors import AccessDenied, Conflict, Forbidden, InvalidInput
from hindfoot.notifications.email import EmailError, OutgoingEmail, send
from hindfoot.patients import erasure
from hindfoot.scheduling import booking
from hindfoot.settings import Settings

KIND_LABELS = {
    DataRequestKind.correction.value: "Correct my data",
    DataRequestKind.erasure.value: "Erase my data",
    DataRequestKind.restriction.value: "Restrict the use of my data",
}
STATUS_LABELS = {"open": "waiting for the clinic", "accepted": "accepted", "refused": "refused"}
DETAILS_MAX = 2000
REASON_MAX = 2000
ACCESS_LOG_ROWS = 200  # the summary lists the latest reads and changes of the record


def _patient_of(db: Session, actor: Actor) -> Patient:
    if actor.role != "patient" or actor.patient_id is None:
        raise Forbidden("data-rights requests are made by the patient, for their own record")
    patient = db.get(Patient, actor.patient_id)
    if patient is None:
        raise Forbidden("this account has no patient record")
    return patient


def create_request(db: Session, actor: Actor, kind: str, details: str) -> DataRequest:
    """A patient asks for a correction, an erasure or a restriction of their own record."""
    patient = _patient_of(db, actor)
    if kind not in KIND_LABELS:
        raise InvalidInput(f"kind must be one of {', '.join(KIND_LABELS)}", field="kind")
    details = (details or "").strip()
    if len(details) > DETAILS_MAX:
        raise InvalidInput(f"at most {DETAILS_MAX} characters", field="details")
    if kind == DataRequestKind.correction.value and not details:
        raise InvalidInput("say what is wrong and what it should say", field="details")
    pending = db.scalar(select(DataRequest.id).where(DataRequest.patient_id == patient.id, DataRequest.kind == kind,
                                                     DataRequest.status == DataRequestStatus.open.value))
    if pending is not None:
        raise InvalidInput("you already have a request of this kind waiting for the clinic", field="kind")
    request = DataRequest(organization_id=patient.organization_id, patient_id=patient.id, requested_by_id=actor.user_id,
                          kind=kind, details=details, status=DataRequestStatus.open.value)
    db.add(request)
    db.flush()
    audit.record(db, actor, audit.CREATE, "DataRequest", request.id, patient_id=patient.id,
                 description=f"data-rights request: {kind}")
    return request


def own_requests(db: Session, actor: Actor) -> list[DataRequest]:
    patient = _patient_of(db, actor)
    rows = list(db.scalars(select(DataRequest).where(DataRequest.patient_id == patient.id)
                           .order_by(DataRequest.created_at.desc())))
    audit.record(db, actor, audit.READ, "DataRequest", patient_id=patient.id,
                 description=f"own data-rights requests: {len(rows)}")
    return rows


@dataclass
class QueueItem:
    request: DataRequest
    patient: Patient


def queue(db: Session, actor: Actor, *, status: str | None = None, limit: int = 200) -> list[QueueItem]:
    """The clinic's requests (the admin's own clinic only), open ones first, oldest first."""
    require_admin(actor)
    if status is not None and status not in STATUS_LABELS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_LABELS)}", field="status")
    stmt = (select(DataRequest, Patient).join(Patient, Patient.id == DataRequest.patient_id)
            .where(DataRequest.organization_id == actor.organization_id))
    if status:
        stmt = stmt.where(DataRequest.status == status)
    order = (DataRequest.status != DataRequestStatus.open.value, DataRequest.created_at)
    rows = [QueueItem(r, p) for r, p in db.execute(stmt.order_by(*order).limit(limit)).all()]
    audit.record(db, actor, audit.READ, "DataRequest",
                 description=f"data-rights queue status={status or 'all'}: {len(rows)} shown")
    return rows


def get_request(db: Session, actor: Actor, request_id: uuid.UUID) -> DataRequest:
    """One request: for the patient who made it and the admins of their clinic (anyone else: audited 404)."""
    request = db.get(DataRequest, request_id)
    allowed = request is not None and (
        (actor.role == "patient" and actor.patient_id == request.patient_id)
        or (actor.role == "admin" and actor.organization_id == request.organization_id)
    )
    if request is None or not allowed:
        raise AccessDenied("data-rights request not found", entity_type="DataRequest", entity_id=request_id,
                           patient_id=request.patient_id if request is not None else None)
    audit.record(db, actor, audit.READ, "DataRequest", request.id, patient_id=request.patient_id,
                 description=f"data-rights request viewed: {request.kind}")
    return request


@dataclass(frozen=True)
class AnswerMail:
    entity_type: str  # what the email answers: a DataRequest, or the Patient whose restriction ended
    entity_id: uuid.UUID
    actor: Actor
    mail: OutgoingEmail


def decide(db: Session, actor: Actor, settings: Settings, request_id: uuid.UUID, decision: str,
           reason: str) -> tuple[DataRequest, AnswerMail | None]:
    """An admin of the patient's clinic accepts or refuses an open request (a refusal needs its reason).
    Accepting carries it out in the same transaction. The email to the patient, to send after the commit."""
    require_admin(actor)
    if decision not in ("accept", "refuse"):
        raise InvalidInput("decision must be accept or refuse", field="decision")
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"at most {REASON_MAX} characters", field="reason")
    if decision == "refuse" and not reason:
        raise InvalidInput("say why the request is refused: the patient reads it", field="reason")
    request = db.get(DataRequest, request_id)
    if request is None or request.organization_id != actor.organization_id:
        raise AccessDenied("data-rights request not found", entity_type="DataRequest", entity_id=request_id,
                           patient_id=request.patient_id if request is not None else None, action=audit.UPDATE)
    # one decision per request, even when two admins press at once
    claimed = db.execute(update(DataRequest).where(DataRequest.id == request.id,
                                                   DataRequest.status == DataRequestStatus.open.value)
                         .values(status="deciding").execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if not claimed:
        db.refresh(request)
        raise Conflict(f"this request is already {STATUS_LABELS.get(request.status, 'being decided')}")
    patient = db.get(Patient, request.patient_id)
    assert patient is not None
    to = patient.email or _login_email(db, patient)  # read before an erasure removes it
    if decision == "refuse":
        answer = reason
    elif request.kind == DataRequestKind.erasure.value:
        erase_patient(db, actor, patient)
        answer = (reason + "\n\n" if reason else "") + erasure.outcome_text()
    elif request.kind == DataRequestKind.restriction.value:
        patient.restricted_at = utcnow()
        audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                     description="processing restricted (GDPR art. 18): kept, left out of the registry")
        answer = (reason + "\n\n" if reason else "") + (
            "Your record is now restricted: the clinic keeps it and uses it only to care for you, with your "
            "consent, or for legal claims; it is left out of the outcomes registry and its exports.")
    else:
        answer = reason or "The clinic has corrected your record as you asked."
    db.refresh(request)
    request.status = DataRequestStatus.accepted.value if decision == "accept" else DataRequestStatus.refused.value
    request.decided_at = utcnow()
    request.decided_by_id = actor.user_id
    request.answer = answer
    db.flush()
    audit.record(db, actor, audit.UPDATE, "DataRequest", request.id, patient_id=request.patient_id,
                 description=f"data-rights request {request.status}: {request.kind}")
    mail = None
    if to:
        clinic = db.get(Organization, request.organization_id)
        mail = AnswerMail("DataRequest", request.id, actor, OutgoingEmail(
            to=to, subject=f"Your request to {clinic.name if clinic else 'the clinic'}: {request.status}",
            text=(f"Your request \u201c{KIND_LABELS[request.kind]}\u201d of {request.created_at:%d %b %Y} is "
                  f"{request.status}.\n\n{answer}\n"
                  + ("" if request.kind == DataRequestKind.erasure.value and decision == "accept" else
                     f"\nSee it under \u201cMy data\u201d when you sign in: {settings.base_url.rstrip('/')}/me/data\n")),
        ))
    return request, mail


def lift_restriction(db: Session, actor: Actor, settings: Settings, patient_id: uuid.UUID,
                     reason: str) -> AnswerMail | None:
    """An admin of the patient's clinic lifts a restriction of processing (article 18(3)): the reason is
    required, and the patient is emailed it (the email to send after the commit)."""
    require_admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("say why the restriction ends: the patient is told", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"at most {REASON_MAX} characters", field="reason")
    patient = db.get(Patient, patient_id)
    if patient is None or patient.organization_id != actor.organization_id:
        raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                           patient_id=patient_id if patient is not None else None, action=audit.UPDATE)
    if patient.restricted_at is None:
        raise Conflict("this record is not restricted")
    patient.restricted_at = None
    patient.updated_at = utcnow()
    audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                 description="processing restriction lifted (GDPR art. 18(3))")
    db.flush()
    to = patient.email or _login_email(db, patient)
    if not to:
        return None
    clinic = db.get(Organization, patient.organization_id)
    return AnswerMail("Patient", patient.id, actor, OutgoingEmail(
        to=to, subject=f"{clinic.name if clinic else 'Your clinic'}: the restriction of your record ends",
        text=(f"The restriction of processing you asked for on your record ends today, for this reason:\n\n{reason}\n\n"
              "The record is used again as before, including in the clinic's outcomes registry. You can ask for "
              f"a restriction again under \u201cMy data\u201d: {settings.base_url.rstrip('/')}/me/data\n"),
    ))


def _login_email(db: Session, patient: Patient) -> str | None:
    return db.scalar(select(UserAccount.email).where(UserAccount.patient_id == patient.id).limit(1))


def erase_patient(db: Session, actor: Actor, patient: Patient) -> None:
    """Anonymise the patient's identity and contact details and close their sign-in account; the
    clinical record, the outcome scores and the audit trail stay (see `hindfoot.patients.erasure`).
    The search text is recomputed from the erased name by the model's flush hook."""
    now = utcnow()
    patient.given_name, patient.family_name = erasure.ERASED_NAME
    for name in erasure.ERASED_PATIENT_FIELDS:
        setattr(patient, name, None)
    patient.erased_at = now
    patient.active = False
    patient.updated_at = now
    for account in db.scalars(select(UserAccount).where(UserAccount.patient_id == patient.id)):
        throttle = db.get(LoginThrottle, email_key(account.email))
        if throttle is not None:
            db.delete(throttle)
        account.email = erasure.erased_email(account.id.hex)
        account.display_name = " ".join(erasure.ERASED_NAME).capitalize()
        account.password_hash = "!erased"  # matches no password
        account.active = False
        account.mfa_secret, account.mfa_enabled_at, account.mfa_last_step = None, None, None
        account.password_reset_sent_at = None
        db.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == account.id))
        sessions.end_all(db, account.id)
    db.execute(update(OutcomeReminder).where(OutcomeReminder.patient_id == patient.id)
               .values(email="").execution_options(synchronize_session=False))
    future = db.scalars(select(Appointment.id).where(Appointment.patient_id == patient.id, Appointment.start > now,
                                                     Appointment.status == "booked")).all()
    for appointment_id in future:
        booking.cancel_appointment(db, actor, appointment_id, reason="patient's data erased at their request", now=now)
    db.flush()
    audit.record(db, actor, audit.UPDATE, "Patient", patient.id, patient_id=patient.id,
                 description="identity erased (GDPR art. 17): name, contact details, sign-in; clinical record kept")


def deliver(settings: Settings, factory: sessionmaker[Session], pending: AnswerMail | None) -> bool:
    """Send the answer email after the commit (a background task); a failure is audited as an error."""
    if pending is None:
        return False
    try:
        send(settings, pending.mail)
    except EmailError as exc:
        with factory() as s:
            audit.record(s, pending.actor, audit.EXECUTE, pending.entity_type, pending.entity_id, outcome=audit.ERROR,
                         description=f"answer email not sent: {exc}")
            s.commit()
        return False
    return True


def access_log(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[AuditEvent]:
    """Who opened or changed the patient's record, latest first (for the patient's own summary: article
    15(1)(c)). Staff are named by role only."""
    if actor.patient_id != patient_id:
        raise Forbidden("the access log is shown to the patient themself")
    return list(db.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient_id,
                                                    AuditEvent.outcome == audit.SUCCESS)
                           .order_by(AuditEvent.recorded_at.desc()).limit(ACCESS_LOG_ROWS)))
