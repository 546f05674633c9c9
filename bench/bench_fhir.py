"""Patient/$everything for the richest demo patient, against the previous implementation.

The baseline is the export as it was before the FHIR API (issue 13), frozen in `fhir_legacy.py`: the
record loaded with `patients.get_record`, six resource types mapped, the whole Bundle validated with
the R4B pydantic models on every request and written by the standard JSON encoder. It is served by the same
app over the same client, so the ratio is the speed-up in this run (target: at least 5x).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select

from bench import fhir_legacy
from bench.harness import Result
from hindfoot.app import create_app
from hindfoot.deps import CurrentActor, DbSession
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import Observation, UserAccount
from hindfoot.db.session import unit_of_work
from hindfoot.settings import Settings


def _legacy_route(app) -> None:  # type: ignore[no-untyped-def]
    @app.get("/legacy/Patient/{patient_id}/$everything")
    def legacy(patient_id: uuid.UUID, db: DbSession, actor: CurrentActor) -> JSONResponse:
        return JSONResponse(fhir_legacy.patient_bundle(db, actor, patient_id, "http://testserver"),
                            media_type="application/fhir+json")


def interleaved(a: Callable[[], object], b: Callable[[], object], rounds: int = 40) -> tuple[float, float]:
    """Rates (1 / fastest call) of a and b, called in turn so that both see the same load on a
    shared machine; the fastest call is the one least disturbed by other work."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        a()
        best_a = min(best_a, time.perf_counter() - start)
        start = time.perf_counter()
        b()
        best_b = min(best_b, time.perf_counter() - start)
    return 1 / best_a, 1 / best_b


def run(console: Console) -> list[Result]:
    from hindfoot.demo import DEMO_PASSWORD
    from hindfoot.demo.loader import load_demo

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        with unit_of_work(make_sessionmaker(engine)) as s:
            load_demo(s, date.today())
        with make_sessionmaker(engine)() as s:
            clinician = s.scalars(select(UserAccount).where(UserAccount.role == "clinician")).first()
            richest, n_obs = s.execute(select(Observation.patient_id, func.count()).group_by(Observation.patient_id)
                                       .order_by(func.count().desc())).first()
            assert clinician is not None
        engine.dispose()
        app = create_app(Settings(environment="test", database_url=url, secret_key="b" * 40))
        _legacy_route(app)
        with TestClient(app) as client:
            client.post("/api/auth/login", json={"email": clinician.email, "password": DEMO_PASSWORD})
            new = client.get(f"/api/fhir/Patient/{richest}/$everything")
            old = client.get(f"/legacy/Patient/{richest}/$everything")
            assert new.status_code == old.status_code == 200, (new.text[:200], old.text[:200])
            baseline, everything = interleaved(
                lambda: client.get(f"/legacy/Patient/{richest}/$everything"),
                lambda: client.get(f"/api/fhir/Patient/{richest}/$everything"))
        console.print(f"richest demo patient: {n_obs} observations; $everything {len(new.json()['entry'])} "
                      f"resources at {everything:,.1f}/s, previous export {len(old.json()['entry'])} resources "
                      f"at {baseline:,.1f}/s")
        return [Result("GET Patient/$everything (richest demo patient)", everything,
                       "previous export (validated collection)", baseline,
                       f"{len(new.json()['entry'])} vs {len(old.json()['entry'])} resources; target ratio >= 5")]
