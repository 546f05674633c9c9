"""Slot search and booking under contention, each as a ratio to a same-run baseline.

* Slot search: a month of physiotherapy slots at all three locations of the demo clinic
  (SQLite), through the service (rules, exceptions and bookings of the month in one UNION ALL query)
  and through the pure core alone. Baseline: building the same number of plain
  (start, end) datetime ranges in a loop, i.e. the least work that could produce that many slots;
  the ratio says how close to "just listing times" the search with all its checks gets.
* Booking under contention (PostgreSQL): 8 client *processes* (multiprocessing, spawn: no shared
  GIL, each its own engine and connection, as each `hindfoot serve --workers N` worker has) book
  through the service (``booking.book_appointment``, one transaction each: checks, advisory lock,
  re-check, insert, audit, commit) with ONE clinician, then with four (two clients each). Two
  clients at a time aim at every start and neighbouring starts overlap, so with one clinician
  most attempts are refused (409) and the rate counts attempts, won or refused. Afterwards the
  database is asked for live appointments that overlap (same clinician, same patient): there must
  be none. The service is called directly, not over HTTP: the HTTP stack's own cost is
  `bench_load`'s subject (its booking race), here the question is what a booking costs and how
  long it holds the clinician's lock. Baseline: a bare single-row INSERT + commit loop through the
  same driver (psycopg) on the same server, measured in the same run.
"""

from __future__ import annotations

import os
import tempfile
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
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


CLIENTS = 8
ATTEMPTS_PER_CLIENT = 150
STEP = timedelta(minutes=15)  # starts 15 minutes apart, 45-minute sessions: neighbours overlap


