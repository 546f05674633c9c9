"""Load on a served demo clinic (loopback only, bounded in time), on SQLite and on PostgreSQL.

`hindfoot serve` runs as its own process on a free port over a freshly migrated database with
the demo clinic; an asyncio client (httpx2) then drives, each scenario with a fixed number of
concurrent clients:

* sign-in flood: 50 concurrent failed sign-ins (wrong password, 50 emails), from one address
  (the per-address throttle refuses most of them before any hashing) and then from 50 addresses
  (X-Forwarded-For; no throttle applies, every one costs an argon2 verification); meanwhile one
  client reads /api/services request after request, and its latency is reported too;
* mixed reads: 50 clients for a few seconds over the public pages and API (services,
  locations, slot search, the booking page, the probes);
* booking race: 50 concurrent bookings by staff of ONE slot for 50 different patients;
  exactly one may win, every other must be a 409;
* PostgreSQL only: 200 clients of mixed reads.

SQLite is served by one worker, PostgreSQL by `--workers 2` (every scenario). The surgeon signs
in before the floods (after one, the loopback address is locked out of signing in for a quarter
of an hour, as it should be). Each scenario prints throughput, p50/p95 latency, the count of 5xx
answers and of time-outs (30 s client time-out); the title gives the machine's load average. The
`make bench` table's ratio is each scenario's requests/s over the `/healthz` rate (no database)
measured against the same server in the same run. About 2 minutes for both backends.

`python -m bench load` runs only this file; HINDFOOT_BENCH_LOAD=sqlite (or =postgresql) runs one backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.table import Table

from bench.harness import Result

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CLIENTS = 50
READ_SECONDS = 4.0
TIMEOUT = 30.0
PASSWORD = "hindfoot-demo"


@dataclass
class Outcome:
    name: str
    backend: str
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.timeouts + self.errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def five_xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def _timed(out: Outcome, call: Callable[[], Awaitable[httpx2.Response]]) -> httpx2.Response | None:
    start = time.perf_counter()
    try:
        r = await call()
    except httpx2.TimeoutException:
        out.timeouts += 1
        return None
    except httpx2.TransportError:
        out.errors += 1
        return None
    out.latencies.append(time.perf_counter() - start)
    out.statuses[r.status_code] += 1
    return r


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str) -> None:
    from hindfoot.db.engine import make_engine, make_sessionmaker
    from hindfoot.db.migrate import upgrade
    from hindfoot.db.session import unit_of_work
    from hindfoot.demo.loader import load_demo

    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        load_demo(s, date.today())
    engine.dispose()


class Server:
    """`hindfoot serve` as its own process. Its log goes to a file: a pipe that nobody reads while
    the load runs fills up after a few hundred access-log lines and then stalls the server."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HINDFOOT_DATABASE_URL": url, "HINDFOOT_ENVIRONMENT": "test",
               "HINDFOOT_SECRET_KEY": "bench-secret-" + "z" * 32, "HINDFOOT_SMTP_PORT": str(_free_port())}
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hindfoot", "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=self.log, text=True)

    def _log_text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self._log_text()[-4000:]}")
            try:
                if httpx2.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server did not become ready")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        text = self._log_text()
        self.log.close()
        return text


async def _login(client: httpx2.AsyncClient, email: str) -> None:
    r = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    r.raise_for_status()
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]


