"""Profile ONE booking transaction on PostgreSQL: its statements, round trips and CPU.

    python -m bench.profile_booking [--trace FILE] [--cprofile N]

Makes a scratch database (``HINDFOOT_BENCH_DB_PREFIX``, default ``hindfoot_prof``) with the bench
clinic of ``bench_scheduling``, books a few appointments to warm caches, then books one with the
driver's protocol trace on (libpq ``PQtrace``: every message to and from the server, pipelined ones
included) and prints the statements sent and the number of times the client waited for the server
(a "round trip": a Sync or a simple Query followed by the server's ReadyForQuery). ``--cprofile N``
books N more in a row under cProfile and prints the top functions by cumulative time. Not a
benchmark (``make bench`` does not run it): a tool to see where a booking's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import tempfile
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.bench_scheduling import PG_ADMIN, _pg_admin, bench_clinic
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.session import unit_of_work
from hindfoot.scheduling import booking


def _round_trips(trace: str) -> tuple[list[str], int]:
    """(statements the client sent, times it waited for ReadyForQuery) from a libpq trace."""
    statements: list[str] = []
    waits = 0
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        direction, kind = parts[1], parts[3]
        if direction == "F" and kind in ("Query", "Parse"):
            m = re.search(r'"((?:[^"\\]|\\.)*)"', line[line.index(kind):] if kind == "Query" else
                          line.split("Parse", 1)[1].split('"', 2)[-1])
            statements.append((m.group(1) if m else line)[:160])
        elif direction == "B" and kind == "ReadyForQuery":
            waits += 1
    return statements, waits


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trace", help="keep the libpq trace in this file")
    parser.add_argument("--cprofile", type=int, default=0, help="book N more under cProfile (CPU time)")
    parser.add_argument("--timed", type=int, default=200, help="book N more and print CPU and wall per booking")
    args = parser.parse_args()

    name = f"{os.environ.get('HINDFOOT_BENCH_DB_PREFIX', 'hindfoot_prof')}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        n = 20 + args.timed + args.cprofile
        actor, prac_ids, loc_id, patient_ids = bench_clinic(url, 1, n)
        engine = make_engine(url, pool_size=1, max_overflow=0)
        factory = make_sessionmaker(engine)
        zone = ZoneInfo("Europe/London")
        day0 = date.today() + timedelta(days=2)
        starts = iter((datetime.combine(day0 + timedelta(days=j // 20), time(1), tzinfo=zone)
                       + timedelta(minutes=60 * (j % 20))).astimezone(UTC) for j in range(n))
        patients = iter(patient_ids)

        def book() -> None:
            with unit_of_work(factory) as db:
                booking.book_appointment(db, actor, service="physiotherapy", practitioner_id=prac_ids[0],
                                         location_id=loc_id, start=next(starts), patient_id=next(patients))

        for _ in range(10):
            book()
        with engine.connect() as c:  # the pool's one connection: trace it
            raw = c.connection.driver_connection
        path = Path(args.trace) if args.trace else Path(tempfile.mkstemp(suffix=".trace")[1])
        with open(path, "w") as fh:
            raw.pgconn.trace(fh.fileno())
            book()
            raw.pgconn.untrace()
        statements, waits = _round_trips(path.read_text())
        print(f"one booking: {len(statements)} statements, {waits} waits for the server")
        for s in statements:
            print("  ", s)
        if not args.trace:
            path.unlink()

        if args.timed:
            cpu0, t0 = clock.process_time(), clock.perf_counter()
            for _ in range(args.timed):
                book()
            cpu, wall = clock.process_time() - cpu0, clock.perf_counter() - t0
            print(f"{args.timed} bookings alone: {1000 * cpu / args.timed:.2f} ms CPU, "
                  f"{1000 * wall / args.timed:.2f} ms wall each; load {os.getloadavg()[0]:.1f}")
        if args.cprofile:
            prof = cProfile.Profile(clock.process_time)  # CPU time: waits for the server do not count
            prof.enable()
            for _ in range(args.cprofile):
                book()
            prof.disable()
            stats = pstats.Stats(prof)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
        engine.dispose()
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
