"""What a clinic offers and its diary, loaded: the bookable services and one window of the rota.

:func:`load_calendar` reads rules, exceptions and live bookings in one query (a UNION ALL) and
builds the pure :class:`~hindfoot.scheduling.availability.ClinicCalendar` every other scheduling
module asks its questions of. :func:`services_for` is the one place a service's duration and
providing roles come from (the clinic's own rows, else the default catalogue).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.orm import Session

from hindfoot.auth.actor import Actor
from hindfoot.db.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    ClinicService,
    Location,
    Organization,
    Practitioner,
    Schedule,
)
from hindfoot.db.models.practitioner import NON_CLINICAL_ROLES
from hindfoot.errors import InvalidInput, NotFound
from hindfoot.scheduling import availability as core
from hindfoot.scheduling.catalogue import CATALOGUE, Role, Service, get_service

FREED_STATUSES = ("cancelled", "noshow", "entered-in-error")
"""Statuses that free the time again (the same list as the partial unique index)."""


_SERVICES = (select(ClinicService).where(ClinicService.organization_id == bindparam("org"))
             .order_by(ClinicService.position, ClinicService.code))


def services_for(db: Session, organization_id: uuid.UUID) -> Mapping[str, Service]:
    """The clinic's services by code, in booking-page order, inactive ones included.

    The one place slot search, booking checks, series and pages learn what a service is, how
    long it takes and who provides it. An organisation that has never edited its services has
    no rows and gets the default catalogue. Appointments store their own end time, so changing
    a duration here changes new bookings only.
    """
    rows = db.scalars(_SERVICES, {"org": organization_id}).all()
    if not rows:
        return CATALOGUE
    return {r.code: service_from_row(r) for r in rows}


def service_from_row(row: ClinicService) -> Service:
    return Service(
        code=row.code, name=row.name, description=row.description or row.name,
        duration_minutes=row.duration_minutes, roles=frozenset(Role(r) for r in row.roles if r in Role.__members__),
        active=row.active, online=row.bookable_online,
    )


SERVICES_JSON = (
    select(func.json_agg(aggregate_order_by(
        func.json_build_object("code", ClinicService.code, "name", ClinicService.name,
                               "description", ClinicService.description,
                               "duration_minutes", ClinicService.duration_minutes, "roles", ClinicService.roles,
                               "active", ClinicService.active, "online", ClinicService.bookable_online),
        ClinicService.position, ClinicService.code)))
    .where(ClinicService.organization_id == bindparam("org")).scalar_subquery()
)
"""PostgreSQL: the clinic's services as one JSON array (NULL for none), in :func:`services_for`'s order,
for a query that reads them along with other rows (``guards.preload``)."""


def services_from_json(items: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Service]:
    """:func:`services_for`'s answer from :data:`SERVICES_JSON`'s value."""
    if not items:
        return CATALOGUE
    return {i["code"]: Service(
        code=i["code"], name=i["name"], description=i["description"] or i["name"],
        duration_minutes=i["duration_minutes"], roles=frozenset(Role(r) for r in i["roles"] or () if r in Role.__members__),
        active=i["active"], online=i["online"],
    ) for i in items}


def bookable_service(db: Session, org: HasId, code: str, services: Mapping[str, Service] | None = None) -> Service:
    """A service that may be booked now: known to this clinic and active (unknown → 422 on ``service``).
    `services`: the clinic's, when the caller has read them already."""
    svc = get_service(code, services if services is not None else services_for(db, org.id))
    if not svc.active:
        raise InvalidInput(f"{svc.name} is not offered at the moment", field="service")
    return svc


def service_named(db: Session, organization_id: uuid.UUID, code: str) -> Service | None:
    """The service an existing appointment was booked for (retired or default ones included)."""
    return services_for(db, organization_id).get(code) or CATALOGUE.get(code)


class HasId(Protocol):
    """A row as the scheduling checks need it: its id (a clinic, a location, a clinician...)."""

    @property
    def id(self) -> uuid.UUID: ...