async def _flood(out: Outcome, c: httpx2.AsyncClient, *, addresses: bool) -> None:
    """CLIENTS failed sign-ins at once, each for its own email; `addresses`: each from its own source
    address too (X-Forwarded-For, which the server trusts from loopback), so no throttle refuses any
    and every one costs an argon2 verification."""
    start = time.perf_counter()
    await asyncio.gather(*[
        _timed(out, lambda i=i: c.post(
            "/api/auth/login", json={"email": f"nobody{i}@example.org", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}"} if addresses else None))
        for i in range(CLIENTS)])
    out.seconds = time.perf_counter() - start
    out.note = ", ".join(f"{s}×{n}" for s, n in sorted(out.statuses.items()))


async def _reads_during(out: Outcome, c: httpx2.AsyncClient, flood: asyncio.Task[None]) -> None:
    """One client reading /api/services, one request after another, while `flood` runs."""
    start = time.perf_counter()
    while not flood.done():
        await _timed(out, lambda: c.get("/api/services"))
    out.seconds = time.perf_counter() - start
    out.note = f"max {max(out.latencies, default=0) * 1000:,.0f} ms"


async def sign_in_flood(base: str, backend: str, *, addresses: bool = False) -> list[Outcome]:
    """The flood, and a plain read answered meanwhile."""
    name = f"sign-in flood ({CLIENTS} failed{', 50 addresses' if addresses else ', one address'})"
    out, reads = Outcome(name, backend), Outcome("  GET /api/services during it", backend)
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT,
                                  limits=httpx2.Limits(max_connections=CLIENTS)) as c, \
            httpx2.AsyncClient(base_url=base, timeout=TIMEOUT) as reader:
        flood = asyncio.ensure_future(_flood(out, c, addresses=addresses))
        await _reads_during(reads, reader, flood)
        await flood
    return [out, reads]


async def mixed_reads(base: str, backend: str, clients: int = CLIENTS, seconds: float = READ_SECONDS) -> Outcome:
    out = Outcome(f"mixed reads ({clients} clients, {seconds:.0f} s)", backend)
    start_day = (date.today() + timedelta(days=7)).isoformat()
    paths = ["/api/services", "/api/locations", f"/api/slots?service=physiotherapy&start_date={start_day}&days=7",
             "/book", "/healthz", "/readyz", "/api/services"]
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT,
                                  limits=httpx2.Limits(max_connections=clients)) as c:
        stop_at = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            i = n
            while time.perf_counter() < stop_at:
                path = paths[i % len(paths)]
                await _timed(out, lambda path=path: c.get(path))
                i += 1

        start = time.perf_counter()
        await asyncio.gather(*[worker(n) for n in range(clients)])
        out.seconds = time.perf_counter() - start
    return out


async def booking_race(base: str, backend: str, session: dict[str, str]) -> Outcome:
    """`session`: the surgeon's cookies and CSRF token, signed in before any flood (after one, this
    loopback address is locked out of signing in for a quarter of an hour, as it should be)."""
    out = Outcome("booking race (50 for 1 slot)", backend)
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT, cookies=session["cookies"],
                                  headers={"X-CSRF-Token": session["csrf"]},
                                  limits=httpx2.Limits(max_connections=CLIENTS)) as c:
        r = await c.get("/api/patients", params={"limit": 200})
        r.raise_for_status()
        patients = [p["id"] for p in r.json()["items"]][:CLIENTS]
        me = (await c.get("/api/me")).json()
        day = (date.today() + timedelta(days=21)).isoformat()
        slots = (await c.get("/api/slots", params={"service": "new_consultation", "start_date": day, "days": 14,
                                                   "practitioner_id": me["practitioner_id"], "limit": 1})).json()
        if not slots.get("items"):
            out.note = "no free slot to race for"
            return out
        slot = slots["items"][0]
        body = {"service": "new_consultation", "practitioner_id": slot["practitioner_id"],
                "location_id": slot["location_id"], "start": slot["start"]}
        start = time.perf_counter()
        await asyncio.gather(*[
            _timed(out, lambda pid=pid: c.post("/api/appointments", json={**body, "patient_id": pid}))
            for pid in patients])
        out.seconds = time.perf_counter() - start
    winners = out.statuses.get(201, 0)
    out.note = f"{len(patients)} patients, {winners} winner(s), " + ", ".join(
        f"{s}×{n}" for s, n in sorted(out.statuses.items()))
    return out


async def _settle(base: str) -> None:
    """Wait until the server has worked off the last scenario's backlog (clients that timed out
    leave their requests running), so each scenario is measured on its own."""
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT) as c:
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            with contextlib.suppress(httpx2.TransportError):
                await c.get("/readyz")
            if time.perf_counter() - start < 0.5:
                return
            await asyncio.sleep(1)


