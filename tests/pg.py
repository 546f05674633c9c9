"""Per-run PostgreSQL databases for tests: created on the local server (or HINDFOOT_TEST_POSTGRES_URL's)
and dropped afterwards. When no server answers, the run says so loudly; under CI that is a failure."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_pg_problem: list[str] = []
_migrated_template: list[str] = []  # the URL of this run's database at the head revision, once made


def _admin_pg_url() -> str:
    return os.environ.get("HINDFOOT_TEST_POSTGRES_URL", DEFAULT_PG)


def _pg_execute(sql: str) -> None:
    import psycopg

    url = make_url(_admin_pg_url())
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def report_missing_postgres(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _pg_problem:
        terminalreporter.write_sep("!", "PostgreSQL NOT TESTED", red=True, bold=True)
        terminalreporter.write_line(_pg_problem[0], red=True)


def create_postgres_database(prefix: str = "hindfoot_test") -> str:
    """Create a uniquely named database and return its URL, or skip/fail when no server answers."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
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


def create_migrated_postgres_database(prefix: str = "hindfoot_test") -> str:
    """Like `create_postgres_database`, at the head revision: a copy (CREATE DATABASE ... TEMPLATE) of a
    database this run migrated once with Alembic, which takes seconds per database. Nobody connects to
    the template after its migration (a copy needs it idle); `drop_migrated_template` drops it."""
    from hindfoot.db.migrate import upgrade

    if not _migrated_template:
        url = create_postgres_database("hindfoot_template")
        try:
            upgrade(url)
        except BaseException:
            drop_postgres_database(url)
            raise
        _migrated_template.append(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(_migrated_template[0]).database}"')
    return make_url(_admin_pg_url()).set(database=name).render_as_string(hide_password=False)


def drop_migrated_template() -> None:
    while _migrated_template:
        drop_postgres_database(_migrated_template.pop())
