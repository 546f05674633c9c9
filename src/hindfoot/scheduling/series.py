"""Appointment series: suggested from the recovery plan, planned for review, booked all or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.base import utcnow
from hindfoot.db.models import Appointment, CarePlan, CarePlanActivity
from hindfoot.errors import InvalidInput
from hindfoot.scheduling import availability as core
from hindfoot.scheduling import guards, search
from hindfoot.scheduling.clinic import bookable_service, clinic_for, load_calendar


@dataclass(frozen=True)
class SeriesDefault:
    """A series suggested by the patient's recovery plan (dressings every other day, say)."""

    service: str
    first: date
    until: date
    every_days: int | None
    weekdays: tuple[int, ...]
    source: str


_PLAN_SERIES = {
    "dressings_every_other_day": ("nurse_dressing", 2),
}


def series_default(db: Session, actor: Actor, patient_id: uuid.UUID) -> SeriesDefault | None:
    """The dressings window of the patient's active recovery plan, when there is one."""
    require_front_desk(actor)
    patient = guards.resolve_patient(db, actor, patient_id)
    row = db.execute(
        select(CarePlanActivity, CarePlan.title)
        .join(CarePlan, CarePlanActivity.care_plan_id == CarePlan.id)
        .where(CarePlan.patient_id == patient.id, CarePlan.kind == "recovery", CarePlan.status == "active",
               CarePlanActivity.code.in_(list(_PLAN_SERIES)))
        .order_by(CarePlan.period_start.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    activity, title = row
    service, every = _PLAN_SERIES[activity.code]
    first = activity.earliest or activity.typical
    until = activity.latest or activity.typical
    if first is None or until is None:
        return None
    return SeriesDefault(service, first, until, every, (), f"{title}: {activity.title}")


def plan_series(
    db: Session,
    actor: Actor,
    *,
    patient_id: uuid.UUID,
    service: str,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    first: datetime,
    every_days: int | None = None,
    weekdays: Sequence[int] = (),
    every_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
    now: datetime | None = None,
    closed_days: str = "keep",
) -> core.SeriesPlan:
    """Expand and check a series without writing anything (for the review screen)."""
    require_front_desk(actor)
    now = now or utcnow()
    guards.resolve_patient(db, actor, patient_id)
    org = clinic_for(db, actor)
    practitioner = guards.bookable_practitioner(db, org, practitioner_id)
    guards.active_location(db, org, location_id)
    svc = bookable_service(db, org, service)
    try:
        recurrence = core.Recurrence(every_days=every_days, weekdays=frozenset(weekdays), every_weeks=every_weeks)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="every_days") from exc
    zone = ZoneInfo(org.timezone)
    local_first = first.astimezone(zone).replace(tzinfo=None) if first.tzinfo else first
    dates = core.expand_series(local_first, recurrence, count=count, until=until)
    data = load_calendar(db, org, dates[0].date(), dates[-1].date(), practitioner_ids=[practitioner.id])
    return core.plan_series(
        data.calendar, svc, practitioner_id=practitioner.id, location_id=location_id, first=local_first,
        recurrence=recurrence, now=now, count=count, until=until, closed_days=closed_days,
    )


def book_series(
    db: Session,
    actor: Actor,
    *,
    patient_id: uuid.UUID,
    service: str,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
    first: datetime,
    every_days: int | None = None,
    weekdays: Sequence[int] = (),
    every_weeks: int = 1,
    count: int | None = None,
    until: date | None = None,
    reason: str = "",
    now: datetime | None = None,
    fitting_only: bool = False,
    closed_days: str = "keep",
) -> list[Appointment]:
    """Book a whole series or nothing: any clash (with the diary or within the series) refuses it.
    With ``fitting_only`` the times that fit are booked and the clashes left out (see ``alternatives``)."""
    require_front_desk(actor)
    now = now or utcnow()
    # The clinician's diary and the patient's appointments (with anyone), locked in the one global order
    # every booking and move uses, before the plan reads the diary and the patient's clashes are checked.
    guards.lock_practitioners(db, [practitioner_id], [patient_id])
    plan = plan_series(
        db, actor, patient_id=patient_id, service=service, practitioner_id=practitioner_id,
        location_id=location_id, first=first, every_days=every_days, weekdays=weekdays,
        every_weeks=every_weeks, count=count, until=until, now=now, closed_days=closed_days,
    )
    if not plan.ok and not fitting_only:
        clash = plan.clashes[0]
        problem = clash.problems[0]
        more = f" (and {len(plan.clashes) - 1} more)" if len(plan.clashes) > 1 else ""
        raise type(problem)(
            problem.problem,
            f"Occurrence {clash.index + 1} on {clash.local_start.strftime('%a %d %b %Y %H:%M')}: "
            f"{problem.message}{more}",
            occurrence=clash.index,
        )
    series_id = uuid.uuid4()
    appts = []
    for occ in plan.occurrences:
        if occ.problems:
            continue
        guards.check_patient_free(db, patient_id, occ.start, occ.end)
        appt = Appointment(
            patient_id=patient_id, practitioner_id=practitioner_id, location_id=location_id,
            service_type=service, status="booked", start=occ.start, end=occ.end, reason=reason[:300],
            series_id=series_id,
        )
        db.add(appt)
        appts.append(appt)
    guards.flush_or_conflict(db, "A time in this series")
    audit.record(db, actor, audit.CREATE, "Appointment", series_id, patient_id=patient_id,
                 description=f"series of {len(appts)} {service}")
    return appts


@dataclass(frozen=True)
class Alternative:
    """A clashing date of a series and the first free time offered instead (None: nothing in a week)."""

    wanted: datetime
    problem: str
    offer: search.SlotOption | None


def alternatives(
    db: Session, actor: Actor, plan: core.SeriesPlan, *, service: str, practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
) -> list[Alternative]:
    """For each clash, the first free time with the same clinician at the same place from that day on
    (within a week): staff choose it instead, or leave the date out."""
    require_front_desk(actor)
    out = []
    for clash in plan.clashes:
        _svc, options = search.search_slots(db, actor, service, location_id=location_id,
                                            practitioner_id=practitioner_id, start_date=clash.local_start.date(),
                                            days=7, limit=20)
        taken = {o.start for o in plan.occurrences if not o.problems}
        offer = next((o for o in options if o.slot.start not in taken), None)
        out.append(Alternative(clash.local_start, " ".join(p.message for p in clash.problems), offer))
    return out
