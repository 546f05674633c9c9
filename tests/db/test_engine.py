"""The pool hands out live connections: one that sat idle is pinged first and replaced if the server dropped it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from hindfoot.db import engine as engine_module
from hindfoot.db.engine import make_engine
from tests.pg import create_postgres_database, drop_postgres_database

# Only PostgreSQL has a server to drop a connection and a ping to skip (SQLite's pool is a file handle).
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    url = create_postgres_database("hindfoot_ping")
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_a_connection_dropped_while_idle_is_replaced(pg_url, monkeypatch):
    pooled = make_engine(pg_url, pool_size=1, max_overflow=0)
    engine = make_engine(pg_url)
    try:
        with pooled.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as admin:  # the server ends it, as a restart or an idle timeout would
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)
        with pooled.connect() as conn:  # pinged, found dead, replaced: no error reaches the caller
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        pooled.dispose()
        engine.dispose()


def test_a_connection_just_used_is_not_pinged(pg_url, monkeypatch):
    pooled = make_engine(pg_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    try:
        with pooled.connect() as conn:
            conn.execute(text("SELECT 1"))
        monkeypatch.setattr(pooled.dialect, "do_ping", lambda dbapi_connection: pings.append(dbapi_connection) or True)
        with pooled.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)
        with pooled.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        pooled.dispose()