class Zoned(HasId, Protocol):
    """A clinic as the checks read it: the zone its clocks keep."""

    @property
    def timezone(self) -> str: ...


class Clinician(HasId, Protocol):
    """A practitioner as the checks read them."""

    @property
    def role(self) -> str: ...
    @property
    def display_name(self) -> str: ...


@dataclass
class ClinicData:
    """One window of the rota, indexed: the calendar plus the rows pages need to name things."""

    organization: Organization
    calendar: core.ClinicCalendar
    practitioners: dict[uuid.UUID, Practitioner]
    locations: dict[uuid.UUID, Location]

    @property
    def zone(self) -> ZoneInfo:
        return self.calendar.zone


def clinic_for(db: Session, actor: Actor | None) -> Organization:
    """The actor's clinic; for someone not signed in (a new patient), the clinic this server runs."""
    if actor is not None:
        org = db.get(Organization, actor.organization_id)
    else:
        org = db.scalar(select(Organization).order_by(Organization.created_at, Organization.id).limit(1))
    if org is None:
        raise NotFound("no clinic is set up on this server yet")
    return org


def _utc_bounds(zone: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """A UTC range safely covering local dates first..last (a day's margin either side)."""
    lo = datetime.combine(first - timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=2), time(0), tzinfo=zone).astimezone(UTC)
    return lo, hi


# The calendar's three reads (plain columns, not ORM entities: the calendar keeps values, and rows
# skip the identity map), sent as ONE statement: a UNION ALL whose first column says which read a row
# belongs to, every branch giving the same columns (a read's missing ones are typed NULLs, so both
# databases agree on the column types and the first branch's types convert every row). Bound per
# call: first/last (local dates), lo/hi (UTC).
_RULE, _EXCEPTION, _BOOKING = 0, 1, 2


def _no(column: Any) -> Any:
    """A typed NULL standing in for `column` in a branch that has no such value."""
    return cast(null(), column.type)


_RULES = (
    select(literal(_RULE), Schedule.practitioner_id, Schedule.location_id, _no(Appointment.start),
           _no(Appointment.end), _no(Appointment.id), _no(AvailabilityException.reason), AvailabilityRule.weekday,
           AvailabilityRule.start_time, AvailabilityRule.end_time, AvailabilityRule.services,
           AvailabilityRule.valid_from, AvailabilityRule.valid_to)
    .select_from(AvailabilityRule)
    .join(Schedule, AvailabilityRule.schedule_id == Schedule.id)
    .where(
        Schedule.active,
        or_(AvailabilityRule.valid_from.is_(None), AvailabilityRule.valid_from <= bindparam("last")),
        or_(AvailabilityRule.valid_to.is_(None), AvailabilityRule.valid_to >= bindparam("first")),
    )
)
_RULE_ONLY = (AvailabilityRule.weekday, AvailabilityRule.start_time, AvailabilityRule.end_time,
              AvailabilityRule.services, AvailabilityRule.valid_from, AvailabilityRule.valid_to)
_EXCEPTIONS = select(
    literal(_EXCEPTION), AvailabilityException.practitioner_id, AvailabilityException.location_id,
    AvailabilityException.start, AvailabilityException.end, _no(Appointment.id), AvailabilityException.reason,
    *map(_no, _RULE_ONLY),
).where(AvailabilityException.start < bindparam("hi"), AvailabilityException.end > bindparam("lo"))
_BOOKINGS = select(
    literal(_BOOKING), Appointment.practitioner_id, Appointment.location_id, Appointment.start, Appointment.end,
    Appointment.id, _no(AvailabilityException.reason), *map(_no, _RULE_ONLY),
).where(
    Appointment.start < bindparam("hi"), Appointment.end > bindparam("lo"), Appointment.status.not_in(FREED_STATUSES)
)
# One practitioner (pid) at one location (lid): their rules there, their leave and the place's closures,
# their bookings anywhere.
_CALENDAR_ONE = union_all(
    _RULES.where(Schedule.practitioner_id == bindparam("pid"), Schedule.location_id == bindparam("lid")),
    _EXCEPTIONS.where(or_(
        AvailabilityException.practitioner_id == bindparam("pid"),
        and_(AvailabilityException.practitioner_id.is_(None), AvailabilityException.location_id == bindparam("lid")),
    )),
    _BOOKINGS.where(Appointment.practitioner_id == bindparam("pid")),
)


