"""Planner statistics after bulk writes.

A query planner without statistics guesses row counts, and a guess that says "one row" where there
are 100,000 turns an index lookup into a nested loop over the whole table. Autovacuum gathers them
eventually on PostgreSQL (if it is on, and not behind); SQLite never does by itself. So every bulk
load (the demo clinic, the registry generator) ends with `analyze`. The hot queries are written to
use their indexes without statistics too; this keeps the planner's other choices honest.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

__all__ = ["analyze"]


def analyze(engine: Engine, tables: Iterable[str] | None = None) -> None:
    """ANALYZE these tables (all when None), outside any transaction the caller holds."""
    names = list(tables or [])
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # a sample per index is plenty for the planner, and keeps this quick on a large file
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            for target in names or [""]:
                conn.exec_driver_sql(f'ANALYZE "{target}"' if target else "ANALYZE")
        else:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("ANALYZE " + ", ".join(f'"{t}"' for t in names) if names else "ANALYZE")
        conn.commit()
