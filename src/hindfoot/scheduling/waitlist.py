"""The waitlist: patients waiting for a time, and freed times offered to them by email.

A patient (or the front desk for them) joins for a service, optionally one clinician, one location
and a date range. When a time comes free (a cancellation, a visit moved away) the first
``HINDFOOT_WAITLIST_OFFER_COUNT`` (3) matching waiting patients, oldest first, are each offered it by
email with a link; the first to claim books it through the ordinary booking checks and the others are
told the time is taken (409). An offer ends after ``HINDFOOT_WAITLIST_OFFER_HOURS`` (12) or shortly
before the time itself. A did-not-attend frees nothing (the time has passed); a cancellation the same
day offers its time like any other, while it is more than an hour away (the patients' booking notice).
The front desk can also offer the free times of the rota to everyone waiting (a new rota, leave
cancelled): each entry gets the first free time that fits it.

Services flush and never commit; offers are emailed after the commit by :func:`send_pending`,
which claims each unsent offer in its own transaction (as reminders are) and stores only the
SHA-256 of the link's token.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.base import utcnow
from hindfoot.db.models import (
    Appointment,
    Location,
    Organization,
    Patient,
    Practitioner,
    UserAccount,
    WaitlistEntry,
    WaitlistOffer,
)
from hindfoot.errors import AccessDenied, Conflict, Forbidden, InvalidInput, NotFound
from hindfoot.notifications.email import EmailError, OutgoingEmail, send
from hindfoot.scheduling import guards
from hindfoot.scheduling.clinic import bookable_service, clinic_for, service_named
from hindfoot.scheduling.guards import PATIENT_MIN_NOTICE
from hindfoot.settings import Settings, get_settings

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class OfferLimits:
    """How many waiting patients are offered each freed time at once, and how long an offer stands."""

    count: int = 3
    hours: int = 12

    @classmethod
    def from_settings(cls, settings: Settings) -> OfferLimits:
        return cls(settings.waitlist_offer_count, settings.waitlist_offer_hours)


_limits: OfferLimits | None = None


def configure(settings: Settings) -> None:
    """Use `settings`' offer limits from now on (the app does this at start-up)."""
    global _limits
    _limits = OfferLimits.from_settings(settings)


def limits() -> OfferLimits:
    if _limits is None:
        configure(get_settings())
    assert _limits is not None
    return _limits


MAX_AHEAD_DAYS = 365
NOTE_MAX = 300


class OfferTaken(Conflict):
    code = "offer_taken"


class OfferExpired(Conflict):
    code = "offer_expired"


@dataclass(frozen=True)
class EntryView:
    entry: WaitlistEntry
    patient: Patient
    service_name: str
    practitioner: Practitioner | None
    location: Location | None
    offers: list[WaitlistOffer]


@dataclass(frozen=True)
class OfferView:
    offer: WaitlistOffer
    entry: WaitlistEntry
    patient: Patient
    practitioner: Practitioner
    location: Location
    service_name: str
    timezone: str
    clinic_name: str
    clinic_phone: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- joining and leaving


