"""The restore drill: back up a database holding the whole demo clinic (every kind of record),
restore it into an empty database with the CLI, and compare every table row by row. SQLite uses
the online backup API; PostgreSQL pg_dump/pg_restore."""

from __future__ import annotations

from datetime import date

import pytest
from pg import create_postgres_database, drop_postgres_database
from sqlalchemy import Engine, MetaData, func, select
from typer.testing import CliRunner

from hindfoot.cli.main import app as cli
from hindfoot.db.engine import make_engine
from hindfoot.db.models import Appointment, Observation, Patient
from hindfoot.db.session import unit_of_work
from hindfoot.settings import get_settings


def _dump(engine: Engine) -> dict[str, list[tuple]]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns or t.columns))]
                for name, t in sorted(meta.tables.items())}


def _cli(monkeypatch, url: str, *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()


def test_backup_and_restore_lose_nothing(engine, session_factory, database_url, tmp_path, monkeypatch):
    from hindfoot.demo.loader import load_demo

    with unit_of_work(session_factory) as s:
        load_demo(s, date.today())
    before = _dump(engine)
    for model in (Patient, Appointment, Observation):
        assert before[model.__tablename__], f"the demo has {model.__tablename__} rows to lose"

    backup_file = tmp_path / "clinic.backup"
    made = _cli(monkeypatch, database_url, "db", "backup", str(backup_file))
    assert made.exit_code == 0, made.output
    assert backup_file.stat().st_size > 0

    if database_url.startswith("sqlite"):
        fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        fresh = create_postgres_database("hindfoot_restore")
    try:
        refused = _cli(monkeypatch, fresh, "db", "restore", str(tmp_path / "missing.backup"), "--yes")
        assert refused.exit_code == 2 and "no backup file" in refused.output
        done = _cli(monkeypatch, fresh, "db", "restore", str(backup_file), "--yes")
        assert done.exit_code == 0, done.output
        restored_engine = make_engine(fresh)
        try:
            after = _dump(restored_engine)
            with restored_engine.connect() as conn:  # and the restored database is usable as such
                assert conn.scalar(select(func.count()).select_from(Patient)) == len(before["patient"])
        finally:
            restored_engine.dispose()
    finally:
        if not fresh.startswith("sqlite"):
            drop_postgres_database(fresh)
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"{table} differs after the restore"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backup_refuses_a_directory(database_url, tmp_path, monkeypatch):
    r = _cli(monkeypatch, database_url, "db", "backup", str(tmp_path))
    assert r.exit_code == 2 and "is a directory" in r.output
