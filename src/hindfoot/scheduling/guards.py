"""The locks and checks every write to a diary goes through (booking, moving, series, rota).

No double booking, ever. Every write that puts an appointment on a practitioner's diary checks the
time in full first (:func:`check_time`, :func:`check_patient_free`: rules, leave, closures, bookings),
then takes a per-practitioner and a per-patient lock *inside the transaction*
(:func:`lock_practitioners`), then re-checks with one query only what a concurrent booking can have
changed meanwhile, the live appointments overlapping the time, the clinician's and the patient's with
any clinician (:func:`recheck_locked`), then inserts. The locks are held from there to the commit
only, so bookings with one clinician, or of one patient, queue for a few statements, not for the
whole validation. Booking and moving take the locks and re-check with :func:`lock_and_recheck`:

* PostgreSQL: ``pg_advisory_xact_lock(key)``, keys derived from the practitioners' and the patient's
  ids; released at commit or rollback. Bookings for different practitioners and different patients
  never wait for each other. Every write takes all its locks at once in one global order
  (:func:`_lock_keys`), so writes sharing a clinician or a patient never deadlock. The locks and the
  re-check go to the server in one round trip (pipeline mode).
* SQLite: a no-op ``UPDATE`` of the practitioner row opens the write transaction (``BEGIN
  IMMEDIATE`` semantics: one writer at a time), so the check and the insert see the same data.
  One writer at a time covers patients too: they need no lock of their own.

The partial unique index on (practitioner, start) stays as the last line of defence; if it ever
fires, the loser gets a :class:`~hindfoot.errors.Conflict` naming the slot, never a 500
(:func:`flush_or_conflict`). Who may book for whom, and see which appointment, is decided here too.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Select, String, bindparam, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_front_desk
from hindfoot.db.models import Appointment, Location, Organization, Patient, Practitioner
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES, display_name
from hindfoot.errors import AccessDenied, Conflict, InvalidInput
from hindfoot.scheduling import availability as core
from hindfoot.scheduling.catalogue import Service
from hindfoot.scheduling.clinic import (
    FREED_STATUSES,
    SERVICES_JSON,
    Clinician,
    HasId,
    Zoned,
    bookable_service,
    clinic_for,
    clinician_calendar,
    driver_statement,
    services_from_json,
)

PATIENT_MIN_NOTICE = timedelta(hours=1)
"""Patients book online at least this far ahead; staff may book any future time."""


def lock_practitioners(
    db: Session, practitioner_ids: Iterable[uuid.UUID], patient_ids: Iterable[uuid.UUID] = ()
) -> None:
    """Serialise writes to these practitioners' diaries, and these patients' appointments, until the
    transaction ends.

    Every lock a write needs is taken at once, in one fixed global order (:func:`_lock_keys`), so two
    writes sharing a clinician, a patient or both (a reschedule between the same two people, one
    patient booked with two clinicians) wait for each other and never deadlock.
    """
    if db.get_bind().dialect.name == "postgresql":
        for key in _lock_keys(practitioner_ids, patient_ids):
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        # Any write takes SQLite's single writer lock for the rest of the transaction: it serialises
        # every booking, whoever the patient, so patients need no lock of their own there.
        for pid in sorted(set(practitioner_ids)):
            db.execute(text("UPDATE practitioner SET active = active WHERE id = :id"), {"id": pid.hex})


def _lock_keys(practitioner_ids: Iterable[uuid.UUID], patient_ids: Iterable[uuid.UUID]) -> list[int]:
    """The advisory lock keys of these practitioners and patients, in the one order all writers use.

    Sorted by key value across both kinds: a total order whatever the mix, and two ids that ever
    hashed to one key would share one lock (taken once), costing some waiting, never a deadlock.
    """
    keys = {_lock_key(pid) for pid in practitioner_ids}
    keys.update(_patient_lock_key(pid) for pid in patient_ids)
    return sorted(keys)


def _lock_key(practitioner_id: uuid.UUID) -> int:
    return int.from_bytes(practitioner_id.bytes[:8], "big", signed=True)


def _patient_lock_key(patient_id: uuid.UUID) -> int:
    # A key space of its own (hashed with a prefix), apart from the practitioners' raw-id keys.
    digest = hashlib.sha256(b"hindfoot-patient:" + patient_id.bytes).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True, slots=True)
class ClinicRow:
    """A clinic as a booking's checks read it."""

    id: uuid.UUID
    timezone: str


