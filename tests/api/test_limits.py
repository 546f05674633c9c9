"""Stays up under bad input: out-of-range values are 422s naming the field, large bodies are 413s
before they are read, an exhausted pool is a 503 with Retry-After (and the server recovers), and
an unexpected exception is logged with the request id the client is shown."""

from __future__ import annotations

import logging
import socket
import time
from datetime import date, timedelta

import pytest
from booking_helpers import make_clinic
from factories import login, make_account, make_org, make_practitioner
from serving import served

from hindfoot.app import create_app


@pytest.fixture
def admin(client, db):
    org = make_org(db)
    pr = make_practitioner(db, org, role="admin", family="Admin")
    make_account(db, org, "admin", practitioner=pr, email="admin@example.org")
    db.commit()
    login(client, "admin@example.org")
    return org


@pytest.mark.parametrize("path", [
    "/api/slots?service=new_consultation&start_date=9999-12-30",
    "/api/slots?service=new_consultation&start_date=1066-10-14",
])
def test_dates_outside_1900_to_2100_are_422_naming_the_field(client, db, path):
    make_clinic(db)
    db.commit()
    r = client.get(path, headers={"accept": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["field"] == "start_date"
    assert "1900 to 2100" in err["message"]


def test_booking_page_names_a_date_outside_1900_to_2100_and_keeps_the_form(client, db):
    make_clinic(db)
    db.commit()
    r = client.get("/book?start_date=9999-12-30")
    assert r.status_code == 422
    assert "From date" in r.text and "1900 to 2100" in r.text
    assert 'value="9999-12-30"' in r.text, "what was typed is kept"


def test_a_date_inside_the_range_still_searches(client, db):
    make_clinic(db)
    db.commit()
    r = client.get("/api/slots", params={"service": "new_consultation",
                                         "start_date": (date.today() + timedelta(days=3)).isoformat()})
    assert r.status_code == 200
    assert r.json()["items"], "the test clinic works every day: there are free slots"


@pytest.mark.parametrize("path", ["/api/patients", "/api/audit-events"])
@pytest.mark.parametrize("offset", ["9999999999999999999", "99999999999999999999999", "1000001"])
def test_huge_offsets_are_422(client, admin, path, offset):
    r = client.get(path, params={"offset": offset})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "offset"


def test_the_largest_offset_allowed_is_an_empty_page(client, admin):
    r = client.get("/api/patients", params={"offset": 1_000_000})
    assert r.status_code == 200
    assert r.json()["items"] == []


def test_far_future_time_in_a_body_is_422(client, db):
    clinic = make_clinic(db)
    db.commit()
    login(client, clinic.clinician.email)
    r = client.post("/api/appointments", json={
        "service": "new_consultation", "practitioner_id": str(clinic.surgeon.id),
        "location_id": str(clinic.city.id), "start": "9999-12-30T10:00:00Z", "patient_id": None})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "start"
    assert r.json()["errors"][0]["message"] == "must be a time from 1900 to 2100"


def test_a_body_over_the_limit_is_413(settings, session_factory):
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 4096}))) as c:
        r = c.post("/api/assessments", content=b'{"findings": ["' + b"x" * 8000 + b'"]}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
        ok = c.post("/api/assessments", json={"findings": {}})
        assert ok.status_code != 413


def test_a_12_mb_body_is_refused_before_it_is_sent(settings, session_factory):
    """The server answers 413 on the headers alone: the client has sent 1 KB of the 12 MB announced."""
    with served(create_app(settings)) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 12000000\r\n\r\n" + b"[" * 1024)
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_every_answer_carries_a_request_id_and_keeps_a_sane_one_given(client):
    r = client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234567890"})
    assert given.headers["x-request-id"] == "lb-1234567890"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"


def test_an_unexpected_exception_is_a_500_logged_with_its_request_id(app, caplog):
    from fastapi.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/boom", boom)
    app.add_api_route("/boom", boom)
    with TestClient(app) as c, caplog.at_level(logging.ERROR, logger="hindfoot.errors"):
        r = c.get("/api/boom")
        page = c.get("/boom")
    assert r.status_code == 500
    rid = r.json()["request_id"]
    assert r.headers["x-request-id"] == rid and rid in r.json()["message"]
    assert page.status_code == 500 and page.headers["x-request-id"] in page.text
    logged = [rec for rec in caplog.records if rec.name == "hindfoot.errors"]
    assert any(rid in rec.getMessage() and rec.exc_info and "a bug" in str(rec.exc_info[1]) for rec in logged)


def test_an_exhausted_pool_answers_503_with_retry_after_and_recovers(settings, session_factory):
    from fastapi.testclient import TestClient

    app = create_app(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0,
                                                  "db_pool_timeout_seconds": 0.3}))
    with TestClient(app) as c:
        held = app.state.engine.connect()  # the only connection, taken by "another request"
        try:
            r = c.get("/api/services")
            ready = c.get("/readyz")
        finally:
            held.close()
        assert r.status_code == 503
        assert r.headers["retry-after"] == "2"
        assert r.json()["error"] == "busy"
        assert ready.status_code == 503
        assert c.get("/api/services").status_code != 503  # the connection came back: served again
        assert c.get("/readyz").status_code == 200


