"""Stored recovery and conservative plans: generate, progress, export, and who is behind.

A plan is a `CarePlan` with one `CarePlanActivity` per milestone. The planner (pure) does all
the dating; this module stores its output and reads it back:

* Reading back rebuilds the plan from its inputs (procedure, start, sport, level) and replays
  the recorded completion dates through `replan`, so protocol offsets, dependencies, range
  notes and drift are exact. A stored plan the planner cannot rebuild (older or hand-made
  plans with their own activity codes) is read from its stored dates as they are.
* Generating a plan for an episode revokes the active plan of the same kind (status
  "revoked", history kept); a surgical recovery plan also completes an active conservative one.
* Marking a milestone reached (or undoing it) replans and writes the new dates of every later
  activity; ticking a criterion only changes its flag. Patients may do both on their own plan,
  clinicians on any plan of their organisation. Every read and write is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import can_read_patient, require_clinical
from hindfoot.db.base import utcnow
from hindfoot.db.models import CarePlan, CarePlanActivity, Patient
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.patients import service as patients_service
from hindfoot.recovery import ical
from hindfoot.recovery.planner import (
    LEVELS,
    PROCEDURES,
    SPORTS,
    Milestone,
    PlanStatus,
    RecoveryPlan,
    build_plan,
    load_protocols,
    replan,
    status,
)

__all__ = [
    "BehindRow",
    "PlanView",
    "behind_plan",
    "calendar",
    "generate_plan",
    "get_plan",
    "mark_reached",
    "patient_plans",
    "set_criterion",
    "to_recovery_plan",
    "view",
]

MAX_FUTURE_START = timedelta(days=366)
MAX_PAST_START = timedelta(days=3 * 366)  # a plan is for recovery now, not for a decades-old operation


# --------------------------------------------------------------------------- stored <-> pure


def _rebuild(cp: CarePlan) -> RecoveryPlan | None:
    """The planner's plan for these inputs with the stored completions replayed, if it fits."""
    procedure = cp.procedure_code or ("conservative" if cp.kind == "conservative" else None)
    if procedure not in PROCEDURES or cp.sport not in SPORTS or cp.level not in LEVELS:
        return None
    base = build_plan(procedure, cp.period_start, cp.sport or "none", cp.level or "recreational")
    if {m.id for m in base.milestones} != {a.code for a in cp.activities}:
        return None  # made by another protocol version or by hand: trust the stored dates
    done = {a.code: a.completed_on for a in cp.activities if a.completed_on is not None}
    return replan(base, done) if done else base


def _from_stored(cp: CarePlan) -> RecoveryPlan:
    """The stored dates as a plan value (validation skipped: older plans use other categories)."""
    start = cp.period_start
    milestones = []
    for a in cp.activities:
        if a.status == "cancelled":
            continue
        earliest = a.earliest or a.typical or start
        typical = a.typical or earliest
        latest = a.latest or typical
        milestones.append(Milestone.model_construct(
            id=a.code, title=a.title, description=a.detail, earliest=earliest,
            category=a.category,  # type: ignore[arg-type]  # validated when the plan was stored
            typical=typical, latest=latest, criteria=tuple(a.criteria or ()), source=a.source, after=(),
            range_note=None, earliest_day=(earliest - start).days, typical_day=(typical - start).days,
            latest_day=(latest - start).days, shifted_days=0, completed_on=a.completed_on,
            repeat_every_days=None,
        ))
    milestones.sort(key=lambda m: (m.typical, m.earliest, m.latest))
    return RecoveryPlan.model_construct(
        # model_construct: the stored values were validated when the plan was made
        procedure=cp.procedure_code or "conservative",  # type: ignore[arg-type]
        procedure_label=cp.title,
        sport=cp.sport or "none",  # type: ignore[arg-type]
        level=cp.level or "recreational",  # type: ignore[arg-type]
        start=start, protocol_version=0, milestones=tuple(milestones),
    )