def join(
    db: Session, actor: Actor, *, service: str, patient_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None, location_id: uuid.UUID | None = None,
    earliest: date | None = None, latest: date | None = None, note: str = "", today: date | None = None,
) -> WaitlistEntry:
    """Put a patient on the waitlist: the patient themself, or the front desk for a patient of the clinic."""
    patient = guards.resolve_patient(db, actor, patient_id)
    org = clinic_for(db, actor)
    today = today or utcnow().astimezone(ZoneInfo(org.timezone)).date()
    svc = bookable_service(db, org, service)
    if actor.role == "patient":
        from hindfoot.scheduling import online

        online.check_online(db, actor, org.id, svc.code)
    if practitioner_id is not None:
        practitioner = guards.bookable_practitioner(db, org, practitioner_id)
        if not svc.provided_by(practitioner.role):
            raise InvalidInput(f"{practitioner.display_name} does not offer {svc.name.lower()}",
                               field="practitioner_id")
    if location_id is not None:
        guards.active_location(db, org, location_id)
    if earliest is not None and earliest < today:
        raise InvalidInput("From: a date from today on", field="earliest")
    if latest is not None and latest < (earliest or today):
        raise InvalidInput("Until: on or after the first date (and not in the past)", field="latest")
    for name, value in (("earliest", earliest), ("latest", latest)):
        if value is not None and value > today + timedelta(days=MAX_AHEAD_DAYS):
            raise InvalidInput(f"{'From' if name == 'earliest' else 'Until'}: within a year from today", field=name)
    note = " ".join(note.split())
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"Note: at most {NOTE_MAX} characters (you typed {len(note)})", field="note")
    clash = db.scalar(select(WaitlistEntry.id).where(
        WaitlistEntry.patient_id == patient.id, WaitlistEntry.service_type == svc.code,
        WaitlistEntry.status == "waiting"))
    if clash is not None:
        raise InvalidInput(f"{patient.display_name} is already waiting for {svc.name.lower()}: "
                           "remove that entry first to change it", field="service")
    entry = WaitlistEntry(
        organization_id=org.id, patient_id=patient.id, service_type=svc.code, practitioner_id=practitioner_id,
        location_id=location_id, earliest=earliest, latest=latest, note=note, status="waiting",
        created_by_id=actor.user_id,
    )
    db.add(entry)
    db.flush()
    audit.record(db, actor, audit.CREATE, "WaitlistEntry", entry.id, patient_id=patient.id,
                 description=f"joined the waitlist for {svc.code}")
    return entry


def _visible_entry(db: Session, actor: Actor, entry_id: uuid.UUID, action: str) -> WaitlistEntry:
    entry = db.get(WaitlistEntry, entry_id)
    allowed = entry is not None and (
        entry.patient_id == actor.patient_id if actor.role == "patient"
        else actor.is_front_desk and entry.organization_id == actor.organization_id)
    if entry is None or not allowed:
        raise AccessDenied("waitlist entry not found", entity_type="WaitlistEntry", entity_id=entry_id,
                           patient_id=entry.patient_id if entry is not None else None, action=action)
    return entry


def remove(db: Session, actor: Actor, entry_id: uuid.UUID) -> WaitlistEntry:
    """Take an entry off the waitlist (its open offers are withdrawn)."""
    entry = _visible_entry(db, actor, entry_id, audit.UPDATE)
    if entry.status != "waiting":
        raise Conflict(f"this entry is {entry.status}, no longer waiting", field="status")
    entry.status = "removed"
    for offer in db.scalars(select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id,
                                                        WaitlistOffer.status == "open")):
        offer.status = "withdrawn"
    db.flush()
    audit.record(db, actor, audit.UPDATE, "WaitlistEntry", entry.id, patient_id=entry.patient_id,
                 description="taken off the waitlist")
    return entry


