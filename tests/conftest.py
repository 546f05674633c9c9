"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each run migrates (Alembic, not create_all) a fresh SQLite file and a fresh PostgreSQL database
(created on the local server, or HINDFOOT_TEST_POSTGRES_URL's server, and dropped at the end; a copy of
the one PostgreSQL database each run migrates, pg.create_migrated_postgres_database).
When PostgreSQL does not answer the run says so loudly; under CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pg import (
    create_migrated_postgres_database,
    drop_migrated_template,
    drop_postgres_database,
    report_missing_postgres,
)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.app import create_app
from hindfoot.db.base import Base
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.settings import Settings

# Argon2 at a test cost: thousands of sign-ins at the production cost would take minutes of CPU.
# The cost is a setting, so the app runs the same code; the production defaults are checked in
# tests/security/test_sign_in.py, and the load tests serve at the production cost (serving.py).
TEST_HASH_COST = {"HINDFOOT_PASSWORD_HASH_TIME_COST": "1", "HINDFOOT_PASSWORD_HASH_MEMORY_KIB": "1024",
                  "HINDFOOT_PASSWORD_HASH_PARALLELISM": "1"}


def pytest_configure(config: pytest.Config) -> None:
    for name, value in TEST_HASH_COST.items():  # before any test module (factories hashes at import) loads
        os.environ.setdefault(name, value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_migrated_template()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    report_missing_postgres(terminalreporter)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "hindfoot.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    url = create_migrated_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


# Emptying PostgreSQL between tests: TRUNCATE gives every table and index a new file (about a second for
# the fifty tables on a loaded machine, after each of several hundred tests), while DELETE from the few tables
# a test wrote to takes milliseconds. DELETE leaves dead rows and autovacuum is off, so a test that wrote many
# rows (a demo clinic is thousands), or enough tests that the dead rows add up, truncate instead: that leaves
# no dead rows behind.
_TRUNCATE_ABOVE_ROWS = 2000
_TRUNCATE_ABOVE_DEAD_ROWS = 20000
_deleted_since_truncate: dict[str, int] = {}


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]  # children before their parents
    with engine.begin() as conn:
        if engine.dialect.name != "postgresql":
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            return
        counts: dict[str, int] = dict(conn.execute(text(" UNION ALL ".join(
            f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))).all())
        rows = sum(counts.values())
        key = engine.url.render_as_string()
        if rows > _TRUNCATE_ABOVE_ROWS or _deleted_since_truncate.get(key, 0) + rows > _TRUNCATE_ABOVE_DEAD_ROWS:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
            _deleted_since_truncate[key] = 0
            return
        for table in tables:
            if counts[table]:  # an empty table needs no statement
                conn.execute(text(f'DELETE FROM "{table}"'))
        _deleted_since_truncate[key] = _deleted_since_truncate.get(key, 0) + rows


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Each test starts from an empty, migrated database and leaves it empty."""
    yield make_sessionmaker(engine)
    _wipe(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def app_settings(database_url: str) -> Settings:
    """The settings of the test apps (for fixtures of a wider scope than `settings`)."""
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        smtp_host="127.0.0.1",
        smtp_port=1025,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return app_settings(database_url)


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def mail_client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[tuple[TestClient, list]]:  # type: ignore[type-arg]
    """A client of an app that sends its email to a local SMTP server; the list collects the messages."""
    from smtp_server import smtp_server

    with (
        smtp_server() as (port, inbox),
        TestClient(create_app(settings.model_copy(update={"smtp_port": port}))) as c,
    ):
        yield c, inbox