@dataclass(frozen=True, slots=True)
class PatientRow:
    """A patient as a booking's checks read them."""

    id: uuid.UUID
    organization_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PractitionerRow:
    """A practitioner as a booking's checks read them."""

    id: uuid.UUID
    organization_id: uuid.UUID
    active: bool
    role: str
    prefix: str
    given_name: str
    family_name: str

    @property
    def display_name(self) -> str:
        return display_name(self.prefix, self.given_name, self.family_name)


@dataclass(frozen=True, slots=True)
class LocationRow:
    """A location as a booking's checks read it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    active: bool


@dataclass(frozen=True)
class Preloaded:
    """The rows :func:`preload` read (None: no such row), plain values."""

    clinic: ClinicRow | None
    patient: PatientRow | None
    practitioner: PractitionerRow | None
    location: LocationRow | None
    services: Mapping[str, Service] | None  # the clinic's services, when read along (PostgreSQL)


_PRELOADED: tuple[tuple[type[Any], type[Any]], ...] = (
    (Organization, ClinicRow), (Patient, PatientRow), (Practitioner, PractitionerRow), (Location, LocationRow),
)
"""The tables a booking's checks read, and the row of each: its columns, those the checks read, are the
row's fields."""


def preload(
    db: Session,
    organization_id: uuid.UUID,
    *,
    patient_id: uuid.UUID | None = None,
    practitioner_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    services: bool = False,
) -> Preloaded:
    """Read the clinic and the booking's patient, practitioner and location in ONE query (and, asked
    for `services` on PostgreSQL, the clinic's services as one JSON column of it), as plain rows of the
    columns the checks read (:func:`booking_parties` checks them).

    An id that names nothing (or another clinic's row) reads nothing (None) and is refused as before.
    On PostgreSQL the driver reads the query itself: a statement compiled once (and prepared by psycopg
    after a few uses), no SQLAlchemy result, column description or ORM object per call.
    """
    wanted = {"patient": patient_id, "practitioner": practitioner_id, "location": location_id}
    postgres = db.get_bind().dialect.name == "postgresql"
    with_services = services and postgres
    asked = tuple(v is not None for v in wanted.values())
    params = {"org": organization_id, **{k: v for k, v in wanted.items() if v is not None}}
    if postgres:
        if db.autoflush:
            db.flush()  # as db.execute would: a row added to the session is read back
        sql, literals = _preload_sql(*asked, with_services)
        raw = db.connection().connection.driver_connection  # psycopg.Connection, in the session's transaction
        assert raw is not None  # a checked-out connection always has its driver's
        row: Sequence[Any] | None = raw.execute(sql, {**literals, **params}).fetchone()
    else:
        row = db.execute(_preload_statement(*asked, with_services), params).first()
    if row is None:
        return Preloaded(None, None, None, None, None)
    found: list[Any] = []  # clinic, patient, practitioner, location
    i = 0
    for (_, kind), read in zip(_PRELOADED, (True, *asked), strict=True):
        n = len(kind.__dataclass_fields__) if read else 0
        values = row[i:i + n]
        i += n
        found.append(kind(*values) if read and values[0] is not None else None)  # outer join: None if none
    clinic, patient, practitioner, location = found
    return Preloaded(clinic, patient, practitioner, location, services_from_json(row[i]) if with_services else None)


