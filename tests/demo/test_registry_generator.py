"""The bulk registry generator writes the registry summary exactly as the record implies, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hindfoot.auth.actor import Actor
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.models import (
    EpisodeOfCare,
    Observation,
    Patient,
    QuestionnaireResponse,
    RegistryEpisode,
    RegistryScore,
    UserAccount,
)
from hindfoot.db.models.registry import TOTALS
from hindfoot.db.registry_sync import refresh_registry
from hindfoot.db.session import unit_of_work
from hindfoot.demo.loader import load_demo
from hindfoot.demo.registry import add_registry_patients
from hindfoot.patients.service import list_patients
from tests.pg import create_migrated_postgres_database, drop_postgres_database

TODAY = date(2026, 3, 18)


def _snapshot(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    scores = [tuple(r) for r in db.execute(select(*RegistryScore.__table__.c).order_by(
        RegistryScore.episode_id, RegistryScore.code))]
    episodes = [tuple(r) for r in db.execute(select(*RegistryEpisode.__table__.c).order_by(
        RegistryEpisode.episode_id))]
    return scores, episodes


def _totals(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    return {kind: sorted((tuple(r) for r in db.execute(select(*model.__table__.c))), key=str)
            for kind, (model, _, _) in TOTALS.items()}


def _schema(db: Session) -> list[tuple[Any, ...]]:
    """PostgreSQL: every index and foreign key (the bulk load sets some aside and must put them back)."""
    if db.get_bind().dialect.name != "postgresql":
        return []
    return [tuple(r) for r in db.execute(text(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) || convalidated::text"
        " FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"))]


def test_generator_and_loader_fill_the_registry_summary(engine, session_factory, monkeypatch):
    from hindfoot.demo import registry_pg

    monkeypatch.setattr(registry_pg, "CHUNK", 100)  # PostgreSQL: several chunks, their totals added up once
    with unit_of_work(session_factory) as s:
        load_demo(s, TODAY)
    with session_factory() as db:
        demo_only = _snapshot(db)
        assert demo_only[0] and demo_only[1]  # the demo loader's ORM writes kept it in step
        schema = _schema(db)
        before = db.scalar(select(func.count()).select_from(Observation))
    dry = add_registry_patients(engine, 50, today=TODAY, seed=7, batch=20, dry_run=True)
    assert dry.patients == 50 and dry.rows > 50 * 10
    with session_factory() as db:  # a dry run builds the rows and writes none
        assert db.scalar(select(func.count()).select_from(Observation)) == before
    result = add_registry_patients(engine, 250, today=TODAY, seed=7, batch=100)
    assert result.patients == 250 and result.rows > 250 * 10
    # a small addition to a larger database (PostgreSQL: keeps its indexes and keys while it loads)
    assert add_registry_patients(engine, 20, today=TODAY, seed=7, batch=100).patients == 20
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient).where(Patient.identifier.like("RG-%"))) == 270
        assert db.scalar(select(func.count()).select_from(Observation)) > 250 * 8
        written = _snapshot(db)
        assert len(written[1]) > len(demo_only[1]) + 200
        added_up = _totals(db)
        refresh_registry(db.connection())  # rebuild everything from the record
        assert _snapshot(db) == written
        assert _totals(db) == added_up  # the batches' shares of the dashboard totals
        db.rollback()
        assert _schema(db) == schema  # PostgreSQL: indexes and foreign keys back, validated
        # every generated episode has its baseline and the follow-ups already due, per the registry rows
        episodes = db.execute(select(RegistryEpisode.episode_id, RegistryEpisode.done_baseline, RegistryEpisode.done_6w)
                              .join(EpisodeOfCare, EpisodeOfCare.id == RegistryEpisode.episode_id)
                              .join(Patient, Patient.id == EpisodeOfCare.patient_id)
                              .where(Patient.identifier.like("RG-%"))).all()
        assert len(episodes) == 270
        points = {(e, tp) for e, tp in db.execute(select(QuestionnaireResponse.episode_id,
                                                         QuestionnaireResponse.timepoint).distinct())}
        for episode_id, baseline, six_weeks in episodes:
            assert ((episode_id, "baseline") in points) == bool(baseline)
            assert ((episode_id, "6w") in points) == bool(six_weeks)
        assert sum(b for _, b, _ in episodes) > 200  # 95% answer at baseline
        # generated patients are found by the search the clinic uses
        surgeon = Actor.from_account(db.scalars(select(UserAccount).where(
            UserAccount.email == "surgeon@demo.hindfoot.local")).one())
        page = list_patients(db, surgeon, q="RG-0000137")
        assert [p.patient.identifier for p in page.items] == ["RG-0000137"]
        assert page.items[0].episode is not None
        db.rollback()


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    """The server-side generator is PostgreSQL's: these tests get a migrated PostgreSQL database of their own
    (CI requires the server; elsewhere, tests/pg.py skips with the reason when none answers)."""
    url = create_migrated_postgres_database("hindfoot_gen")
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
        drop_postgres_database(url)


@pytest.fixture
def pg_session_factory(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_sessionmaker(pg_engine)
    from hindfoot.db.base import Base

    with pg_engine.begin() as conn:  # each test starts from an empty database
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables) + " CASCADE"))


@pytest.mark.postgres
def test_the_server_generates_the_same_cohort_for_the_same_seed_and_day(pg_engine, pg_session_factory):
    """PostgreSQL: the rows come from hashes of (seed, patient, draw), so two runs from the same
    database, seed and day store the same patients, answers and scores, ids included."""
    engine, session_factory = pg_engine, pg_session_factory
    import random

    from hindfoot.db.models import Organization, Practitioner, Questionnaire
    from hindfoot.demo.registry import _answer_sets
    from hindfoot.demo.registry_pg import generate_on_server

    with unit_of_work(session_factory) as s:
        load_demo(s, TODAY)

    def cohort(day: date) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            conn.begin()
            org = conn.scalar(select(Organization.id).where(Organization.is_demo))
            surgeons = list(conn.scalars(select(Practitioner.id).where(Practitioner.role == "surgeon")
                                         .order_by(Practitioner.id)))
            q_ids = dict(conn.execute(select(Questionnaire.code, Questionnaire.id)).all())
            generate_on_server(conn, n=40, offset=0, today=day, rng=random.Random(8), org_id=org,
                               surgeons=surgeons, q_ids=q_ids, sets=_answer_sets(random.Random(7)))
            rows = [tuple(r) for r in conn.execute(text(
                "SELECT p.id, p.identifier, p.birth_date, p.sport, r.id, r.timepoint, r.authored_at,"
                " r.answers::text, r.scores::text FROM patient p JOIN questionnaire_response r ON r.patient_id = p.id"
                " WHERE p.identifier LIKE 'RG-%' ORDER BY r.id"))]
            conn.rollback()
        return rows

    first = cohort(TODAY)
    assert first and len({r[0] for r in first}) > 30
    assert cohort(TODAY) == first
    assert cohort(date(2026, 6, 1)) != first  # another day, another story


@pytest.mark.postgres
def test_a_failed_server_load_leaves_nothing(pg_engine, pg_session_factory, monkeypatch):
    """PostgreSQL: the load is one transaction; a failure at its very end rolls back the rows, the
    totals, and the indexes and keys it set aside."""
    engine, session_factory = pg_engine, pg_session_factory
    import pytest

    from hindfoot.demo import registry_pg

    with unit_of_work(session_factory) as s:
        load_demo(s, TODAY)
    with session_factory() as db:
        schema, before, totals = _schema(db), _snapshot(db), _totals(db)
    real = registry_pg.set_aside  # fail after the indexes and keys are back, just before COMMIT
    monkeypatch.setattr(registry_pg, "set_aside", lambda conn, analyzed: [*real(conn, analyzed), "SELECT 1 / 0"])
    with pytest.raises(Exception, match="division by zero"):
        add_registry_patients(engine, 120, today=TODAY, seed=3)
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient).where(Patient.identifier.like("RG-%"))) == 0
        assert _snapshot(db) == before and _totals(db) == totals
        assert _schema(db) == schema
