"""Under concurrent load on a server process (`hindfoot serve`), on SQLite and PostgreSQL: a 50-way race for one slot
has exactly one winner and 49 answers 409 (never a 5xx or a time-out), and 50 concurrent reads
all succeed. (Throughput and latency are measured by bench/bench_load.py, not here.)"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from booking_helpers import at, future_day, make_clinic
from factories import PASSWORD, make_patient
from serving import PRODUCTION_HASH_COST, server_process
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
    # one sign-in, at the suite's hash cost (inherited from the environment): hashing is not what this tests
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


def test_fifty_concurrent_failed_sign_ins_all_answered_while_reads_stay_quick(database_url, db):
    """50 failed sign-ins at once, with a 30 s client time-out: each is answered 401 or 429 (never a 5xx
    or a time-out), first from 50 source addresses (no throttle applies: every one needs an argon2
    verification, and those that cannot get a turn in time are refused 429), then from one address
    (its throttle locks it after 20 attempts, counted before they wait to hash; the rest are refused at once). Meanwhile a plain
    read answers quickly: sign-ins queue in a lane of their own."""
    import asyncio
    import time

    from hindfoot.db.models import LoginThrottle

    make_clinic(db)
    db.commit()
    env = {"HINDFOOT_DATABASE_URL": database_url, "HINDFOOT_SMTP_PORT": "9", "HINDFOOT_ENVIRONMENT": "test",
           "HINDFOOT_SECRET_KEY": "load-test-" + "l" * 32, **PRODUCTION_HASH_COST}

    async def flood(base: str, prefix: str, addresses: bool) -> tuple[Counter[int], int, list[float]]:
        statuses: Counter[int] = Counter()
        timeouts, reads = 0, []

        async def sign_in(c: httpx2.AsyncClient, i: int) -> None:
            nonlocal timeouts
            try:
                r = await c.post("/api/auth/login", json={"email": f"{prefix}{i}@example.org", "password": "wrong"},
                                 headers={"X-Forwarded-For": f"198.51.100.{i + 1}"} if addresses else None)
                statuses[r.status_code] += 1
            except httpx2.TimeoutException:
                timeouts += 1

        async with httpx2.AsyncClient(base_url=base, timeout=30, limits=httpx2.Limits(max_connections=N)) as c, \
                httpx2.AsyncClient(base_url=base, timeout=30) as reader:
            task = asyncio.gather(*[sign_in(c, i) for i in range(N)])
            while not task.done():
                start = time.perf_counter()
                assert (await reader.get("/api/services")).status_code == 200
                reads.append(time.perf_counter() - start)
                await asyncio.sleep(0.2)
            await task
        return statuses, timeouts, reads

    with server_process(env) as (base, _):
        spread, spread_timeouts, spread_reads = asyncio.run(flood(base, "nobody", addresses=True))
        one, one_timeouts, one_reads = asyncio.run(flood(base, "other", addresses=False))
    # how many get a turn to hash within the sign-in queue time depends on the CPU left over
    assert spread_timeouts == 0 and set(spread) <= {401, 429} and spread[401] >= 1, spread
    assert one_timeouts == 0 and set(one) <= {401, 429}, one
    assert one[401] <= 20 and one[429] >= N - 20, one  # each attempt counts before it waits to hash
    assert spread_reads and one_reads and max(spread_reads + one_reads) < 5, (spread_reads, one_reads)
    db.expire_all()
    # the address counts exactly the attempts that were checked (one that got no turn to hash in time was
    # answered 429 and its count taken back), and is locked once they reach 20
    address = db.get(LoginThrottle, "IP:127.0.0.1")
    assert address is not None and address.failures == one[401]
    assert (address.locked_until is not None) == (one[401] >= 20)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_hundred_concurrent_clients_on_two_workers_get_no_5xx(database_url, db):
    """200 clients at once, each reading request after request for a few seconds (the services, the
    slot search, the booking page, one signed-in staff list), against `hindfoot serve --workers 2` on
    PostgreSQL: every answer is a 200, none a 5xx or a time-out."""
    import asyncio
    import time

    clinic = make_clinic(db)
    db.commit()
    day = future_day(7).isoformat()
    # one sign-in, at the suite's hash cost (inherited from the environment): hashing is not what this tests
    env = {"HINDFOOT_DATABASE_URL": database_url, "HINDFOOT_SMTP_PORT": "9", "HINDFOOT_ENVIRONMENT": "test",
           "HINDFOOT_SECRET_KEY": "load-test-" + "l" * 32}
    paths = ["/api/services", f"/api/slots?service=physiotherapy&start_date={day}&days=3", "/book",
             "/api/locations", "/api/patients?limit=20"]

    async def load(base: str) -> tuple[Counter[int], int]:
        statuses: Counter[int] = Counter()
        timeouts = 0
        async with httpx2.AsyncClient(base_url=base, timeout=30) as login:
            r = await login.post("/api/auth/login", json={"email": clinic.clinician.email, "password": PASSWORD})
            assert r.status_code == 200
            cookies = dict(login.cookies)
        async with httpx2.AsyncClient(base_url=base, timeout=30, cookies=cookies,
                                      limits=httpx2.Limits(max_connections=200)) as c:
            stop_at = time.monotonic() + 4

            async def client(n: int) -> None:
                nonlocal timeouts
                i = n
                while time.monotonic() < stop_at:
                    try:
                        statuses[(await c.get(paths[i % len(paths)])).status_code] += 1
                    except httpx2.TimeoutException:
                        timeouts += 1
                    i += 1

            await asyncio.gather(*[client(n) for n in range(200)])
        return statuses, timeouts

    with server_process(env, "--workers", "2") as (base, _):
        statuses, timeouts = asyncio.run(load(base))
    assert timeouts == 0 and set(statuses) == {200} and sum(statuses.values()) >= 200, (statuses, timeouts)
