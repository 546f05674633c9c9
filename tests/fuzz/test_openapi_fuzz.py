"""Schemathesis over the OpenAPI: every operation, with generated valid and invalid input, sent to
a real served app as anonymous and signed in as each role (patient, clinician, admin). Any 5xx
fails. The budget is bounded (HINDFOOT_FUZZ_EXAMPLES valid and as many invalid cases per operation,
default 3) so the whole fuzz stays within a few minutes of the suite; raise it for a deeper local
run. It runs on PostgreSQL, the production database; HINDFOOT_FUZZ_SQLITE=1 adds SQLite."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import requests
import schemathesis
from booking_helpers import make_clinic, patient_with_account
from factories import PASSWORD
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from serving import served

from hindfoot.app import create_app
from hindfoot.settings import Settings

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("HINDFOOT_FUZZ_EXAMPLES", "3"))
SKIP = {("POST", "/api/auth/logout")}  # would sign the fuzzing session out half-way


@pytest.fixture(scope="module")
def fuzz_target(database_url, engine):  # type: ignore[no-untyped-def]
    """A served app over a small clinic, and one HTTP session per role."""
    from conftest import _wipe

    from hindfoot.db.engine import make_sessionmaker

    with make_sessionmaker(engine)() as db:
        clinic = make_clinic(db)
        _, patient_account = patient_with_account(db, clinic, given="Fuzz")
        db.commit()
        accounts = {"patient": patient_account.email, "clinician": clinic.clinician.email,
                    "admin": clinic.admin.email}
    app_settings = Settings(environment="test", database_url=database_url, secret_key="fuzz-secret-" + "f" * 32,
                            smtp_port=9)  # emails go nowhere: a refused send is logged, not a 5xx
    app = create_app(app_settings)
    with served(app) as base:
        sessions: dict[str, requests.Session] = {"anonymous": requests.Session()}
        for role, email in accounts.items():
            s = requests.Session()
            r = s.post(base + "/api/auth/login", json={"email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            s.headers["X-CSRF-Token"] = r.json()["csrf_token"]
            sessions[role] = s
        yield base, sessions, schemathesis.openapi.from_dict(app.openapi())
        for s in sessions.values():
            s.close()
    _wipe(engine)


BACKENDS = ["postgres", "sqlite"] if os.environ.get("HINDFOOT_FUZZ_SQLITE") == "1" else ["postgres"]


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_no_operation_answers_5xx_for_any_role(fuzz_target):  # type: ignore[no-untyped-def]
    base, sessions, schema = fuzz_target
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50, "the OpenAPI lost its operations"
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None, phases=[Phase.explicit, Phase.generate])
            def check(case) -> None:  # type: ignore[no-untyped-def]
                for role, session in sessions.items():
                    response = case.call(base_url=base, session=session, timeout=60)
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{role}: {case.method} {case.formatted_path} -> {response.status_code} "
                            f"(request id {response.headers.get('x-request-id')})\n{case.as_curl_command()}\n"
                            f"{response.text[:300]}")
                        return

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to get wrong (no inputs)
    assert not failures, "\n\n".join(failures[:10])
    assert statuses[200] + statuses[201] > 0 and sum(n for c, n in statuses.items() if 400 <= c < 500) > 0
