"""Outcomes registry dashboard at 10k and 100k generated patients, on SQLite and PostgreSQL.

Each backend gets one database: the demo clinic plus 10,000 registry patients (timed), then 90,000
more on top (so each size is generated once). The dashboard (all its aggregate queries, as the
page runs them) is timed at both sizes; the ratio is the 100k rate over the same-run 10k rate
(1.0 = no slowdown, 0.1 = linear). PostgreSQL is created and dropped like tests/conftest.py does.
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
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench.harness import Result
from hindfoot.auth.actor import Actor
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import UserAccount
from hindfoot.db.session import unit_of_work

SIZES = (10_000, 100_000)
PG_ADMIN = os.environ.get("HINDFOOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg(sql: str) -> None:
    import psycopg

    conninfo = make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _dashboard_seconds(url: str, repeats: int = 3) -> float:
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
            analytics.dashboard(s, actor, analytics.Filters())
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
    made, rows, spent = 0, 0, 0.0
    for size in SIZES:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{label}: generating to {size:,} patients", total=size - made)
            result = add_registry_patients(engine, size - made, today=date.today(), seed=size,
                                           progress=lambda k, task=task: progress.advance(task, k))
        made, rows, spent = size, rows + result.rows, spent + result.seconds
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        timings[size] = _dashboard_seconds(url)
        console.print(f"{label}: {size:,} patients ({rows:,} rows, {made / spent:,.0f} patients/s, "
                      f"{rows / spent:,.0f} rows/s) · dashboard {timings[size] * 1000:,.0f} ms")
    engine.dispose()
    small, large = SIZES
    return [
        Result(f"dashboard {label} @10k", 1 / timings[small], f"dashboard {label} @10k", 1 / timings[small],
               f"{timings[small] * 1000:.0f} ms"),
        Result(f"dashboard {label} @100k", 1 / timings[large], f"dashboard {label} @10k", 1 / timings[small],
               f"{timings[large] * 1000:.0f} ms (target < 1000 ms on PostgreSQL)"),
        Result(f"registry generator {label}", made / spent, "-", made / spent,
               f"patients/s; {rows / spent:,.0f} rows/s"),
    ]


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