def to_recovery_plan(cp: CarePlan) -> RecoveryPlan:
    """The pure plan value for a stored plan (activities must be loaded)."""
    return _rebuild(cp) or _from_stored(cp)


@dataclass
class PlanView:
    care_plan: CarePlan
    plan: RecoveryPlan
    status: PlanStatus
    today: date

    @property
    def activities(self) -> dict[str, CarePlanActivity]:
        return {a.code: a for a in self.care_plan.activities}

    @property
    def editable(self) -> bool:
        return self.care_plan.status == "active"


def view(cp: CarePlan, today: date) -> PlanView:
    plan = to_recovery_plan(cp)
    return PlanView(care_plan=cp, plan=plan, status=status(plan, today), today=today)


# --------------------------------------------------------------------------- access


def _load(db: Session, plan_id: uuid.UUID) -> CarePlan | None:
    return db.scalar(select(CarePlan).options(selectinload(CarePlan.activities)).where(CarePlan.id == plan_id))


def _authorised(db: Session, actor: Actor, plan_id: uuid.UUID, action: str) -> CarePlan:
    """Read: the patient or their clinic. Progress (tick, reached): the same people, because a
    patient keeps their own plan up to date. Anything else is a 404, audited as a denial."""
    cp = _load(db, plan_id)
    patient = db.get(Patient, cp.patient_id) if cp is not None else None
    if cp is None or patient is None or not can_read_patient(actor, patient):
        raise AccessDenied("care plan not found", entity_type="CarePlan", entity_id=plan_id,
                           patient_id=cp.patient_id if cp is not None else None, action=action)
    return cp


def get_plan(db: Session, actor: Actor, plan_id: uuid.UUID, *, today: date | None = None) -> PlanView:
    cp = _authorised(db, actor, plan_id, audit.READ)
    audit.record(db, actor, audit.READ, "CarePlan", cp.id, patient_id=cp.patient_id, description="care plan viewed")
    return view(cp, today or date.today())