def list_entries(db: Session, actor: Actor, *, include_closed: bool = False) -> list[EntryView]:
    """The clinic's waitlist, oldest first (the order offers go in); a patient sees their own entries."""
    stmt = select(WaitlistEntry, Patient).join(Patient, Patient.id == WaitlistEntry.patient_id)
    if actor.role == "patient":
        stmt = stmt.where(WaitlistEntry.patient_id == actor.patient_id)
    else:
        require_front_desk(actor)
        stmt = stmt.where(WaitlistEntry.organization_id == actor.organization_id)
    if not include_closed:
        stmt = stmt.where(WaitlistEntry.status == "waiting")
    rows = db.execute(stmt.order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
    ids = [e.id for e, _ in rows]
    offers: dict[uuid.UUID, list[WaitlistOffer]] = {i: [] for i in ids}
    if ids:
        for o in db.scalars(select(WaitlistOffer).where(WaitlistOffer.entry_id.in_(ids))
                            .order_by(WaitlistOffer.created_at)):
            offers[o.entry_id].append(o)
    org_id = actor.organization_id
    out = []
    for entry, patient in rows:
        svc = service_named(db, org_id, entry.service_type)
        out.append(EntryView(
            entry, patient, svc.name if svc else entry.service_type,
            db.get(Practitioner, entry.practitioner_id) if entry.practitioner_id else None,
            db.get(Location, entry.location_id) if entry.location_id else None, offers[entry.id]))
    audit.record(db, actor, audit.READ, "WaitlistEntry", patient_id=actor.patient_id if actor.role == "patient"
                 else None, description=f"waitlist viewed: {len(out)} entries")
    return out


# --------------------------------------------------------------------------- offering freed times


def _matching(db: Session, organization_id: uuid.UUID, practitioner_id: uuid.UUID, location_id: uuid.UUID,
              service_type: str, local_day: date) -> list[WaitlistEntry]:
    return list(db.scalars(select(WaitlistEntry).where(
        WaitlistEntry.organization_id == organization_id, WaitlistEntry.status == "waiting",
        WaitlistEntry.service_type == service_type,
        or_(WaitlistEntry.practitioner_id.is_(None), WaitlistEntry.practitioner_id == practitioner_id),
        or_(WaitlistEntry.location_id.is_(None), WaitlistEntry.location_id == location_id),
        or_(WaitlistEntry.earliest.is_(None), WaitlistEntry.earliest <= local_day),
        or_(WaitlistEntry.latest.is_(None), WaitlistEntry.latest >= local_day),
    ).order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def _offer(db: Session, entry: WaitlistEntry, practitioner_id: uuid.UUID, location_id: uuid.UUID,
           service_type: str, start: datetime, end: datetime, now: datetime, hours: int) -> WaitlistOffer | None:
    if start - now <= PATIENT_MIN_NOTICE:
        return None
    already = db.scalar(select(WaitlistOffer.id).where(
        WaitlistOffer.entry_id == entry.id, WaitlistOffer.practitioner_id == practitioner_id,
        WaitlistOffer.start == start))
    busy = db.scalar(select(Appointment.id).where(
        Appointment.patient_id == entry.patient_id, Appointment.start < end, Appointment.end > start,
        Appointment.status.not_in(("cancelled", "noshow", "entered-in-error"))))
    if already is not None or busy is not None:
        return None
    offer = WaitlistOffer(
        entry_id=entry.id, practitioner_id=practitioner_id, location_id=location_id, service_type=service_type,
        start=start, end=end, expires_at=min(now + timedelta(hours=hours), start - PATIENT_MIN_NOTICE),
        status="open")
    db.add(offer)
    return offer


@dataclass(frozen=True)
class FreedTime:
    """A booked time that has come free: whose it was, with whom, where, for what."""

    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    service_type: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, appt: Appointment) -> FreedTime:
        return cls(appt.patient_id, appt.practitioner_id, appt.location_id, appt.service_type, appt.start, appt.end)


def offer_freed(db: Session, appt: FreedTime, *, now: datetime | None = None) -> list[WaitlistOffer]:
    """A booked time has come free: offer it to the first matching waiting patients."""
    now = now or utcnow()
    patient = db.get(Patient, appt.patient_id)
    org = db.get(Organization, patient.organization_id) if patient is not None else None
    if org is None:
        return []
    local_day = appt.start.astimezone(ZoneInfo(org.timezone)).date()
    offers: list[tuple[WaitlistOffer, WaitlistEntry]] = []
    limit = limits()
    for entry in _matching(db, org.id, appt.practitioner_id, appt.location_id, appt.service_type, local_day):
        if entry.patient_id == appt.patient_id:
            continue
        offer = _offer(db, entry, appt.practitioner_id, appt.location_id, appt.service_type, appt.start, appt.end,
                       now, limit.hours)
        if offer is not None:
            offers.append((offer, entry))
        if len(offers) >= limit.count:
            break
    db.flush()
    for offer, entry in offers:
        audit.record(db, None, audit.CREATE, "WaitlistOffer", offer.id, organization_id=org.id,
                     patient_id=entry.patient_id,
                     description=f"freed time {appt.start.isoformat()} offered from the waitlist")
    return [offer for offer, _ in offers]


def offer_open_times(db: Session, actor: Actor, *, now: datetime | None = None) -> list[WaitlistOffer]:
    """The front desk offers the rota's free times to everyone waiting: each entry, oldest first, without an
    offer standing gets the first free time that fits it and is not already on offer to someone else."""
    from hindfoot.scheduling.search import search_slots

    if not (actor.is_front_desk or actor.can_manage):  # the desk, or whoever just changed the rota
        raise Forbidden("this needs a receptionist, manager, clinician or admin account")
    now = now or utcnow()
    org = clinic_for(db, actor)
    zone = ZoneInfo(org.timezone)
    today = now.astimezone(zone).date()
    standing = db.scalars(select(WaitlistOffer).where(WaitlistOffer.status == "open", WaitlistOffer.expires_at > now))
    on_offer, holding = set(), set()
    for o in standing:
        on_offer.add((o.practitioner_id, o.start))
        holding.add(o.entry_id)  # an entry with an offer standing waits for its answer
    offers: list[tuple[WaitlistOffer, WaitlistEntry]] = []
    entries = db.scalars(select(WaitlistEntry).where(
        WaitlistEntry.organization_id == org.id, WaitlistEntry.status == "waiting",
    ).order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()
    for entry in entries:
        if entry.id in holding:
            continue
        first = max(entry.earliest or today, today)
        last = entry.latest or first + timedelta(days=59)
        if last < first:
            continue
        try:
            _, options = search_slots(
                db, actor, entry.service_type, location_id=entry.location_id, practitioner_id=entry.practitioner_id,
                start_date=first, days=min((last - first).days + 1, 60), limit=20, now=now)
        except InvalidInput:
            continue  # the service or clinician is no longer bookable: the desk sees the entry still waiting
        for option in options:
            who, where = option.practitioner.id, option.location.id
            key = (who, option.slot.start)
            if key in on_offer:
                continue
            offer = _offer(db, entry, who, where, entry.service_type, option.slot.start, option.slot.end, now,
                           limits().hours)
            if offer is not None:
                on_offer.add(key)
                offers.append((offer, entry))
                break
    db.flush()
    for offer, entry in offers:
        audit.record(db, actor, audit.CREATE, "WaitlistOffer", offer.id, patient_id=entry.patient_id,
                     description=f"free time {offer.start.isoformat()} offered from the waitlist")
    return [offer for offer, _ in offers]


# --------------------------------------------------------------------------- emailing offers


def _offer_view(db: Session, offer: WaitlistOffer) -> OfferView:
    entry = db.get(WaitlistEntry, offer.entry_id)
    assert entry is not None
    patient = db.get(Patient, entry.patient_id)
    practitioner = db.get(Practitioner, offer.practitioner_id)
    location = db.get(Location, offer.location_id)
    org = db.get(Organization, entry.organization_id)
    assert patient is not None and practitioner is not None and location is not None and org is not None
    svc = service_named(db, org.id, offer.service_type)
    return OfferView(offer, entry, patient, practitioner, location, svc.name if svc else offer.service_type,
                     org.timezone, org.name, org.phone)


def build_offer_email(settings: Settings, view: OfferView, token: str, to: str) -> OutgoingEmail:
    zone = ZoneInfo(view.timezone)
    when = view.offer.start.astimezone(zone).strftime("%A %d %B %Y at %H:%M")
    until = view.offer.expires_at.astimezone(zone).strftime("%A %d %B at %H:%M")
    link = f"{settings.base_url.rstrip('/')}/waitlist/offers/{token}"
    lines = [
        f"Dear {view.patient.display_name},", "",
        "An earlier time has come free for the appointment you are waiting for:", "",
        f"  {view.service_name} with {view.practitioner.display_name}",
        f"  {when} ({zone.key} time)",
        f"  {view.location.name}, {view.location.address_line}, {view.location.postcode}".rstrip(", "), "",
        "It is offered to a few patients on the waitlist at once: the first to claim it gets it.",
        f"To book it: {link}",
        f"The offer stands until {until}. If it does not suit you, do nothing: you stay on the waitlist.",
    ]
    if view.clinic_phone:
        lines += ["", f"Questions? Call us on {view.clinic_phone}."]
    lines += ["", view.clinic_name]
    return OutgoingEmail(to=to, subject=f"A time has come free: {view.offer.start.astimezone(zone):%a %d %b %H:%M}, "
                         f"{view.location.name}", text="\n".join(lines) + "\n")


def send_pending(factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None) -> int:
    """Email every open offer not yet sent; returns how many went. Each offer is claimed (its token set)
    in its own committed transaction first, so two runs never send one offer twice."""
    now = now or utcnow()
    with factory() as db:
        ids = list(db.scalars(select(WaitlistOffer.id).where(
            WaitlistOffer.sent_at.is_(None), WaitlistOffer.status == "open", WaitlistOffer.expires_at > now)))
    sent = 0
    for offer_id in ids:
        token = secrets.token_urlsafe(32)
        with factory() as db:
            offer = db.get(WaitlistOffer, offer_id, with_for_update=True)
            if offer is None or offer.sent_at is not None or offer.status != "open":
                continue
            view = _offer_view(db, offer)
            to = view.patient.email or db.scalar(
                select(UserAccount.email).where(UserAccount.patient_id == view.patient.id))
            if not to:
                offer.status = "withdrawn"  # no way to reach them by email: the desk phones instead
                db.commit()
                continue
            offer.token_hash, offer.sent_at = _hash(token), now
            mail = build_offer_email(settings, view, token, to)
            audit.record(db, None, audit.EXECUTE, "WaitlistOffer", offer.id, patient_id=view.patient.id,
                         description="waitlist offer e-mailed")
            db.commit()
        try:
            send(settings, mail)
            sent += 1
        except EmailError as exc:
            log.warning("waitlist offer %s not sent: %s", offer_id, exc)
            with factory() as db:
                failed = db.get(WaitlistOffer, offer_id)
                if failed is not None:
                    failed.sent_at, failed.token_hash = None, None  # the next run tries again
                    db.commit()
    return sent


# --------------------------------------------------------------------------- claiming


def offer_for_token(db: Session, token: str) -> OfferView:
    offer = db.scalar(select(WaitlistOffer).where(WaitlistOffer.token_hash == _hash(token))) if token else None
    if offer is None:
        raise NotFound("this link is not valid: it may have been mistyped")
    return _offer_view(db, offer)


def claim(db: Session, token: str, *, now: datetime | None = None) -> Appointment:
    """Book the offered time for the waiting patient; the first claim of a time wins, later ones get 409."""
    from hindfoot.scheduling import booking

    now = now or utcnow()
    view = offer_for_token(db, token)
    offer, entry = view.offer, view.entry
    if offer.status == "claimed" and offer.appointment_id is not None:
        appt = db.get(Appointment, offer.appointment_id)
        if appt is not None:
            return appt  # the same link twice: the booking it made
    if offer.status != "open" or entry.status != "waiting":
        raise OfferTaken("this time has already been taken, or the offer was withdrawn; you stay on the "
                         "waitlist for the next one", field="offer")
    if now >= offer.expires_at:
        raise OfferExpired("this offer has ended; you stay on the waitlist for the next time that comes free",
                           field="offer")
    account = db.scalar(select(UserAccount).where(UserAccount.patient_id == entry.patient_id))
    actor = Actor(  # the emailed link stands for the patient it was sent to
        user_id=account.id if account is not None else None,  # type: ignore[arg-type]
        email=f"waitlist-link:{view.patient.email or ''}", role="patient", organization_id=entry.organization_id,
        display_name=view.patient.display_name, patient_id=entry.patient_id, path="/waitlist/offers",
    )
    try:
        appt = booking.book_appointment(
            db, actor, service=offer.service_type, practitioner_id=offer.practitioner_id,
            location_id=offer.location_id, start=offer.start, patient_id=entry.patient_id,
            reason="from the waitlist", now=now)
    except Conflict as exc:
        raise OfferTaken("this time has just been taken by someone else; you stay on the waitlist for the "
                         "next one", field="offer") from exc
    offer.status, offer.appointment_id = "claimed", appt.id
    entry.status, entry.appointment_id = "booked", appt.id
    for other in db.scalars(select(WaitlistOffer).where(
            WaitlistOffer.id != offer.id, WaitlistOffer.status == "open",
            or_(WaitlistOffer.entry_id == entry.id,
                (WaitlistOffer.practitioner_id == offer.practitioner_id) & (WaitlistOffer.start == offer.start)))):
        other.status = "taken" if other.entry_id != entry.id else "withdrawn"
    db.flush()
    audit.record(db, actor, audit.UPDATE, "WaitlistOffer", offer.id, patient_id=entry.patient_id,
                 description=f"waitlist offer claimed: booked {offer.start.isoformat()}")
    return appt
