"""The waitlist: join, list, leave; offer free times; claim an emailed offer (first claim wins, others 409)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.bounds import SaneDate
from hindfoot.deps import AppSettings, CurrentActor, DbSession
from hindfoot.scheduling import notices, notifications, waitlist

router = APIRouter(tags=["waitlist"])
public_router = APIRouter(tags=["waitlist"])  # the emailed link is the credential: no session, no CSRF

Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


class WaitlistJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=40)
    patient_id: uuid.UUID | None = None
    practitioner_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    earliest: SaneDate | None = None
    latest: SaneDate | None = None
    note: str = Field(default="", max_length=300)


class OfferRead(BaseModel):
    id: uuid.UUID
    start: datetime
    end: datetime
    practitioner_id: uuid.UUID
    location_id: uuid.UUID
    status: str
    expires_at: datetime
    sent: bool


class EntryRead(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    service: str
    service_name: str
    practitioner_id: uuid.UUID | None
    location_id: uuid.UUID | None
    earliest: date | None
    latest: date | None
    note: str
    status: str
    appointment_id: uuid.UUID | None
    joined_at: datetime
    offers: list[OfferRead]


class Created(BaseModel):
    id: uuid.UUID


class OffersMade(BaseModel):
    offered: int


class Claimed(BaseModel):
    appointment_id: uuid.UUID
    start: datetime
    end: datetime


def _offer(o) -> OfferRead:  # type: ignore[no-untyped-def]
    return OfferRead(id=o.id, start=o.start, end=o.end, practitioner_id=o.practitioner_id, location_id=o.location_id,
                     status=o.status, expires_at=o.expires_at, sent=o.sent_at is not None)


@router.get("/waitlist")
def list_waitlist(db: DbSession, actor: CurrentActor, include_closed: bool = False) -> list[EntryRead]:
    """Waiting patients, oldest first (the order freed times are offered in); a patient sees their own."""
    return [EntryRead(
        id=v.entry.id, patient_id=v.patient.id, patient_name=v.patient.display_name, service=v.entry.service_type,
        service_name=v.service_name, practitioner_id=v.entry.practitioner_id, location_id=v.entry.location_id,
        earliest=v.entry.earliest, latest=v.entry.latest, note=v.entry.note, status=v.entry.status,
        appointment_id=v.entry.appointment_id, joined_at=v.entry.created_at, offers=[_offer(o) for o in v.offers],
    ) for v in waitlist.list_entries(db, actor, include_closed=include_closed)]


@router.post("/waitlist", status_code=201)
def join_waitlist(body: WaitlistJoin, db: DbSession, actor: CurrentActor) -> Created:
    entry = waitlist.join(db, actor, service=body.service, patient_id=body.patient_id,
                          practitioner_id=body.practitioner_id, location_id=body.location_id,
                          earliest=body.earliest, latest=body.latest, note=body.note)
    return Created(id=entry.id)


@router.post("/waitlist/{entry_id}/remove")
def leave_waitlist(entry_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> Created:
    return Created(id=waitlist.remove(db, actor, entry_id).id)


@router.post("/waitlist/offer-free-times")
def offer_free_times(db: DbSession, actor: CurrentActor, settings: AppSettings, tasks: BackgroundTasks,
                     request: Request) -> OffersMade:
    """Offer the rota's free times to everyone waiting (after a new rota or cancelled leave), by email."""
    offers = waitlist.offer_open_times(db, actor)
    tasks.add_task(waitlist.send_pending, request.app.state.sessionmaker, settings)
    return OffersMade(offered=len(offers))


@public_router.post("/waitlist/offers/{token}/claim", responses={409: {"description": "taken or expired"}})
def claim_offer(token: Token, db: DbSession, settings: AppSettings, tasks: BackgroundTasks) -> Claimed:
    """Book the offered time (the link's token stands for the patient it was sent to)."""
    appt = waitlist.claim(db, token)
    tasks.add_task(notifications.deliver, settings, notices.notice_for(db, appt, "confirmed"))
    return Claimed(appointment_id=appt.id, start=appt.start, end=appt.end)