def driver_statement(stmt: Select[Any] | CompoundSelect[Any]) -> tuple[str, dict[str, Any]]:
    """`stmt` as the PostgreSQL driver's SQL (psycopg, named parameters) and the values it binds itself
    (its literals), compiled once."""
    compiled = stmt.compile(dialect=psycopg_dialect())
    sql, literals = compiled.string, {}
    for name, value in compiled.params.items():
        if isinstance(value, list | tuple):  # an IN list of constants: one parameter per item
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join(f"%({name}_{i})s" for i in range(len(value))))
            literals.update({f"{name}_{i}": item for i, item in enumerate(value)})
        elif value is not None:
            literals[name] = value
    assert "POSTCOMPILE" not in sql
    return sql, literals


_CALENDAR_ONE_PG, _CALENDAR_ONE_LITERALS = driver_statement(_CALENDAR_ONE)
"""PostgreSQL: ``_CALENDAR_ONE`` sent by the driver itself, rows as plain tuples (a booking's check reads
a few dozen rows; SQLAlchemy's result machinery per statement and per row was a fifth of its CPU)."""


def _calendar_rows(db: Session, query: CompoundSelect[Any], params: dict[str, Any]) -> Sequence[Sequence[Any]]:
    """The calendar query's rows; the one-clinician query on PostgreSQL straight from the driver, its
    timestamps in UTC as ``UTCDateTime`` gives them."""
    if query is not _CALENDAR_ONE or db.get_bind().dialect.name != "postgresql":
        return db.execute(query, params).all()
    if db.autoflush:
        db.flush()  # what db.execute would do first: appointments added to the session are in the calendar
    raw = db.connection().connection.driver_connection  # psycopg.Connection, in the session's transaction
    assert raw is not None  # a checked-out connection always has its driver's
    rows = raw.execute(_CALENDAR_ONE_PG, {**_CALENDAR_ONE_LITERALS, **params}).fetchall()
    return [(kind, pid, lid, s if s is None else s.astimezone(UTC), e if e is None else e.astimezone(UTC), *rest)
            for kind, pid, lid, s, e, *rest in rows]


