"""Engine and sessionmaker built from settings; the only place that knows backend quirks."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.settings import Settings


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # SQLite ignores foreign keys unless asked, and WAL lets readers run during a write.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in database_url:
                cursor.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL keeps the database consistent after a crash and skips an fsync
                # per commit; only the last commits before a power cut can be lost.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(database_url, **kwargs)
    _ping_when_idle(engine)
    return engine


PING_IDLE_SECONDS = 1.0
"""A pooled connection unused for longer than this is pinged before it is handed out."""

_IDLE_SINCE = "hindfoot_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping``, only for connections that sat idle: a connection handed back a moment ago
    (a busy server's case) is used at once, without a round trip of its own before every transaction.
    One idle longer than :data:`PING_IDLE_SECONDS` (a database restarted meanwhile, a proxy's idle
    timeout) is pinged first and, if dead, replaced: the pool retries with a new connection."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def engine_from_settings(settings: Settings) -> Engine:
    """The server's engine: a pool of the configured size, and a bounded wait for a connection
    (sqlalchemy's TimeoutError then, which the error mapping answers 503 with Retry-After)."""
    if settings.database_url.startswith("sqlite") and ":memory:" in settings.database_url:
        return make_engine(settings.database_url)
    return make_engine(settings.database_url, pool_size=settings.db_pool_size,
                       max_overflow=settings.db_max_overflow, pool_timeout=settings.db_pool_timeout_seconds)
