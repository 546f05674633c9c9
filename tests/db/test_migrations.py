"""The Alembic history builds exactly the models' schema, both ways, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from hindfoot.db.base import Base
from hindfoot.db.engine import make_engine
from hindfoot.db.migrate import current_revision, downgrade, upgrade
from hindfoot.db.models.patient import POSTGRES_ONLY_INDEXES


def _compared(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    return not (type_ == "index" and reflected and name in POSTGRES_ONLY_INDEXES)


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _compared})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_migrations_match_models(database_url):
    assert current_revision(database_url) is not None
    assert _diff(database_url) == []


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(database_url, engine):
    downgrade(database_url, "base")
    try:
        assert _tables(database_url) - {"alembic_version"} == set()
    finally:
        upgrade(database_url)
    assert set(Base.metadata.tables) <= _tables(database_url)
