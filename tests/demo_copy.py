"""The demo clinic for tests that need it as their data (crawls, exports): loaded by the demo loader the first
time on each database and `today`, and copied row by row from that first load afterwards.

The loader is deterministic (the same `today` gives the same clinic, ids included), so the copy is the clinic
the loader would have written; it takes a fraction of a second where the loader takes seconds. Tests of the
loader itself call `hindfoot.demo.loader.load_demo`, never this.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from hindfoot.db.base import Base
from hindfoot.db.models import AuditChainHead
from hindfoot.demo.loader import load_demo

# (database URL, today) -> table name -> the rows the loader wrote
_loaded: dict[tuple[str, date], dict[str, list[dict[str, Any]]]] = {}


def demo_clinic(session: Session, today: date) -> None:
    """Add the demo clinic of `today` to the session's empty database; the caller commits."""
    conn = session.connection()
    tables = Base.metadata.sorted_tables  # parents before their children
    head = AuditChainHead.__table__
    assert all(conn.scalar(select(func.count()).select_from(t)) == 0 for t in tables if t is not head), \
        "the database is not empty"
    conn.execute(delete(head))  # the head of an empty audit trail (a fresh database has one): the same as none
    key = (conn.engine.url.render_as_string(), today)
    if key not in _loaded:
        load_demo(session, today)
        session.flush()
        _loaded[key] = {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}
        return
    for table in tables:
        if rows := _loaded[key][table.name]:
            conn.execute(insert(table), rows)
    if conn.dialect.name == "postgresql":  # a serial key's sequence moves past the copied rows, as after the loader
        for table in tables:
            keys = list(table.primary_key.columns)
            if len(keys) == 1 and keys[0].type.python_type is int:
                conn.execute(text(f'SELECT setval(s, m) FROM (SELECT pg_get_serial_sequence(:t, :c) AS s, '
                                  f'(SELECT max("{keys[0].name}") FROM "{table.name}") AS m) q '
                                  "WHERE s IS NOT NULL AND m IS NOT NULL"), {"t": table.name, "c": keys[0].name})