def test_health_and_readiness(client, database_url):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == ("postgresql" if database_url.startswith("postgresql") else "sqlite")


def test_not_ready_when_the_database_is_gone(settings, tmp_path):
    from fastapi.testclient import TestClient

    gone = settings.model_copy(update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                                       "db_pool_timeout_seconds": 1})
    with TestClient(create_app(gone)) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.headers["retry-after"]
        services = c.get("/api/services")
        assert services.status_code == 503  # a request that needs the database: busy, not a crash


def test_requests_beyond_the_pool_queue_and_then_get_503_while_probes_still_answer(settings, session_factory):
    import threading

    import anyio
    import httpx2

    app = create_app(settings.model_copy(update={"max_concurrent_requests": 1, "request_queue_seconds": 0.5}))
    release = threading.Event()

    async def slow() -> dict[str, str]:
        while not release.is_set():
            await anyio.sleep(0.05)
        return {"done": "yes"}

    app.add_api_route("/api/slow", slow)
    with served(app) as base:
        first: list[int] = []
        holder = threading.Thread(target=lambda: first.append(httpx2.get(base + "/api/slow", timeout=30).status_code))
        holder.start()
        try:
            deadline = time.monotonic() + 10
            while True:  # wait until the slow request holds the only place
                queued = httpx2.get(base + "/api/services", timeout=30)
                if queued.status_code == 503 or time.monotonic() > deadline:
                    break
            assert queued.status_code == 503
            assert queued.headers["retry-after"] == "2" and queued.json()["error"] == "busy"
            assert httpx2.get(base + "/healthz", timeout=5).status_code == 200
        finally:
            release.set()
            holder.join(timeout=30)
        assert first == [200]
        assert httpx2.get(base + "/readyz", timeout=30).status_code == 200  # the place is free again


@pytest.mark.parametrize("query", [{"date": "9999-12-31"}, {"date": "ge9999-12-31"}, {"date": "1066"},
                                   {"_offset": "99999999999999999999"}, {"_offset": "1000001"}])
def test_fhir_search_out_of_range_is_400_naming_the_parameter(client, admin, query):
    r = client.get("/api/fhir/Observation", params=query)
    assert r.status_code == 400, r.text
    assert next(iter(query)) in r.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_locked_database_is_busy_but_a_missing_table_is_a_logged_bug(app, caplog):
    import sqlite3

    from fastapi.testclient import TestClient
    from sqlalchemy import exc as sa_exc

    def locked() -> None:
        raise sa_exc.OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))

    def missing() -> None:
        raise sa_exc.OperationalError("SELECT x", {}, sqlite3.OperationalError("no such table: x"))

    app.add_api_route("/api/locked", locked)
    app.add_api_route("/api/missing", missing)
    with TestClient(app) as c, caplog.at_level(logging.WARNING, logger="hindfoot.errors"):
        busy, bug = c.get("/api/locked"), c.get("/api/missing")
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert bug.status_code == 500 and bug.json()["request_id"] == bug.headers["x-request-id"]
    assert any(bug.headers["x-request-id"] in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_sign_ins_queue_in_their_own_lane_and_past_its_wait_are_refused_429_while_other_requests_pass():
    """The admission lanes on their own (no database): a sign-in that finds the sign-in lane full waits
    up to the sign-in queue time and is then answered 429 with Retry-After; other requests, and
    sign-ins once a place frees, go through meanwhile."""
    import anyio
    import httpx2
    from starlette.responses import PlainTextResponse

    from hindfoot.admission import AdmissionMiddleware

    release = anyio.Event()

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["path"] == "/api/auth/login" and scope["method"] == "POST" and not release.is_set():
            await release.wait()  # a sign-in still hashing
        await PlainTextResponse("ok")(scope, receive, send)

    app = AdmissionMiddleware(inner, limit=1, queue_seconds=5, sign_in_limit=1, sign_in_queue_seconds=0.3)

    async def scenario() -> None:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t") as c:
            async with anyio.create_task_group() as tg:
                first: list[int] = []

                async def hold() -> None:
                    first.append((await c.post("/api/auth/login")).status_code)

                tg.start_soon(hold)
                await anyio.sleep(0.05)
                start = time.monotonic()
                refused = await c.post("/api/auth/login")
                waited = time.monotonic() - start
                assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
                assert refused.json()["error"] == "too_many_attempts" and 0.25 < waited < 3
                assert (await c.get("/api/services")).status_code == 200  # the other lane is free
                assert (await c.post("/api/patients")).status_code == 200  # (only sign-ins share the lane)
                release.set()
            assert first == [200]
            assert (await c.post("/login")).status_code == 200  # the place is free again

    anyio.run(scenario)
