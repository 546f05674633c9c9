"""Profile a booking transaction on PostgreSQL: its round trips, how long each lock is held, its CPU.

    python -m bench.profile_booking [--trace FILE] [--traced N] [--timed N] [--cprofile N]

Makes a scratch database (``HINDFOOT_BENCH_DB_PREFIX``, default ``hindfoot_prof``) with the bench
clinic of ``bench_scheduling``, books a few appointments to warm caches, then books ``--traced`` more,
one after another, with the driver's protocol trace on (libpq ``PQtrace``: every message to and from
the server, pipelined ones included). It prints the round trips of a booking (a round trip: what the
client sends until the server's ReadyForQuery), the statements in each, and the median time from the
start of each to the end of the transaction: a lock taken by a round trip's statements is held that
long, as the client sees it (the clinician's by the pipelined locks, the audit head by the chain's
statement). ``--timed N`` books N more and prints CPU and wall time per booking; ``--cprofile N``
books N more under cProfile (CPU time). Not a benchmark (``make bench`` does not run it): a tool to
see where a booking's time goes. One process alone: no contention.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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


def _transactions(trace: str) -> list[list[tuple[float, float, int]]]:
    """Each transaction of a libpq trace as its round trips: (sent, answered, statements sent), in
    seconds; a transaction ends at a ReadyForQuery that says idle."""
    out: list[list[tuple[float, float, int]]] = []
    current: list[tuple[float, float, int]] = []
    sent: float | None = None
    n = 0
    for line in trace.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        stamp = datetime.strptime(parts[0], "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if parts[1] == "F":
            if sent is None:
                sent = stamp
            n += parts[3] in ("Query", "Bind")
        elif parts[3] == "ReadyForQuery" and sent is not None:
            current.append((sent, stamp, n))
            sent, n = None, 0
            if parts[4].strip() == "I":
                out.append(current)
                current = []
    return out


def _lock_times(transactions: list[list[tuple[float, float, int]]]) -> None:
    """Median time each round trip takes, and from its start to the end of the transaction (what a
    lock taken by its first statement is held for, seen from the client)."""
    from statistics import median

    shapes = {len(t) for t in transactions}
    for size in sorted(shapes):
        same = [t for t in transactions if len(t) == size]
        print(f"{len(same)} transactions of {size} round trips (statements per round trip "
              f"{[rt[2] for rt in same[0]]}), median ms:")
        for k in range(size):
            took = median(1000 * (t[k][1] - t[k][0]) for t in same)
            to_end = median(1000 * (t[-1][1] - t[k][0]) for t in same)
            print(f"   round trip {k + 1}: {took:6.2f} ms; from its start to the end of the transaction {to_end:6.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trace", help="keep the libpq trace in this file")
    parser.add_argument("--cprofile", type=int, default=0, help="book N more under cProfile (CPU time)")
    parser.add_argument("--traced", type=int, default=30, help="bookings to trace (one after another)")
    parser.add_argument("--timed", type=int, default=200, help="book N more and print CPU and wall per booking")
    args = parser.parse_args()

    name = f"{os.environ.get('HINDFOOT_BENCH_DB_PREFIX', 'hindfoot_prof')}_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        n = 20 + args.traced + args.timed + args.cprofile
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
            for _ in range(args.traced):
                book()
            raw.pgconn.untrace()
        transactions = _transactions(path.read_text())
        print(f"traced {args.traced} bookings alone; a booking: {len(transactions[0])} round trips")
        _lock_times(transactions)
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
