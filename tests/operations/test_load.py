"""Under concurrent load on a server process (`hindfoot serve`), on SQLite and PostgreSQL: a 50-way race for one slot
has exactly one winner and 49 answers 409 (never a 5xx or a time-out), and 50 concurrent reads
all succeed. (Throughput and latency are measured by bench/bench_load.py, not here.)"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2
from booking_helpers import at, future_day, make_clinic
from factories import PASSWORD, make_patient
from serving import server_process
from sqlalchemy import func, select

from hindfoot.db.models import Appointment

N = 50


def test_fifty_way_booking_race_and_fifty_concurrent_reads(database_url, db):
    clinic = make_clinic(db)
    patients = [make_patient(db, clinic.org, given=f"Load{i}") for i in range(N)]
    db.commit()
    day = future_day(5)
    slot = {"service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
            "location_id": str(clinic.marylebone.id), "start": at(day, "09:30").isoformat()}
    env = {"HINDFOOT_DATABASE_URL": database_url, "HINDFOOT_SMTP_PORT": "9", "HINDFOOT_ENVIRONMENT": "test",
           "HINDFOOT_SECRET_KEY": "load-test-" + "l" * 32}
    with server_process(env) as (base, proc):
        with httpx2.Client(base_url=base, timeout=60) as login:
            r = login.post("/api/auth/login", json={"email": clinic.clinician.email, "password": PASSWORD})
            assert r.status_code == 200
            cookies, token = dict(login.cookies), r.json()["csrf_token"]
        clients = [httpx2.Client(base_url=base, timeout=60, cookies=cookies, headers={"X-CSRF-Token": token})
                   for _ in range(N)]
        barrier = threading.Barrier(N)

        def book(i: int) -> int:
            barrier.wait()
            try:
                return clients[i].post("/api/appointments", json={**slot, "patient_id": str(patients[i].id)}
                                       ).status_code
            except httpx2.TimeoutException:
                return -1

        def read(i: int) -> int:
            barrier.wait()
            path = ("/api/services", "/api/locations", "/book", "/calendar")[i % 4]
            try:
                return clients[i].get(path, params={"start_date": day.isoformat()} if path == "/book" else None
                                      ).status_code
            except httpx2.TimeoutException:
                return -1

        with ThreadPoolExecutor(max_workers=N) as pool:
            booked = Counter(pool.map(book, range(N)))
            reads = Counter(pool.map(read, range(N)))
        for c in clients:
            c.close()
    log = proc.stdout.read() if proc.stdout else ""
    assert booked == {201: 1, 409: N - 1}, (booked, [line for line in log.splitlines() if "busy" in line][:3])
    assert reads == {200: N}, reads
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "booked")) == 1