@cache
def _preload_statement(patient: bool, practitioner: bool, location: bool, services: bool = False) -> Select[Any]:
    """The clinic's columns, outer-joined with the rows asked for (bound as :patient, :practitioner,
    :location), in ``_PRELOADED``'s order."""
    def columns(model: type[Any], kind: type[Any]) -> list[Any]:
        return [getattr(model, name) for name in kind.__dataclass_fields__]

    q = select(*columns(*_PRELOADED[0])).where(Organization.id == bindparam("org"))
    for (model, kind), key, wanted in zip(_PRELOADED[1:], ("patient", "practitioner", "location"),
                                          (patient, practitioner, location), strict=True):
        if wanted:
            q = q.add_columns(*columns(model, kind)).outerjoin_from(Organization, model, model.id == bindparam(key))
    if services:
        q = q.add_columns(SERVICES_JSON)
    return q


@cache
def _preload_sql(patient: bool, practitioner: bool, location: bool, services: bool = False) -> tuple[str, dict[str, Any]]:
    """``_preload_statement`` as the PostgreSQL driver's SQL (psycopg, named parameters) and the values it
    binds itself (the services' JSON keys), compiled once."""
    return driver_statement(_preload_statement(patient, practitioner, location, services))


@dataclass(frozen=True)
class Parties:
    """Who and where a booking is for, every check passed."""

    clinic: ClinicRow
    patient: PatientRow
    service: Service
    practitioner: PractitionerRow
    location: LocationRow


def booking_parties(
    db: Session,
    actor: Actor,
    *,
    service: str,
    patient_id: uuid.UUID | None,
    practitioner_id: uuid.UUID,
    location_id: uuid.UUID,
) -> Parties:
    """A new booking's patient, clinic, service, practitioner and location, from ONE query
    (:func:`preload`), checked in the order and with the answers of :func:`resolve_patient`,
    ``clinic_for``, ``bookable_service``, :func:`bookable_practitioner` and :func:`active_location`
    (the same checks: they and this share them)."""
    got = preload(db, actor.organization_id, patient_id=actor.patient_id if actor.role == "patient" else patient_id,
                  practitioner_id=practitioner_id, location_id=location_id, services=True)
    clinic = got.clinic
    if clinic is None:  # the actor's clinic is gone: refused by the checks that read rows one by one
        resolve_patient(db, actor, patient_id)
        clinic_for(db, actor)
        raise AssertionError("a clinic the preload did not find was found")  # pragma: no cover

    def found(pid: uuid.UUID) -> PatientRow | None:  # the preload read the very id the check asks about
        return got.patient if got.patient is not None and got.patient.id == pid else None

    patient = _checked_patient(actor, patient_id, found)
    svc = bookable_service(db, clinic, service, got.services)
    practitioner = _bookable(got.practitioner if got.practitioner and got.practitioner.id == practitioner_id
                             else None, clinic.id)
    location = _active(got.location if got.location and got.location.id == location_id else None, clinic.id)
    return Parties(clinic, patient, svc, practitioner, location)


class _OfClinic(Protocol):
    @property
    def organization_id(self) -> uuid.UUID: ...


class _Staff(_OfClinic, Protocol):
    @property
    def active(self) -> bool: ...
    @property
    def role(self) -> str: ...


class _Site(_OfClinic, Protocol):
    @property
    def active(self) -> bool: ...


_P = TypeVar("_P", bound=_OfClinic)
_S = TypeVar("_S", bound=_Staff)
_L = TypeVar("_L", bound=_Site)


def bookable_practitioner(db: Session, org: HasId, practitioner_id: uuid.UUID) -> Practitioner:
    return _bookable(db.get(Practitioner, practitioner_id), org.id)


def _bookable(p: _S | None, organization_id: uuid.UUID) -> _S:
    if p is None or p.organization_id != organization_id or not p.active or p.role in NON_CLINICAL_ROLES:
        raise InvalidInput("no such practitioner to book with", field="practitioner_id")
    return p


def active_location(db: Session, org: HasId, location_id: uuid.UUID) -> Location:
    return _active(db.get(Location, location_id), org.id)


def _active(loc: _L | None, organization_id: uuid.UUID) -> _L:
    if loc is None or loc.organization_id != organization_id or not loc.active:
        raise InvalidInput("no such location", field="location_id")
    return loc


