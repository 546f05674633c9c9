"""The pool hands out live connections: one that sat idle is pinged first and replaced if the server dropped it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hindfoot.db import engine as engine_module
from hindfoot.db.engine import make_engine


def test_a_connection_dropped_while_idle_is_replaced(database_url, engine, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    pooled = make_engine(database_url, pool_size=1, max_overflow=0)
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


def test_a_connection_just_used_is_not_pinged(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite connections are not pinged")
    pooled = make_engine(database_url, pool_size=1, max_overflow=0)
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
