"""Outcomes registry dashboard at 10k and 100k generated patients, on SQLite and PostgreSQL.

Each backend gets one database: the demo clinic plus 10,000 registry patients (timed), then 90,000
more on top (so each size is generated once; `HINDFOOT_BENCH_REGISTRY_SIZES=10000,100000,1000000`
adds a size). The dashboard (the whole clinic, read from the pre-aggregated `registry_total_*`
rows, and one sport) is timed at every size, with no ANALYZE but the generator's own; the ratio is
the larger size's rate over the same-run 10k rate (1.0 = no slowdown, 0.1 = linear; the target
is at most 3x slower from 10k to 100k, i.e. a ratio of at least 0.33, and at most 300 ms).
PostgreSQL is created and dropped like tests/conftest.py does.
The generator rate (patients/s, rows/s) is reported per backend: COPY on PostgreSQL, executemany on
SQLite, on a writer thread overlapping the row building.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.harness import Result
from hindfoot.auth.actor import Actor
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import UserAccount
from hindfoot.db.session import unit_of_work

SIZES = tuple(int(n) for n in os.environ.get("HINDFOOT_BENCH_REGISTRY_SIZES", "10000,100000").split(","))
PG_ADMIN = os.environ.get("HINDFOOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg(sql: str) -> None:
    import psycopg

    conninfo = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _dashboard_seconds(url: str, repeats: int = 5, analytics_filters: dict[str, str] | None = None) -> float:
    from hindfoot.outcomes import analytics

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        account = s.scalars(select(UserAccount).where(UserAccount.email == "surgeon@demo.hindfoot.local")).one()
        actor = Actor.from_account(account)
    best = float("inf")
    for _ in range(repeats + 1):  # the first run warms caches
        with factory() as s:
            start = time.perf_counter()
            analytics.dashboard(s, actor, analytics.Filters(**(analytics_filters or {})))
            best = min(best, time.perf_counter() - start)
            s.rollback()
    engine.dispose()
    return best


def _run_backend(console: Console, label: str, url: str) -> list[Result]:
    from hindfoot.demo.loader import load_demo
    from hindfoot.demo.registry import add_registry_patients

    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        load_demo(s, date.today())
    timings: dict[int, float] = {}
    sport: dict[int, float] = {}
    made, rows, spent = 0, 0, 0.0
    for size in SIZES:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{label}: generating to {size:,} patients", total=size - made)
            result = add_registry_patients(engine, size - made, today=date.today(), seed=size,
                                           progress=lambda k, task=task: progress.advance(task, k))
        made, rows, spent = size, rows + result.rows, spent + result.seconds
        timings[size] = _dashboard_seconds(url)
        sport[size] = _dashboard_seconds(url, analytics_filters={"sport": "ballet"})
        console.print(f"{label}: {size:,} patients ({rows:,} rows, {made / spent:,.0f} patients/s, "
                      f"{rows / spent:,.0f} rows/s) · dashboard {timings[size] * 1000:,.1f} ms, "
                      f"one sport {sport[size] * 1000:,.1f} ms")
    engine.dispose()
    small = SIZES[0]
    out = []
    for size in SIZES:
        k = f"{size // 1000:,}k"
        out += [
            Result(f"dashboard {label} @{k}", 1 / timings[size], f"dashboard {label} @{small // 1000}k",
                   1 / timings[small], f"{timings[size] * 1000:.1f} ms (target <= 300 ms, ratio >= 0.33 at 100k)"),
            Result(f"dashboard, one sport {label} @{k}", 1 / sport[size], f"dashboard {label} @{small // 1000}k",
                   1 / timings[small], f"{sport[size] * 1000:.1f} ms"),
        ]
    out.append(Result(f"registry generator {label}", made / spent, "5,000 patients/s (target)", 5000.0,
                      f"patients/s; {rows / spent:,.0f} rows/s"))
    return out


def run(console: Console) -> list[Result]:
    started = time.perf_counter()
    try:
        return _run_all(console)
    finally:
        console.print(f"registry bench: {time.perf_counter() - started:,.0f} s in all")


def _run_all(console: Console) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        results += _run_backend(console, "SQLite", f"sqlite:///{Path(tmp) / 'registry.db'}")
    name = f"hindfoot_bench_{uuid.uuid4().hex[:8]}"
    try:
        _pg(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - no server: say so and keep the SQLite figures
        console.print(f"[bold red]PostgreSQL not benchmarked[/]: {exc}")
        return results
    try:
        results += _run_backend(console, "PostgreSQL", make_url(PG_ADMIN).set(database=name).render_as_string(
            hide_password=False))
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results