def fmt_local(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%a %d %b %Y %H:%M")


_MARGIN = timedelta(minutes=1)


def check_time(
    db: Session,
    org: Zoned,
    svc: Service,
    practitioner: Clinician,
    location: HasId,
    start: datetime,
    *,
    now: datetime,
    min_notice: timedelta,
    ignore: Sequence[uuid.UUID] = (),
) -> None:
    """Whether `start` can be booked with this practitioner (found bookable by the caller) at this
    location (found active): refused with the first reason the slot engine gives."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise InvalidInput("start must include a time zone (e.g. 2026-03-02T09:00:00Z)", field="start")
    zone = ZoneInfo(org.timezone)
    day = start.astimezone(zone).date()
    # Leave, closures and bookings only around this one time (a minute's margin either side: the checks
    # compare whole seconds), not the whole day's: the same answers from a handful of rows.
    end = start + timedelta(minutes=svc.duration_minutes)
    calendar = clinician_calendar(db, zone, day, practitioner.id, practitioner.role, location.id,
                                  during=(start - _MARGIN, max(end, start) + _MARGIN))
    problems = core.slot_problems(
        calendar, svc, practitioner_id=practitioner.id, location_id=location.id, start=start,
        now=now, min_notice=min_notice, ignore_booking_ids=ignore,
    )
    if problems:
        raise problems[0]


def check_patient_free(
    db: Session, patient_id: uuid.UUID, start: datetime, end: datetime, ignore: Sequence[uuid.UUID] = ()
) -> None:
    q = select(Appointment.start).where(
        Appointment.patient_id == patient_id,
        Appointment.status.not_in(FREED_STATUSES),
        Appointment.start < end,
        Appointment.end > start,
    )
    if ignore:
        q = q.where(Appointment.id.not_in(ignore))
    if db.scalar(q.limit(1)) is not None:
        raise Conflict("the patient already has an appointment at that time", field="start")


_RECHECK = select(Appointment.practitioner_id, Appointment.id, Appointment.start, Appointment.end).where(
    Appointment.status.not_in(FREED_STATUSES),
    Appointment.start < bindparam("end"),
    Appointment.end > bindparam("start"),
    or_(Appointment.practitioner_id == bindparam("pid"), Appointment.patient_id == bindparam("patient")),
)
"""Live appointments overlapping start..end of practitioner :pid or patient :patient (built once)."""


_RECHECK_PG = (
    'SELECT practitioner_id, id, start, "end" FROM appointment '
    "WHERE status NOT IN (" + ", ".join(f"'{status}'" for status in FREED_STATUSES) + ") "
    'AND start < %(end)s AND "end" > %(start)s AND (practitioner_id = %(pid)s OR patient_id = %(patient)s) '
    "AND NOT (id = ANY(%(ignore)s::uuid[]))"
)
"""``_RECHECK`` as the driver's SQL, for the pipelined lock-and-recheck on PostgreSQL."""


def lock_and_recheck(
    db: Session,
    org: Zoned,
    lock_ids: Iterable[uuid.UUID],
    practitioner: HasId,
    patient_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    ignore: Sequence[uuid.UUID] = (),
) -> None:
    """:func:`lock_practitioners` then :func:`recheck_locked`, in ONE round trip on PostgreSQL.

    The locks are the clinicians' in ``lock_ids`` and the patient's: a concurrent booking of the same
    patient with another clinician waits for this one, and its re-check then sees this appointment
    (without the patient's lock both would pass their re-checks and both be inserted).

    The lock statements and the re-check are sent together (psycopg pipeline mode): the server runs
    the re-check the moment it grants the lock, with a snapshot taken after it (each statement of a
    READ COMMITTED transaction has its own), so the holder does not wait for its client to be
    scheduled again between the two. On SQLite, the two steps as they are.
    """
    if db.get_bind().dialect.name != "postgresql":
        lock_practitioners(db, lock_ids, [patient_id])
        recheck_locked(db, org, practitioner, patient_id, start, end, ignore=ignore)
        return
    raw = db.connection().connection.driver_connection  # psycopg.Connection, in the session's transaction
    assert raw is not None  # a checked-out connection always has its driver's
    params = {"start": start, "end": end, "pid": practitioner.id, "patient": patient_id, "ignore": list(ignore)}
    with raw.pipeline():
        for key in _lock_keys(lock_ids, [patient_id]):
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        cur = raw.execute(_RECHECK_PG, params)
    _refuse_clashes(org, practitioner, cur.fetchall())


def _insert_if_free_sql() -> str:
    """INSERT of one appointment (every column, bound by name and cast to its type) that inserts nothing
    when ``_RECHECK_PG`` finds a clash: sent after the re-check in the same pipeline (driver's SQL)."""
    pg = postgresql.dialect()
    columns = list(Appointment.__table__.columns)
    names = ", ".join(f'"{c.name}"' for c in columns)
    # strings as text: assigning a too-long one to its column still fails, as a flush's INSERT does
    values = ", ".join(f"CAST(%({c.name})s AS {'TEXT' if isinstance(c.type, String) else c.type.compile(dialect=pg)})"
                       for c in columns)
    clash = _RECHECK_PG.split(" WHERE ", 1)[1]
    return f"INSERT INTO appointment ({names}) SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM appointment WHERE {clash})"


_INSERT_IF_FREE_PG = _insert_if_free_sql()


def _row_values(appt: Appointment) -> dict[str, Any]:
    """Every column of a new appointment, defaults applied (and kept on the object) as a flush would."""
    values: dict[str, Any] = {}
    for column in Appointment.__table__.columns:
        value = getattr(appt, column.key)
        if value is None and column.default is not None:
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined,operator]
            setattr(appt, column.key, value)
        values[column.name] = value
    return values


