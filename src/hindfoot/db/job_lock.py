"""Run a scheduled job (reminders, purges) once even when two instances start it at the same time.

Every instance of a clinic group may carry the same crontab, so two `hindfoot outcomes remind`
can start in the same second. `job_lock(engine, name)` lets exactly one of them run:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection held for
  the job's duration; the server frees it when that connection ends, even if the process dies.
- SQLite (one machine by nature): an exclusive `flock` on a file beside the database, which the
  kernel frees when the process ends.

The other instance is told the job is already running and does nothing. No table, no migration.
The jobs stay idempotent per item as well (a reminder is claimed before it is sent), so even a
job run without the lock never sends twice; the lock spares the second run its work and noise.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

__all__ = ["job_lock"]


def _key(name: str) -> int:
    # A stable signed 64-bit key per job name (advisory locks take a bigint).
    return int.from_bytes(hashlib.sha256(f"hindfoot-job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Yields True when this process holds the job's lock (run the job), False when another does."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar())
            conn.commit()  # end the query's transaction; a session-level lock outlives it
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                    conn.commit()
        return
    with _file_lock(_lock_path(engine, name)) as got:
        yield got


def _lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":  # a private database: nobody else can run the job on it
        return Path(os.devnull)
    return Path(f"{database}.{name}.lock")


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    if str(path) == os.devnull:
        yield True
        return
    import fcntl

    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
