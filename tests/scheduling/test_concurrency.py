"""No double booking under contention: 100+ simultaneous HTTP bookings against a real server
on PostgreSQL, aimed at a few slots (some sharing a start, some overlapping at different starts).
Exactly one attempt wins each group of clashing times; every other gets a 409; the table holds
exactly the winners."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
import uvicorn
from booking_helpers import at, future_day, make_clinic, patient_with_account
from factories import PASSWORD
from smtp_server import free_port, smtp_server
from sqlalchemy import select

from hindfoot.app import create_app
from hindfoot.db.models import Appointment

pytestmark = pytest.mark.postgres

# Groups of 30-minute starts: times within one group overlap each other, groups do not.
GROUPS = {"A": ("10:00", "10:10", "10:20"), "B": ("11:00",), "C": ("12:00", "12:15"), "D": ("15:00",),
          "E": ("16:30", "16:45")}
ATTEMPTS = 120
CLIENTS = 24


# Concurrency is about PostgreSQL's locking; SQLite serialises every write anyway.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_concurrent_bookings_never_double_book(database_url, settings, db, clinic_for_race):
    clinic, accounts = clinic_for_race
    day = future_day(12)
    targets = [(group, hhmm) for group, times in GROUPS.items() for hhmm in times]

    with smtp_server() as (smtp_port, inbox):
        app = create_app(settings.model_copy(update={"smtp_port": smtp_port}))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        try:
            base = f"http://127.0.0.1:{port}"
            clients = []
            for account in accounts:
                c = httpx2.Client(base_url=base, timeout=60)
                r = c.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
                assert r.status_code == 200, r.text
                c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                clients.append(c)

            barrier = threading.Barrier(CLIENTS)
            plan = [(n % CLIENTS, targets[n % len(targets)]) for n in range(ATTEMPTS)]

            def run(client_index: int) -> list[tuple[str, str, int, dict]]:
                mine = [t for i, t in plan if i == client_index]
                barrier.wait()
                out = []
                for group, hhmm in mine:
                    r = clients[client_index].post("/api/appointments", json={
                        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
                        "location_id": str((clinic.marylebone if hhmm < "13:00" else clinic.city).id),
                        "start": at(day, hhmm).isoformat()})
                    out.append((group, hhmm, r.status_code, r.json()))
                return out

            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                results = [row for rows in pool.map(run, range(CLIENTS)) for row in rows]
            for c in clients:
                c.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    assert len(results) == ATTEMPTS
    statuses = Counter(status for _, _, status, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    winners = [(g, hhmm, body) for g, hhmm, status, body in results if status == 201]
    assert Counter(g for g, _, _ in winners) == dict.fromkeys(GROUPS, 1)
    for _, _, status, body in results:
        if status == 409:
            assert body["error"] in ("slot_taken", "conflict") and body["message"]

    db.expire_all()
    rows = db.scalars(select(Appointment).where(Appointment.status == "booked").order_by(Appointment.start)).all()
    assert sorted(str(a.id) for a in rows) == sorted(body["id"] for _, _, body in winners)
    for earlier, later in itertools.pairwise(rows):
        assert earlier.end <= later.start, "two live appointments overlap"
    # Every winner got a confirmation (sent after commit, from the server's background tasks).
    deadline = time.monotonic() + 10
    while len(inbox) < len(GROUPS) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox) == len(GROUPS)


@pytest.fixture
def clinic_for_race(db):
    clinic = make_clinic(db)
    accounts = [patient_with_account(db, clinic, given=f"Racer{i}")[1] for i in range(CLIENTS)]
    db.commit()
    return clinic, accounts