def book_locked(db: Session, org: Zoned, practitioner: HasId, appt: Appointment, what: str) -> None:
    """Lock the clinician's diary and the patient's appointments, re-check, and insert `appt` (new, not
    yet in the session): in ONE round trip on PostgreSQL.

    The locks, the re-check and an INSERT that writes nothing if the re-check's question has an answer
    are pipelined, so the clinician's lock is held for that round trip, the audit link and the COMMIT, not
    for one more round trip of its own. The appointment joins the session as if a flush had written it.
    A clash is refused from the re-check's rows as :func:`lock_and_recheck` does; the partial unique
    index, if it ever fires, is a :class:`Conflict` on ``start`` as in :func:`flush_or_conflict`.
    SQLite: :func:`lock_and_recheck`, then the flush."""
    if db.get_bind().dialect.name != "postgresql":
        lock_and_recheck(db, org, [practitioner.id], practitioner, appt.patient_id, appt.start, appt.end)
        db.add(appt)
        flush_or_conflict(db, what)
        return
    db.flush()  # rows the INSERT refers to (a patient registered in this transaction) are written first
    if appt.id is None:
        appt.id = uuid.uuid4()
    values = _row_values(appt)
    raw = db.connection().connection.driver_connection
    assert raw is not None
    params = {"start": appt.start, "end": appt.end, "pid": practitioner.id, "patient": appt.patient_id, "ignore": []}
    try:
        with raw.pipeline():
            for key in _lock_keys([practitioner.id], [appt.patient_id]):
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            cur = raw.execute(_RECHECK_PG, params)
            inserted = raw.execute(_INSERT_IF_FREE_PG, {**values, **params})
    except psycopg.errors.IntegrityError as exc:
        raise Conflict(f"{what} was booked by someone else a moment ago: choose another time", field="start") from exc
    _refuse_clashes(org, practitioner, cur.fetchall())
    if inserted.rowcount != 1:  # the re-check and the INSERT's own test run under the same locks
        raise Conflict(f"{what} was booked by someone else a moment ago: choose another time", field="start")
    make_transient_to_detached(appt)  # written: a persistent row of the session, as after a flush
    db.add(appt)


