"""Patient list and full record through the real app (session, auth, audit write, commit),
against a bare FastAPI endpoint returning constant JSON, both over the same in-process client."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select

from bench.harness import Result, rate
from hindfoot.app import create_app
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import Patient, UserAccount
from hindfoot.db.session import unit_of_work
from hindfoot.settings import Settings


def _bare_client() -> TestClient:
    bare = FastAPI()

    @bare.get("/constant")
    def constant() -> dict[str, str]:
        return {"status": "ok"}

    return TestClient(bare)


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
            patient_id = s.scalars(select(Patient.id)).first()
            assert clinician is not None
        engine.dispose()
        app = create_app(Settings(environment="test", database_url=url, secret_key="b" * 40))
        with TestClient(app) as client, _bare_client() as bare:
            r = client.post("/api/auth/login", json={"email": clinician.email, "password": DEMO_PASSWORD})
            client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            baseline = rate(lambda: bare.get("/constant"))
            record = rate(lambda: client.get(f"/api/patients/{patient_id}"))
            listing = rate(lambda: client.get("/api/patients", params={"q": "a"}))
        console.print(f"bare endpoint {baseline:,.0f}/s · record {record:,.0f}/s · list {listing:,.0f}/s")
        return [
            Result("GET /api/patients/{id} (full record)", record, "bare constant JSON", baseline,
                   "SQLite, demo clinic, audited"),
            Result("GET /api/patients?q=a (search)", listing, "bare constant JSON", baseline,
                   "SQLite, demo clinic, audited"),
        ]
