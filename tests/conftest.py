"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each run migrates (Alembic, not create_all) a fresh SQLite file and a fresh PostgreSQL database
(created on the local server, or HINDFOOT_TEST_POSTGRES_URL's server, and dropped at the end).
When PostgreSQL does not answer the run says so loudly; under CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.app import create_app
from hindfoot.db.base import Base
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.settings import Settings

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_pg_problem: list[str] = []


def _admin_pg_url() -> str:
    return os.environ.get("HINDFOOT_TEST_POSTGRES_URL", DEFAULT_PG)


def _pg_execute(sql: str) -> None:
    import psycopg

    url = make_url(_admin_pg_url())
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _pg_problem:
        terminalreporter.write_sep("!", "PostgreSQL NOT TESTED", red=True, bold=True)
        terminalreporter.write_line(_pg_problem[0], red=True)


def create_postgres_database() -> str:
    """Create a uniquely named database and return its URL, or skip/fail when no server answers."""
    name = f"hindfoot_test_{uuid.uuid4().hex[:10]}"
    try:
        _pg_execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        message = f"PostgreSQL at {make_url(_admin_pg_url()).render_as_string()} did not answer: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI requires PostgreSQL: " + message, pytrace=False)
        if not _pg_problem:
            _pg_problem.append(message)
        pytest.skip("PostgreSQL tests NOT RUN: " + message)
    return make_url(_admin_pg_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "hindfoot.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    url = create_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def _wipe(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Each test starts from an empty, migrated database and leaves it empty."""
    yield make_sessionmaker(engine)
    _wipe(engine)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        smtp_host="127.0.0.1",
        smtp_port=1025,
    )


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c