async def _signed_in(base: str, email: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT) as c:
        await _login(c, email)
        return {"cookies": dict(c.cookies), "csrf": c.headers["X-CSRF-Token"]}


async def _scenarios(base: str, backend: str) -> list[Outcome]:
    surgeon = await _signed_in(base, "surgeon@demo.hindfoot.local")  # before the floods lock this address
    out: list[Outcome] = []
    out.extend(await sign_in_flood(base, backend))
    await _settle(base)
    out.extend(await sign_in_flood(base, backend, addresses=True))
    await _settle(base)
    out.append(await mixed_reads(base, backend))
    await _settle(base)
    out.append(await booking_race(base, backend, surgeon))
    await _settle(base)
    return out


async def _healthz_rate(base: str, backend: str) -> Outcome:
    out = Outcome("baseline: /healthz", backend)
    async with httpx2.AsyncClient(base_url=base, timeout=TIMEOUT,
                                  limits=httpx2.Limits(max_connections=CLIENTS)) as c:
        stop_at = time.perf_counter() + 2.0

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                await _timed(out, lambda: c.get("/healthz"))

        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(CLIENTS)])
        out.seconds = time.perf_counter() - start
    return out


def _run_backend(url: str, backend: str, console: Console, *, workers: int = 1,
                 big: bool = False) -> tuple[list[Outcome], Outcome, str]:
    server = Server(url, workers)
    try:
        server.wait_ready()
        baseline = asyncio.run(_healthz_rate(server.base, backend))
        outcomes = asyncio.run(_scenarios(server.base, backend))
        if big:
            outcomes.append(asyncio.run(mixed_reads(server.base, f"{backend}, 2 workers", clients=200)))
    finally:
        log = server.stop()
    return outcomes, baseline, log


def _pg_database() -> str | None:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        name = f"hindfoot_bench_load_{uuid.uuid4().hex[:8]}"
        admin = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    except Exception:  # noqa: BLE001 - no server: the bench says so and runs SQLite only
        return None


def _drop_pg(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def run(console: Console) -> list[Result]:
    backends = os.environ.get("HINDFOOT_BENCH_LOAD", "sqlite,postgresql").split(",")
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows: list[tuple[list[Outcome], Outcome]] = []
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'load.db'}"
            _prepare(url)
            outcomes, baseline, _ = _run_backend(url, "sqlite", console)
            rows.append((outcomes, baseline))
    pg = _pg_database() if "postgresql" in backends else None
    if pg is None:
        if "postgresql" in backends:
            console.print("[yellow]PostgreSQL did not answer: load measured on SQLite only[/]")
    else:
        try:
            _prepare(pg)
            outcomes, baseline, _ = _run_backend(pg, "postgresql", console, workers=2, big=True)
            rows.append((outcomes, baseline))
        finally:
            _drop_pg(pg)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    table = Table(title=f"load: loopback, {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
                        f"load average before {load_before}, after {load}")
    for col in ("backend", "scenario", "requests", "req/s", "p50 ms", "p95 ms", "5xx", "time-outs", "note"):
        table.add_column(col, justify="right" if col not in ("backend", "scenario", "note") else "left")
    results: list[Result] = []
    for outcomes, baseline in rows:
        for o in [baseline, *outcomes]:
            table.add_row(o.backend, o.name, str(o.requests), f"{o.rate:,.0f}", f"{o.pct(0.5):,.0f}",
                          f"{o.pct(0.95):,.0f}", str(o.five_xx), str(o.timeouts + o.errors), o.note)
        for o in outcomes:
            results.append(Result(f"load {o.backend}: {o.name}", o.rate, f"/healthz ({baseline.backend})",
                                  baseline.rate, note=f"p95 {o.pct(0.95):,.0f} ms, 5xx {o.five_xx}"))
    Console(width=max(console.width, 160)).print(table)
    return results


if __name__ == "__main__":
    run(Console())
