"""Two server processes on one PostgreSQL database (two instances of a clinic group, or two
workers): a 40-way race for one slot split across both keeps exactly one winner and answers
every loser 409, concurrent reads on both see no 5xx, and the reminder job run by both
instances at the same moment sends each reminder once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx2
import pytest
from booking_helpers import at, future_day, make_clinic
from factories import PASSWORD, make_patient
from serving import server_process
from smtp_server import smtp_server
from sqlalchemy import select

from hindfoot.db.models import Appointment

pytestmark = pytest.mark.postgres
RACERS = 40


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_servers_one_database(database_url, db):
    clinic = make_clinic(db)
    patients = [make_patient(db, clinic.org, given=f"Racer{i}") for i in range(RACERS)]
    others = [make_patient(db, clinic.org, given=f"Later{i}") for i in range(3)]  # never the race's winner
    db.commit()
    day = future_day(1)  # tomorrow: the reminder job below reminds about it
    slot = {"service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
            "location_id": str(clinic.marylebone.id), "start": at(day, "10:00").isoformat()}

    with smtp_server() as (smtp_port, inbox):
        env = {"HINDFOOT_DATABASE_URL": database_url, "HINDFOOT_SMTP_PORT": str(smtp_port),
               "HINDFOOT_ENVIRONMENT": "test", "HINDFOOT_SECRET_KEY": "two-instances-" + "k" * 32}
        with server_process(env) as (one, _), server_process(env) as (two, _):
            clients = []
            for base in (one, two):
                c = httpx2.Client(base_url=base, timeout=60)
                r = c.post("/api/auth/login", json={"email": clinic.clinician.email, "password": PASSWORD})
                assert r.status_code == 200, r.text
                c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                clients.append(c)
            barrier = threading.Barrier(RACERS)

            def book(i: int) -> int:
                barrier.wait()
                r = clients[i % 2].post("/api/appointments", json={**slot, "patient_id": str(patients[i].id)})
                return r.status_code

            def read(i: int) -> int:
                return clients[i % 2].get("/api/slots", params={"service": "follow_up",
                                                                "start_date": day.isoformat()}).status_code

            with ThreadPoolExecutor(max_workers=RACERS) as pool:
                statuses = Counter(pool.map(book, range(RACERS)))
                reads = Counter(pool.map(read, range(RACERS)))
            # a few more bookings (distinct times) for the reminder job
            for i, hhmm in enumerate(("11:00", "11:30", "12:00")):
                r = clients[i % 2].post("/api/appointments", json={
                    **slot, "start": at(day, hhmm).isoformat(), "patient_id": str(others[i].id)})
                assert r.status_code == 201, r.text
            for c in clients:
                c.close()

        assert statuses == {201: 1, 409: RACERS - 1}, statuses
        assert reads == {200: RACERS}, reads
        db.expire_all()
        live = db.scalars(select(Appointment).where(Appointment.status == "booked")).all()
        assert len(live) == 4

        # Both instances' crontabs fire at the same second.
        now = (at(day, "08:00") - timedelta(hours=20)).isoformat()
        proc_env = {**os.environ, **env}
        runs = [subprocess.Popen([sys.executable, "-m", "hindfoot", "reminders", "send", "--now", now],
                                 env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(2)]
        outputs = [r.communicate(timeout=120)[0] for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outputs
    confirmations = [m for m in inbox if m["Subject"].startswith("Appointment confirmed")]
    reminders = [m for m in inbox if m["Subject"].startswith("Reminder: your appointment")]
    assert len(confirmations) == 4  # every winner, none of the losers
    assert len(reminders) == 4, outputs
    assert len({m["To"] for m in reminders}) == 4
