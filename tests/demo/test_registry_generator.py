"""The bulk registry generator writes the registry summary exactly as the record implies, on both backends."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.db.models import Observation, Patient, RegistryEpisode, RegistryScore
from hindfoot.db.models.registry import TOTALS, refresh_registry
from hindfoot.db.session import unit_of_work
from hindfoot.demo.loader import load_demo
from hindfoot.demo.registry import add_registry_patients

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


def test_generator_and_loader_fill_the_registry_summary(engine, session_factory):
    with unit_of_work(session_factory) as s:
        load_demo(s, TODAY)
    with session_factory() as db:
        demo_only = _snapshot(db)
        assert demo_only[0] and demo_only[1]  # the demo loader's ORM writes kept it in step
    result = add_registry_patients(engine, 250, today=TODAY, seed=7, batch=100)
    assert result.patients == 250 and result.rows > 250 * 10
    with session_factory() as db:
        assert db.scalar(select(func.count()).select_from(Patient).where(Patient.identifier.like("RG-%"))) == 250
        assert db.scalar(select(func.count()).select_from(Observation)) > 250 * 8
        written = _snapshot(db)
        assert len(written[1]) > len(demo_only[1]) + 200
        added_up = _totals(db)
        refresh_registry(db.connection())  # rebuild everything from the record
        assert _snapshot(db) == written
        assert _totals(db) == added_up  # the batches' shares of the dashboard totals
        db.rollback()
