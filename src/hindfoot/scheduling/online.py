"""Which services the public may book online.

Some services need a clinician's decision first (day-case surgery, injections, scans, wound checks
after surgery): staff book them, the public booking pages never offer them and a patient's own
booking of one is refused. The flag is ``clinic_service.bookable_online``; a clinic still on the
default catalogue uses each default's ``online``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.errors import InvalidInput
from hindfoot.scheduling.catalogue import Service
from hindfoot.scheduling.clinic import services_for


def online_flags(db: Session, organization_id: uuid.UUID) -> dict[str, bool]:
    """Service code -> bookable online, for every service the clinic has (active or not)."""
    return {code: svc.online for code, svc in services_for(db, organization_id).items()}


def offered_to(db: Session, actor: Actor | None, organization_id: uuid.UUID) -> Mapping[str, Service]:
    """The active services this person may choose on the booking page: staff every one, the public and
    patients only those bookable online."""
    services = services_for(db, organization_id)
    if actor is not None and actor.is_front_desk:
        return {code: s for code, s in services.items() if s.active}
    flags = online_flags(db, organization_id)
    return {code: s for code, s in services.items() if s.active and flags.get(code, s.online)}


def check_online(db: Session, actor: Actor | None, organization_id: uuid.UUID, code: str) -> None:
    """Refuse a patient's (or the public's) booking of a service only staff may book."""
    if actor is not None and actor.is_front_desk:
        return
    if code in services_for(db, organization_id) and not online_flags(db, organization_id).get(code, True):
        raise InvalidInput("this appointment is booked by the clinic after a consultation: please phone us",
                           field="service")
