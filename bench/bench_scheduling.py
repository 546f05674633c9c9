"""Slot search and booking under contention, each as a ratio to a same-run baseline.

* Slot search: a month of physiotherapy slots at all three locations of the demo clinic
  (SQLite), through the service (loading rules, exceptions and bookings: one query per table)
  and through the pure core alone. Baseline: building the same number of plain
  (start, end) datetime ranges in a loop, i.e. the least work that could produce that many slots;
  the ratio says how close to "just listing times" the search with all its checks gets.
* Booking under contention (PostgreSQL): 8 threads book distinct times with ONE practitioner,
  each booking its own transaction (advisory lock, re-check, insert, audit, commit), so every
  booking waits for the one before. Baseline: a bare single-row INSERT + commit loop through the
  same driver (psycopg) on the same server, measured in the same run.
"""

from __future__ import annotations

import tempfile
import time as clock
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console

from bench.harness import Result, rate
from hindfoot.auth.actor import Actor
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import (
    AvailabilityRule,
    Location,
    Organization,
    Patient,
    Practitioner,
    Schedule,
    UserAccount,
)
from hindfoot.db.session import unit_of_work
from hindfoot.scheduling import availability as core
from hindfoot.scheduling import booking, clinic
from hindfoot.scheduling import search as slot_search
from hindfoot.scheduling.catalogue import get_service

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _search(console: Console) -> list[Result]:
    from hindfoot.demo.loader import load_demo

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as s:
            load_demo(s, date.today())
        factory = make_sessionmaker(engine)
        first = date.today() + timedelta(days=1)
        with factory() as db:
            _, options = slot_search.search_slots(db, None, "physiotherapy", start_date=first, days=31,
                                                         limit=100_000)
            n = len(options)
            org = clinic.clinic_for(db, None)
            data = clinic.load_calendar(db, org, first, first + timedelta(days=30))
            svc = get_service("physiotherapy")
            now = datetime.now(UTC)

            def service_search() -> None:
                slot_search.search_slots(db, None, "physiotherapy", start_date=first, days=31, limit=100_000)

            def core_search() -> None:
                core.find_slots(data.calendar, svc, start_date=first, end_date=first + timedelta(days=30), now=now)

            zone = ZoneInfo("Europe/London")
            start0 = datetime.combine(first, time(8), tzinfo=zone)
            step = timedelta(minutes=45)

            def baseline() -> None:
                out = []
                t = start0
                for _ in range(n):
                    out.append((t, t + step))
                    t += step

            base = rate(baseline)
            svc_rate = rate(service_search)
            core_rate = rate(core_search)
        engine.dispose()
    console.print(f"{n} physiotherapy slots in 31 days · baseline {base:,.0f}/s · service {svc_rate:,.1f}/s · "
                  f"core {core_rate:,.1f}/s")
    return [
        Result("slot search, month, all locations (service + SQLite)", svc_rate, f"{n} plain datetime ranges",
               base, f"{n} slots, demo clinic"),
        Result("slot search, month, all locations (pure core)", core_rate, f"{n} plain datetime ranges", base,
               f"{n} slots, demo clinic"),
    ]


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=5) as c:
        c.execute(sql)


def _contention(console: Console) -> list[Result]:
    import psycopg

    name = f"hindfoot_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]PostgreSQL not available, booking contention not measured: {exc}")
        return []
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        threads, per_thread = 8, 40
        with unit_of_work(factory) as db:
            org = Organization(name="Bench clinic")
            db.add(org)
            db.flush()
            loc = Location(organization_id=org.id, name="Bench")
            prac = Practitioner(organization_id=org.id, given_name="B", family_name="Ench", role="physiotherapist")
            db.add_all([loc, prac])
            db.flush()
            sched = Schedule(practitioner_id=prac.id, location_id=loc.id)
            db.add(sched)
            db.flush()
            for wd in range(7):
                db.add(AvailabilityRule(schedule_id=sched.id, weekday=wd, start_time=time(0), end_time=time(23, 59),
                                        services=[]))
            accounts = []
            for i in range(threads):
                p = Patient(organization_id=org.id, identifier=f"B-{i}", given_name="P", family_name=str(i),
                            birth_date=date(1990, 1, 1), sex="female")
                db.add(p)
                db.flush()
                a = UserAccount(email=f"b{i}@example.org", password_hash="x", role="patient",
                                organization_id=org.id, patient_id=p.id, display_name=f"P {i}")
                db.add(a)
                accounts.append(a)
            db.flush()
            actors = [Actor.from_account(a) for a in accounts]
            prac_id, loc_id = prac.id, loc.id
        zone = ZoneInfo("Europe/London")
        day0 = date.today() + timedelta(days=2)

        def worker(i: int) -> int:
            done = 0
            for k in range(per_thread):
                slot = i * per_thread + k
                d = day0 + timedelta(days=slot // 20)
                start = datetime.combine(d, time(8), tzinfo=zone) + timedelta(minutes=45 * (slot % 20))
                with unit_of_work(factory) as db:
                    booking.book_appointment(
                        db, actors[i], service="physiotherapy", practitioner_id=prac_id, location_id=loc_id,
                        start=start.astimezone(UTC))
                done += 1
            return done

        t0 = clock.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            total = sum(pool.map(worker, range(threads)))
        booking_rate = total / (clock.perf_counter() - t0)
        engine.dispose()

        conninfo = f"postgresql://postgres@127.0.0.1:5432/{name}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_row (id uuid PRIMARY KEY, at timestamptz NOT NULL)")
            n = total
            t0 = clock.perf_counter()
            for _ in range(n):
                conn.execute("INSERT INTO bench_row (id, at) VALUES (%s, now())", (uuid.uuid4(),))
            insert_rate = n / (clock.perf_counter() - t0)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    console.print(f"{total} bookings by {threads} threads on one practitioner: {booking_rate:,.0f}/s · "
                  f"bare insert+commit {insert_rate:,.0f}/s")
    return [Result("booking under contention (8 threads, 1 practitioner, PostgreSQL)", booking_rate,
                   "bare single-row INSERT+commit (psycopg)", insert_rate,
                   "lock + re-check + insert + audit per booking")]


def run(console: Console) -> list[Result]:
    return _search(console) + _contention(console)