def recheck_locked(
    db: Session,
    org: Zoned,
    practitioner: HasId,
    patient_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    ignore: Sequence[uuid.UUID] = (),
) -> None:
    """After :func:`lock_practitioners`: the bookings committed since :func:`check_time` and
    :func:`check_patient_free` ran, in one query (live appointments overlapping the time, of this
    practitioner or this patient).

    The loser of a race is refused from that one query's rows, named as ``check_time`` names a
    clash (``slot_taken``, the appointment in the way), so it holds the clinician's lock for two
    statements and its rollback, not for another calendar load."""
    q = _RECHECK if not ignore else _RECHECK.where(Appointment.id.not_in(ignore))
    clashes = db.execute(q, {"start": start, "end": end, "pid": practitioner.id, "patient": patient_id}).all()
    _refuse_clashes(org, practitioner, clashes)


def _refuse_clashes(org: Zoned, practitioner: HasId, clashes: Sequence[Any]) -> None:
    """(practitioner_id, id, start, end) rows of live appointments in the way: the clinician's first."""
    mine = sorted((row for row in clashes if row[0] == practitioner.id), key=lambda row: row[2])
    if mine:
        _, taken_id, taken_start, taken_end = mine[0]
        zone = ZoneInfo(org.timezone)
        raise core.SlotUnavailable(
            core.SlotProblem.already_taken,
            f"The practitioner already has an appointment from {fmt_local(taken_start, zone)} to "
            f"{fmt_local(taken_end, zone)}.",
            booking_id=taken_id,
        )
    if clashes:
        _, _, taken_start, taken_end = min(clashes, key=lambda row: row[2])
        raise patient_busy(taken_start, taken_end, ZoneInfo(org.timezone))


def patient_busy(start: datetime, end: datetime, zone: ZoneInfo) -> Conflict:
    """409 on ``start``: the patient's own appointment (with any clinician) in the way, named by its times."""
    return Conflict(f"the patient already has an appointment at that time, from {fmt_local(start, zone)} to "
                    f"{fmt_local(end, zone)}", field="start")


def flush_or_conflict(db: Session, what: str) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what} was booked by someone else a moment ago: choose another time", field="start") from exc


def resolve_patient(db: Session, actor: Actor, patient_id: uuid.UUID | None) -> Patient:
    return _checked_patient(actor, patient_id, lambda pid: db.get(Patient, pid))


def _checked_patient(actor: Actor, patient_id: uuid.UUID | None, find: Callable[[uuid.UUID], _P | None]) -> _P:
    """The patient `actor` may book for: a patient themselves, staff a patient of their clinic (`find`
    reads a patient by id)."""
    if actor.role == "patient":
        if patient_id is not None and patient_id != actor.patient_id:
            raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                               action=audit.CREATE)
        patient = find(actor.patient_id) if actor.patient_id else None
        if patient is None:
            raise InvalidInput("this account has no patient record to book for", field="patient_id")
        return patient
    require_front_desk(actor)
    if patient_id is None:
        raise InvalidInput("choose the patient to book for", field="patient_id")
    patient = find(patient_id)
    if patient is None or patient.organization_id != actor.organization_id:
        raise AccessDenied("patient not found", entity_type="Patient", entity_id=patient_id,
                           patient_id=patient_id if patient else None, action=audit.CREATE)
    return patient


def visible_appointment(db: Session, actor: Actor, appointment_id: uuid.UUID, action: str) -> Appointment:
    appt = db.get(Appointment, appointment_id)
    if appt is not None:
        patient = db.get(Patient, appt.patient_id)
        allowed = patient is not None and (
            actor.patient_id == patient.id if actor.role == "patient"
            else actor.is_front_desk and patient.organization_id == actor.organization_id
        )
    else:
        allowed = False
    if appt is None or not allowed:
        raise AccessDenied("appointment not found", entity_type="Appointment", entity_id=appointment_id,
                           patient_id=appt.patient_id if appt else None, action=action)
    return appt
