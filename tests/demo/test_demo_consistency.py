"""The demo clinic, loaded as of today, contradicts itself nowhere a user would notice: no visit marked
seen or arrived before it starts, every visit inside its clinician's rota at that place (and not on their
leave), no operation note without the patient's recorded consent before it."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import (
    Appointment,
    AvailabilityException,
    AvailabilityRule,
    Observation,
    Organization,
    Procedure,
    Schedule,
)
from hindfoot.db.session import unit_of_work
from hindfoot.demo.loader import load_demo

LIVE = ("booked", "arrived", "checked-in", "fulfilled", "noshow")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = "sqlite:///" + str(tmp_path_factory.mktemp("demo-now") / "d.db")
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    loaded_at = datetime.now(UTC)
    with unit_of_work(factory) as session:
        load_demo(session, loaded_at.astimezone(ZoneInfo("Europe/London")).date())
    with factory() as session:
        yield session, loaded_at
    engine.dispose()


def test_no_visit_is_seen_or_arrived_before_it_starts(demo):  # type: ignore[no-untyped-def]
    db, now = demo
    early = db.scalars(select(Appointment).where(Appointment.status.in_(("fulfilled", "arrived", "noshow")),
                                                 Appointment.start > now)).all()
    assert not [(a.service_type, a.status, a.start.isoformat()) for a in early]
    for a in db.scalars(select(Appointment).where(Appointment.seen_at.is_not(None))):
        assert a.seen_at <= now and (a.checked_in_at is None or a.checked_in_at <= a.seen_at)


def test_every_visit_is_inside_its_clinicians_rota_there(demo):  # type: ignore[no-untyped-def]
    db, _ = demo
    org = db.scalars(select(Organization).where(Organization.is_demo)).one()
    zone = ZoneInfo(org.timezone)
    rules = defaultdict(list)
    for rule, sched in db.execute(select(AvailabilityRule, Schedule).join(
            Schedule, Schedule.id == AvailabilityRule.schedule_id)):
        rules[(sched.practitioner_id, sched.location_id, rule.weekday)].append(rule)
    leave = db.scalars(select(AvailabilityException)).all()
    outside = []
    for a in db.scalars(select(Appointment).where(Appointment.status.in_(LIVE))):
        start, end = a.start.astimezone(zone), a.end.astimezone(zone)
        fits = any(r.start_time <= start.time() and end.time() <= r.end_time and end.date() == start.date()
                   for r in rules[(a.practitioner_id, a.location_id, start.weekday())])
        away = any((x.practitioner_id in (None, a.practitioner_id)) and (x.location_id in (None, a.location_id))
                   and x.start < a.end and a.start < x.end for x in leave)
        if not fits or (away and a.status == "booked"):
            outside.append((a.service_type, a.status, start.isoformat(), "leave" if fits else "no rota"))
    assert not outside, outside[:10]


def test_no_operation_without_consent_recorded_first(demo):  # type: ignore[no-untyped-def]
    db, _ = demo
    done = db.scalars(select(Procedure).where(Procedure.status == "completed",
                                              Procedure.code.in_(("posterior_arthroscopic_excision",
                                                                  "posterior_arthroscopic_debridement",
                                                                  "open_excision")))).all()
    assert done
    missing = []
    for p in done:
        consent = db.scalar(select(Observation.id).where(
            Observation.episode_id == p.episode_id, Observation.code == "surgical_consent",
            Observation.value_boolean.is_(True), Observation.effective_at < p.performed_at))
        if consent is None:
            missing.append(p.id)
    assert not missing, f"{len(missing)} of {len(done)} operations have no consent recorded before them"
