"""Slot search over the stored rota: the next free slots, or those between two dates.

The pure core (:mod:`hindfoot.scheduling.availability`) answers; this module loads its inputs
for the window asked about and names the people and places of each slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import Location, Practitioner
from hindfoot.errors import InvalidInput
from hindfoot.scheduling import availability as core
from hindfoot.scheduling.catalogue import Service
from hindfoot.scheduling.clinic import bookable_service, clinic_for, load_calendar
from hindfoot.scheduling.guards import PATIENT_MIN_NOTICE

DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class SlotOption:
    """A free slot with the people and place it belongs to, ready to show."""

    slot: core.Slot
    practitioner: Practitioner
    location: Location

    @property
    def local_start(self) -> datetime:
        return self.slot.local_start

    @property
    def local_end(self) -> datetime:
        return self.slot.local_end


def search_slots(
    db: Session,
    actor: Actor | None,
    service: str,
    *,
    location_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
    start_date: date | None = None,
    days: int | None = None,
    limit: int = 30,
    now: datetime | None = None,
) -> tuple[Service, list[SlotOption]]:
    """Free slots for a service: the next ``limit`` from now, or those between two dates.

    Anywhere, at one location, or with one practitioner. No patient data is read, so someone
    not yet signed in may search (a new patient books without a referral).
    """
    now = now or utcnow()
    org = clinic_for(db, actor)
    svc = bookable_service(db, org, service)
    zone = ZoneInfo(org.timezone)
    min_notice = PATIENT_MIN_NOTICE if actor is None or actor.role == "patient" else timedelta(0)
    today = now.astimezone(zone).date()
    if start_date is None:
        first, last = today, today + timedelta(days=(days or DEFAULT_HORIZON_DAYS) - 1)
    else:
        if days is None:
            days = 14
        first, last = max(start_date, today), start_date + timedelta(days=days - 1)
    if days is not None and not 0 < days <= core.MAX_SEARCH_DAYS:
        raise InvalidInput(f"days must be 1 to {core.MAX_SEARCH_DAYS}", field="days")
    if last < first:
        return svc, []
    data = load_calendar(
        db, org, first, last, practitioner_ids=[practitioner_id] if practitioner_id else None
    )
    if location_id is not None and location_id not in data.locations:
        raise InvalidInput("no such location", field="location_id")
    if practitioner_id is not None and practitioner_id not in data.practitioners:
        raise InvalidInput("no such practitioner", field="practitioner_id")
    if start_date is None:
        slots = core.next_available(
            data.calendar, svc, now=now, count=limit, location_id=location_id,
            practitioner_id=practitioner_id, horizon_days=(last - first).days + 1, min_notice=min_notice,
        )
    else:
        slots = core.find_slots(
            data.calendar, svc, start_date=first, end_date=last, now=now, location_id=location_id,
            practitioner_id=practitioner_id, min_notice=min_notice,
        )[:limit]
    return svc, [
        SlotOption(s, data.practitioners[s.practitioner_id], data.locations[s.location_id])  # type: ignore[index]
        for s in slots
    ]