def _targets(n: int, day0: date) -> list[datetime]:
    """`n` starts 15 minutes apart over whole days (the bench rota is open 00:00-23:59 every day)."""
    zone = ZoneInfo("Europe/London")
    out = []
    for j in range(n):
        d = day0 + timedelta(days=j // 90)
        out.append((datetime.combine(d, time(0, 30), tzinfo=zone) + STEP * (j % 90)).astimezone(UTC))
    return out


def _booking_client(url: str, i: int, actor: Actor, prac_id: uuid.UUID, loc_id: uuid.UUID,
                    plan: list[tuple[datetime, uuid.UUID]], warm: tuple[datetime, uuid.UUID],
                    barrier: Any, out: Any) -> None:
    """One client process: its own engine and pool, books through the service, one transaction each."""
    try:
        out.put(_book_plan(url, actor, prac_id, loc_id, plan, warm, barrier))
    except BaseException as exc:
        barrier.abort()  # the others stop waiting
        out.put(f"client {i}: {exc!r}")
        raise


def _book_plan(url: str, actor: Actor, prac_id: uuid.UUID, loc_id: uuid.UUID,
               plan: list[tuple[datetime, uuid.UUID]], warm: tuple[datetime, uuid.UUID],
               barrier: Any) -> tuple[int, int, float, float, float]:
    from hindfoot.errors import HindfootError

    engine = make_engine(url, pool_size=1, max_overflow=0)
    factory = make_sessionmaker(engine)

    def attempt(start: datetime, patient_id: uuid.UUID) -> bool:
        try:
            with unit_of_work(factory) as db:
                booking.book_appointment(db, actor, service="physiotherapy", practitioner_id=prac_id,
                                         location_id=loc_id, start=start, patient_id=patient_id)
        except HindfootError as exc:  # the slot was taken first (409); anything else is a bench bug
            if exc.status_code != 409:
                raise
            return False
        return True

    attempt(*warm)  # a time of its own, far from the others': imports, caches and the connection
    barrier.wait(timeout=120)
    cpu0, t0 = clock.process_time(), clock.perf_counter()
    ok = sum(attempt(start, pid) for start, pid in plan)
    row = (ok, len(plan) - ok, t0, clock.perf_counter(), clock.process_time() - cpu0)
    engine.dispose()
    return row


def _double_bookings(conn: Any) -> tuple[int, int]:
    """Pairs of live appointments that overlap: (same clinician, same patient)."""
    freed = "('cancelled', 'noshow', 'entered-in-error')"
    counts = []
    for who in ("practitioner_id", "patient_id"):
        row = conn.execute(
            f"SELECT count(*) FROM appointment a JOIN appointment b ON a.{who} = b.{who} AND a.id < b.id "
            f"AND a.start < b.end AND b.start < a.end "
            f"WHERE a.status NOT IN {freed} AND b.status NOT IN {freed}").fetchone()
        counts.append(int(row[0]))
    return counts[0], counts[1]


def bench_clinic(url: str, clinicians: int, n_patients: int) -> tuple[Actor, list[uuid.UUID], uuid.UUID, list[uuid.UUID]]:
    """Migrate `url` and add a clinic open 00:00-23:59 every day: one location, `clinicians`
    physiotherapists, `n_patients` patients and a front-desk account (the actor who books)."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as db:
        org = Organization(name="Bench clinic")
        db.add(org)
        db.flush()
        loc = Location(organization_id=org.id, name="Bench")
        pracs = [Practitioner(organization_id=org.id, given_name="B", family_name=f"Ench {c}",
                              role="physiotherapist") for c in range(clinicians)]
        db.add_all([loc, *pracs])
        db.flush()
        for prac in pracs:
            sched = Schedule(practitioner_id=prac.id, location_id=loc.id)
            db.add(sched)
            db.flush()
            for wd in range(7):
                db.add(AvailabilityRule(schedule_id=sched.id, weekday=wd, start_time=time(0),
                                        end_time=time(23, 59), services=[]))
        patients = [Patient(organization_id=org.id, identifier=f"B-{j}", given_name="P", family_name=str(j),
                            birth_date=date(1990, 1, 1), sex="female") for j in range(n_patients)]
        db.add_all(patients)
        desk = UserAccount(email="desk@example.org", password_hash="x", role="receptionist",
                           organization_id=org.id, display_name="Front desk")
        db.add(desk)
        db.flush()
        actor = Actor.from_account(desk)
        prac_ids, loc_id = [p.id for p in pracs], loc.id
        patient_ids = [p.id for p in patients]
    engine.dispose()
    return actor, prac_ids, loc_id, patient_ids


def _contention(console: Console, clinicians: int = 1) -> list[Result]:
    import multiprocessing

    import psycopg

    name = f"hindfoot_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]PostgreSQL not available, booking contention not measured: {exc}")
        return []
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    conninfo = f"postgresql://postgres@127.0.0.1:5432/{name}"
    n_targets = CLIENTS * ATTEMPTS_PER_CLIENT // 2
    try:
        actor, prac_ids, loc_id, patient_ids = bench_clinic(url, clinicians, n_targets + CLIENTS)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("ANALYZE")

        # Client i's k-th attempt aims at target (8k + i) // 2: two clients at once at every start, and
        # each start overlaps the ones 15 and 30 minutes either side, which the other clients are taking
        # at the same moment. Target j is patient j's, so a lost race is the clinician's clash. With
        # several clinicians, clients 2c and 2c+1 book clinician c (mod their number): fewer share a lock.
        day0 = date.today() + timedelta(days=2)
        starts = _targets(n_targets, day0)
        warm_starts = _targets(3 * CLIENTS, day0 + timedelta(days=n_targets // 90 + 2))[::3]  # apart
        plans = [[(starts[(CLIENTS * k + i) // 2], patient_ids[(CLIENTS * k + i) // 2])
                  for k in range(ATTEMPTS_PER_CLIENT)] for i in range(CLIENTS)]
        ctx = multiprocessing.get_context("spawn")
        barrier, out = ctx.Barrier(CLIENTS), ctx.Queue()
        procs = [ctx.Process(target=_booking_client, args=(
            url, i, actor, prac_ids[i // 2 % clinicians], loc_id, plans[i], (warm_starts[i], patient_ids[n_targets + i]), barrier, out))
            for i in range(CLIENTS)]
        for proc in procs:
            proc.start()
        rows = [out.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        failed = [r for r in rows if isinstance(r, str)]
        if failed:
            raise RuntimeError("booking clients failed: " + "; ".join(failed))
        ok = sum(r[0] for r in rows)
        lost = sum(r[1] for r in rows)
        attempts = ok + lost
        seconds = max(r[3] for r in rows) - min(r[2] for r in rows)
        attempt_rate = attempts / seconds
        cpu_ms = 1000 * sum(r[4] for r in rows) / attempts

        with psycopg.connect(conninfo, autocommit=True) as conn:
            same_clinician, same_patient = _double_bookings(conn)
            stored = conn.execute("SELECT count(*) FROM appointment").fetchone()
            booked = int(stored[0]) - CLIENTS if stored else -1
            conn.execute("CREATE TABLE bench_row (id uuid PRIMARY KEY, at timestamptz NOT NULL)")
            t0 = clock.perf_counter()
            for _ in range(attempts):
                conn.execute("INSERT INTO bench_row (id, at) VALUES (%s, now())", (uuid.uuid4(),))
            insert_rate = attempts / (clock.perf_counter() - t0)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    style = "green" if same_clinician == same_patient == 0 and booked == ok else "bold red"
    console.print(f"{attempts} attempts by {CLIENTS} processes, {clinicians} clinician(s): {attempt_rate:,.0f} attempts/s "
                  f"({ok} booked, {lost} refused 409) · client CPU {cpu_ms:.2f} ms/attempt · "
                  f"bare insert+commit {insert_rate:,.0f}/s · load {load}")
    console.print(f"[{style}]double bookings: {same_clinician} clinician, {same_patient} patient; "
                  f"{booked} rows stored for {ok} wins")
    return [Result(f"booking attempts, {CLIENTS} client processes, {clinicians} clinician(s) (PostgreSQL)", attempt_rate,
                   "bare single-row INSERT+commit (psycopg)", insert_rate,
                   f"{ok} won/{lost} 409; {same_clinician + same_patient} double bookings; "
                   f"{cpu_ms:.1f} ms CPU/attempt; load {load}")]


def run(console: Console) -> list[Result]:
    return _search(console) + _contention(console) + _contention(console, clinicians=4)