def patient_plans(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[CarePlan]:
    """A patient's plans, newest first (for "My recovery plan"); audited as one read."""
    patient = patients_service.get_patient(db, actor, patient_id)
    plans = list(db.scalars(
        select(CarePlan).where(CarePlan.patient_id == patient.id)
        .order_by(CarePlan.period_start.desc(), CarePlan.created_at.desc())
    ).all())
    audit.record(db, actor, audit.READ, "CarePlan", None, patient_id=patient.id,
                 description=f"care plans listed: {len(plans)}")
    return plans


def _editable(cp: CarePlan) -> None:
    if cp.status != "active":
        raise Conflict(f"this plan is {cp.status}; only the active plan can be updated", field="care_plan")


# --------------------------------------------------------------------------- generate


def _activity_status(m: Milestone, today: date) -> str:
    if m.completed_on is not None:
        return "completed"
    return "in-progress" if m.earliest <= today else "not-started"


def _write_dates(cp: CarePlan, plan: RecoveryPlan, today: date) -> int:
    """Copy the plan's dates onto the stored activities; returns how many activities moved."""
    by_code = {m.id: m for m in plan.milestones}
    moved = 0
    for a in cp.activities:
        m = by_code.get(a.code)
        if m is None or a.status == "cancelled":
            continue
        if (a.earliest, a.typical, a.latest) != (m.earliest, m.typical, m.latest):
            moved += 1
        a.earliest, a.typical, a.latest = m.earliest, m.typical, m.latest
        a.completed_on = m.completed_on
        a.status = _activity_status(m, today)
    return moved


def generate_plan(
    db: Session,
    actor: Actor,
    episode_id: uuid.UUID,
    *,
    procedure: str,
    start: date,
    sport: str | None = None,
    level: str | None = None,
    today: date | None = None,
) -> CarePlan:
    """Build a dated plan with the planner and store it on the episode (staff only).

    Sport and level default to the patient's. The active plan of the same kind is revoked
    (kept, with its end date) so the record shows what the patient was following when.
    """
    day = today or date.today()
    episode = patients_service.get_episode(db, actor, episode_id, action=audit.CREATE)
    require_clinical(actor)
    patient = db.get(Patient, episode.patient_id)
    assert patient is not None
    if start > day + MAX_FUTURE_START:
        raise InvalidInput("the plan cannot start more than a year from today", field="start")
    if start < patient.birth_date:
        raise InvalidInput("the plan cannot start before the patient was born", field="start")
    if start < day - MAX_PAST_START:
        raise InvalidInput("the plan cannot start more than three years ago", field="start")
    plan = build_plan(procedure, start, sport or patient.sport, level or patient.level)  # InvalidInput names bad values
    kind = "conservative" if procedure == "conservative" else "recovery"

    previous = list(db.scalars(select(CarePlan).where(
        CarePlan.episode_id == episode.id, CarePlan.status == "active",
    )).all())
    for old in previous:
        if old.kind == kind:
            old.status, old.period_end = "revoked", day
        elif kind == "recovery" and old.kind == "conservative":
            old.status, old.period_end = "completed", day
        else:
            continue
        old.updated_at = utcnow()
        audit.record(db, actor, audit.UPDATE, "CarePlan", old.id, patient_id=episode.patient_id,
                     description=f"care plan {old.status}: replaced by a new {kind} plan")

    title = ("Conservative care plan" if kind == "conservative"
             else f"Recovery after {plan.procedure_label[0].lower()}{plan.procedure_label[1:]}")
    cp = CarePlan(
        patient_id=episode.patient_id, episode_id=episode.id, title=title[:200], kind=kind,
        procedure_code=procedure, sport=plan.sport, level=plan.level, status="active", period_start=start,
        author_id=actor.practitioner_id,
        description=(f"Generated from recovery protocol v{plan.protocol_version} ({plan.procedure_label}, "
                     f"{plan.sport}, {plan.level}). Dates are forecasts; progress on the criteria."),
    )
    cp.activities = [
        CarePlanActivity(
            position=pos, code=m.id, title=m.title[:200], detail=m.description, category=m.category,
            status=_activity_status(m, day), earliest=m.earliest, typical=m.typical, latest=m.latest,
            criteria=list(m.criteria), criteria_met=[False] * len(m.criteria), source=m.source[:300],
        )
        for pos, m in enumerate(plan.milestones)
    ]
    db.add(cp)
    db.flush()
    audit.record(db, actor, audit.CREATE, "CarePlan", cp.id, patient_id=episode.patient_id,
                 description=f"{kind} plan generated: {procedure}, {plan.sport}, {plan.level}, from {start.isoformat()}")
    return cp


# --------------------------------------------------------------------------- progress


def _activity(cp: CarePlan, code: str) -> CarePlanActivity:
    for a in cp.activities:
        if a.code == code:
            return a
    raise InvalidInput(f"no milestone {code!r} in this plan", field="milestone")


def mark_reached(
    db: Session,
    actor: Actor,
    plan_id: uuid.UUID,
    code: str,
    on: date | None,
    *,
    today: date | None = None,
) -> PlanView:
    """Record the day a milestone was reached (None undoes it) and re-date what follows."""
    day = today or date.today()
    cp = _authorised(db, actor, plan_id, audit.UPDATE)
    _editable(cp)
    activity = _activity(cp, code)
    if on is not None and on > day:
        raise InvalidInput("a milestone cannot be reached in the future", field="date")
    if on is not None and on < cp.period_start:
        raise InvalidInput("a milestone cannot be reached before the plan starts", field="date")
    before = activity.completed_on
    activity.completed_on = on
    activity.status = "completed" if on else "in-progress"
    plan = to_recovery_plan(cp)
    moved = _write_dates(cp, plan, day)
    cp.updated_at = utcnow()
    db.flush()
    what = f"reached on {on.isoformat()}" if on else f"unmarked (was {before.isoformat() if before else 'open'})"
    audit.record(db, actor, audit.UPDATE, "CarePlan", cp.id, patient_id=cp.patient_id,
                 description=f"milestone {code} {what}; {moved} activities re-dated")
    return view(cp, day)


def set_criterion(
    db: Session, actor: Actor, plan_id: uuid.UUID, code: str, index: int, met: bool, *, today: date | None = None,
) -> PlanView:
    """Tick or untick one criterion of a milestone."""
    cp = _authorised(db, actor, plan_id, audit.UPDATE)
    _editable(cp)
    activity = _activity(cp, code)
    criteria = list(activity.criteria or [])
    if not 0 <= index < len(criteria):
        raise InvalidInput(f"milestone {code!r} has {len(criteria)} criteria; no index {index}", field="index")
    flags = list(activity.criteria_met or [])
    flags = (flags + [False] * len(criteria))[: len(criteria)]
    flags[index] = met
    activity.criteria_met = flags  # a new list, so the JSON column is seen as changed
    cp.updated_at = utcnow()
    db.flush()
    audit.record(db, actor, audit.UPDATE, "CarePlan", cp.id, patient_id=cp.patient_id,
                 description=f"criterion {index} of {code} {'met' if met else 'not met'}")
    return view(cp, today or date.today())


def calendar(db: Session, actor: Actor, plan_id: uuid.UUID) -> tuple[bytes, str]:
    """The plan as an iCalendar file and a file name. UIDs use the episode id, so importing a
    re-planned calendar updates events; the sequence grows with every change to the plan."""
    cp = _authorised(db, actor, plan_id, audit.READ)
    plan = to_recovery_plan(cp)
    created = cp.created_at if cp.created_at.tzinfo else cp.created_at.replace(tzinfo=UTC)
    updated = cp.updated_at if cp.updated_at.tzinfo else cp.updated_at.replace(tzinfo=UTC)
    sequence = max(0, int((updated - created).total_seconds() // 60))
    data = ical.to_ics(plan, key=str(cp.episode_id or cp.id), stamp=datetime.now(UTC), sequence=sequence)
    audit.record(db, actor, audit.READ, "CarePlan", cp.id, patient_id=cp.patient_id,
                 description="care plan exported as iCalendar")
    return data, f"recovery-plan-{cp.period_start.isoformat()}.ics"


# --------------------------------------------------------------------------- behind plan


@dataclass
class BehindRow:
    patient: Patient
    care_plan: CarePlan
    status: PlanStatus
    next_title: str | None
    overdue_titles: list[str]


def behind_plan(db: Session, actor: Actor, *, today: date | None = None, kind: str = "recovery") -> list[BehindRow]:
    """Patients of the clinician's organisation behind their active plan, worst first.

    Two queries (plans joined to patients, then every activity of those plans); the pure
    `status()` decides who is behind and by how many days.
    """
    require_clinical(actor)
    load_protocols()  # fail loudly here rather than per plan
    day = today or date.today()
    rows = db.execute(
        select(CarePlan, Patient)
        .join(Patient, Patient.id == CarePlan.patient_id)
        .options(selectinload(CarePlan.activities))
        .where(Patient.organization_id == actor.organization_id, CarePlan.status == "active", CarePlan.kind == kind)
    ).all()
    out: list[BehindRow] = []
    for cp, patient in rows:
        plan = to_recovery_plan(cp)
        st = status(plan, day)
        if not st.behind:
            continue
        titles = {m.id: m.title for m in plan.milestones}
        out.append(BehindRow(patient=patient, care_plan=cp, status=st, next_title=titles.get(st.next or ""),
                             overdue_titles=[titles[i] for i in st.overdue]))
    out.sort(key=lambda r: (-r.status.days_behind, r.patient.family_name, r.patient.given_name))
    audit.record(db, actor, audit.READ, "CarePlan", None,
                 description=f"behind-plan overview ({kind}): {len(out)} of {len(rows)} active plans behind")
    return out