def load_calendar(
    db: Session,
    org: Organization,
    first: date,
    last: date,
    *,
    practitioner_ids: Sequence[uuid.UUID] | None = None,
) -> ClinicData:
    """Load rules, exceptions and live bookings for local dates first..last, in ONE query.

    The clinic's rota for the whole range (every clinician, or those asked for) comes back as one
    UNION ALL of the three tables' rows (see ``_RULES``), so a month's slot search and a booking's
    check each ask the database once for the calendar, whatever the range or the number of clinicians.

    ``practitioner_ids`` narrows every query to those people.
    Inactive practitioners, admins and inactive locations drop out of the calendar, so they are
    never offered and never bookable. (A booking's check reads one clinician's: :func:`clinician_calendar`.)
    """
    zone = ZoneInfo(org.timezone)
    lo, hi = _utc_bounds(zone, first, last)
    params: dict[str, object] = {"first": first, "last": last, "lo": lo, "hi": hi}
    org_pracs = select(Practitioner.id).where(Practitioner.organization_id == org.id)
    org_locs = select(Location.id).where(Location.organization_id == org.id)
    prac_q = select(Practitioner).where(
        Practitioner.organization_id == org.id, Practitioner.active,
        Practitioner.role.not_in(NON_CLINICAL_ROLES)
    )
    if practitioner_ids is not None:
        prac_q = prac_q.where(Practitioner.id.in_(practitioner_ids))
    practitioners = {p.id: p for p in db.scalars(prac_q)}

    locations = {
        loc.id: loc
        for loc in db.scalars(select(Location).where(Location.organization_id == org.id, Location.active))
    }
    rule_q = _RULES.where(Schedule.location_id.in_(org_locs), Schedule.practitioner_id.in_(org_pracs))
    exc_q = _EXCEPTIONS.where(or_(AvailabilityException.practitioner_id.in_(org_pracs),
                                  AvailabilityException.location_id.in_(org_locs)))
    appt_q = _BOOKINGS.where(Appointment.practitioner_id.in_(org_pracs))
    if practitioner_ids is not None:
        rule_q = rule_q.where(Schedule.practitioner_id.in_(practitioner_ids))
        exc_q = exc_q.where(or_(AvailabilityException.practitioner_id.in_(practitioner_ids),
                                AvailabilityException.practitioner_id.is_(None)))
        appt_q = appt_q.where(Appointment.practitioner_id.in_(practitioner_ids))
    rows = _calendar_rows(db, union_all(rule_q, exc_q, appt_q), params)
    calendar = _calendar(zone, rows, {pid: p.role for pid, p in practitioners.items()}, locations.keys())
    return ClinicData(org, calendar, practitioners, locations)


def clinician_calendar(
    db: Session,
    zone: ZoneInfo,
    day: date,
    practitioner_id: uuid.UUID,
    role: str,
    location_id: uuid.UUID,
    during: tuple[datetime, datetime],
) -> core.ClinicCalendar:
    """One clinician's calendar at one place, for a booking's check: their rules there on local `day`,
    and their leave, the place's closures and their bookings anywhere that overlap `during` (UTC).

    The clinician and the place are the caller's, already found bookable (``guards``), so the
    prebuilt statement asks for their rows by id, with no subquery over the clinic's staff or sites.
    Leave, closures and bookings are read only where they overlap `during` (one booking's time, with a
    margin), not over whole days: whatever overlaps a time within it is read, so a question about such
    a time gets the same answer, from a handful of rows instead of days of them.
    """
    lo, hi = during
    params = {"first": day, "last": day, "lo": lo, "hi": hi, "pid": practitioner_id, "lid": location_id}
    return _calendar(zone, _calendar_rows(db, _CALENDAR_ONE, params), {practitioner_id: role}, {location_id})


def _calendar(
    zone: ZoneInfo, rows: Iterable[Sequence[Any]], roles: Mapping[uuid.UUID, str], location_ids: Collection[uuid.UUID]
) -> core.ClinicCalendar:
    """The pure calendar of the UNION ALL's rows: rules of the clinicians in `roles` at `location_ids`
    (a deactivated clinician's rota stays stored, unseen), every exception and booking read."""
    rules: list[core.AvailabilityRule] = []
    exceptions: list[core.AvailabilityException] = []
    bookings: list[core.Booking] = []
    for kind, pid, lid, s, e, aid, reason, weekday, start, end, services, valid_from, valid_to in rows:
        if kind == _BOOKING:
            bookings.append(core.Booking(start=s, end=e, practitioner_id=pid, location_id=lid, id=aid))
        elif kind == _EXCEPTION:
            exceptions.append(core.AvailabilityException(start=s, end=e, practitioner_id=pid, location_id=lid,
                                                         reason=reason))
        elif lid in location_ids and pid in roles:
            rules.append(core.AvailabilityRule(
                practitioner_id=pid, location_id=lid, weekday=weekday, start=start, end=end,
                services=frozenset(services or ()), valid_from=valid_from, valid_to=valid_to,
            ))
    return core.ClinicCalendar(timezone=zone, practitioners=dict(roles), rules=rules, exceptions=exceptions,
                               bookings=bookings)
