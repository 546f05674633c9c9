"""Patient search at scale: the current stage kept on the patient, keyset pages, a capped count,
literal wildcards, and (PostgreSQL, no statistics) plans that use the indexes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from factories import login, make_account, make_org, make_patient, make_practitioner
from pg import create_migrated_postgres_database, drop_postgres_database
from sqlalchemy import event, insert, select, text

from hindfoot.auth.actor import Actor
from hindfoot.db.engine import make_engine, make_sessionmaker
from hindfoot.db.migrate import upgrade
from hindfoot.db.models import EpisodeOfCare, Patient
from hindfoot.db.models.patient import search_text_of
from hindfoot.fhir import rest as fhir_rest
from hindfoot.patients import service as patients_service


def _clinician(db, org):
    pr = make_practitioner(db, org)
    return make_account(db, org, "clinician", practitioner=pr, email="doc@example.org")


def test_the_list_shows_the_latest_episode_and_follows_stage_changes(client, db):
    org = make_org(db)
    _clinician(db, org)
    ada = make_patient(db, org, "Ada", "Lovelace", stage="assessment")
    db.commit()
    login(client, "doc@example.org")
    [row] = client.get("/api/patients").json()["items"]
    assert (row["stage"], row["episode_title"]) == ("assessment", "Right posterior ankle pain")

    later = EpisodeOfCare(patient_id=ada.id, organization_id=org.id, title="Left heel pain", laterality="left",
                          stage="enquiry", period_start=date(2026, 6, 1))
    db.add(later)
    db.commit()
    [row] = client.get("/api/patients").json()["items"]
    assert (row["stage"], row["episode_title"]) == ("enquiry", "Left heel pain")

    later.stage = "investigation"  # as the pathway service moves an episode
    db.commit()
    assert [p["family_name"] for p in client.get("/api/patients", params={"stage": "investigation"}).json()["items"]] \
        == ["Lovelace"]
    assert client.get("/api/patients", params={"stage": "enquiry"}).json()["total"] == 0

    db.delete(later)
    db.commit()
    [row] = client.get("/api/patients").json()["items"]
    assert row["stage"] == "assessment"


def test_stage_counts_count_each_patient_once_by_current_stage(db):
    org = make_org(db)
    account = _clinician(db, org)
    ada = make_patient(db, org, "Ada", "Lovelace", stage="discharged")
    db.add(EpisodeOfCare(patient_id=ada.id, organization_id=org.id, title="Other side", laterality="left",
                         stage="post_op", period_start=date(2026, 3, 1)))
    make_patient(db, org, "Grace", "Hopper", stage="post_op")
    make_patient(db, org, "Mary", "Seacole", stage=None)
    db.flush()
    assert patients_service.stage_counts(db, Actor.from_account(account)) == {"post_op": 2}


def test_keyset_pages_walk_the_whole_list_in_name_order(client, db):
    org = make_org(db)
    _clinician(db, org)
    names = [("Zoe", "Adams"), ("Amy", "Adams"), ("Bea", "Brown"), ("Cal", "Brown"), ("Dan", "Clark"),
             ("Eve", "Davis"), ("Fay", "Evans")]
    for given, family in names:
        make_patient(db, org, given, family)
    db.commit()
    login(client, "doc@example.org")
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"after": after} if after else {})
        page = client.get("/api/patients", params=params).json()
        assert page["total"] == 7 and not page["total_capped"]
        seen += [(p["family_name"], p["given_name"]) for p in page["items"]]
        pages += 1
        after = page["next_cursor"]
        if after is None:
            break
    assert pages == 3
    assert seen == sorted((f, g) for g, f in names)

    bad = client.get("/api/patients", params={"after": "not-a-cursor"})
    assert bad.status_code == 422
    assert "after" in bad.text


def test_the_count_stops_at_the_cap_and_says_so(client, db, monkeypatch):
    monkeypatch.setattr(patients_service, "COUNT_CAP", 3)
    org = make_org(db)
    _clinician(db, org)
    for n in range(5):
        make_patient(db, org, "Ann", f"Dancer{n}", sport="ballet")
    make_patient(db, org, "Bob", "Bowler", sport="cricket_fast_bowling")
    db.commit()
    login(client, "doc@example.org")
    many = client.get("/api/patients", params={"q": "ballet", "limit": 2}).json()
    assert (many["total"], many["total_capped"], len(many["items"])) == (3, True, 2)
    one = client.get("/api/patients", params={"q": "bowl"}).json()
    assert (one["total"], one["total_capped"]) == (1, False)
    page = client.get("/patients", params={"q": "ballet"})
    assert "3+ patients" in page.text


def test_search_terms_are_literal_and_do_not_span_fields(client, db):
    org = make_org(db)
    _clinician(db, org)
    make_patient(db, org, "Ann", "Lee", sport="ballet")
    make_patient(db, org, "Ben", "O_Neil", sport="football")
    make_patient(db, org, "Cy", "Percent", sport="rugby")
    db.commit()
    login(client, "doc@example.org")

    def found(q: str) -> list[str]:
        return [p["family_name"] for p in client.get("/api/patients", params={"q": q}).json()["items"]]

    assert found("ann lee") == ["Lee"]  # the full name, as typed
    assert found("  LEE ") == ["Lee"]
    assert found("o_n") == ["O_Neil"]  # "_" is a letter here, not LIKE's any-character
    assert found("%") == []
    assert found("leet-") == []  # family name then record number: two fields, no match
    assert found("rugby") == ["Percent"]


# ------------------------------------------------------------------ plans without statistics

def _captured_statements(engine, fn):  # type: ignore[no-untyped-def]
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "patient" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


@pytest.mark.postgres
def test_search_plans_use_the_indexes_on_postgres_without_statistics():
    """A fresh database, 30,000 patients loaded in bulk, autovacuum off, no ANALYZE: the list's
    queries (search by a rare term, a common term, the stage filter, the plain list, the count)
    read patients through their indexes and never aggregate over episodes."""
    url = create_migrated_postgres_database("hindfoot_plan")
    try:
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        with factory() as db:
            org = make_org(db, "Plan clinic")
            actor = Actor.from_account(_clinician(db, org))
            org_id = org.id
            db.commit()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE patient SET (autovacuum_enabled = false)"))
            conn.execute(text("ALTER TABLE episode_of_care SET (autovacuum_enabled = false)"))
            now = datetime.now(UTC)
            stages = ("assessment", "conservative_care", "rehabilitation", "discharged")
            sports = ("ballet", "football", "running", "rugby")
            ids = [(uuid.uuid4(), uuid.uuid4()) for _ in range(30_000)]
            conn.execute(insert(Patient.__table__), [
                {"id": ids[n][0], "current_episode_id": ids[n][1], "organization_id": org_id, "identifier": f"RG-{n:07d}", "given_name": "Registry",
                 "family_name": f"Patient {n}", "birth_date": date(1990, 1, 1), "sex": "female",
                 "sport": sports[n % 4], "level": "competitive", "active": True, "created_at": now, "updated_at": now,
                 "current_stage": stages[n % 4],
                 "search_text": search_text_of("Registry", f"Patient {n}", f"RG-{n:07d}", None, sports[n % 4])}
                for n in range(30_000)
            ])
            conn.execute(insert(EpisodeOfCare.__table__), [
                {"id": ids[n][1], "patient_id": ids[n][0], "organization_id": org_id, "title": "Ankle",
                 "laterality": "left", "status": "active", "stage": stages[n % 4], "period_start": date(2026, 1, 1),
                 "created_at": now, "updated_at": now}
                for n in range(30_000)
            ])
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'patient'")) == 0
        plans: dict[str, list[str]] = {}
        with factory() as db:
            calls = {"rare": {"q": "RG-0012345"}, "common": {"q": "ballet"}, "stage": {"stage": "rehabilitation"},
                     "plain": {}}
            for name, kwargs in calls.items():
                statements = _captured_statements(
                    engine, lambda kwargs=kwargs: patients_service.list_patients(db, actor, limit=25, **kwargs))
                plans[name] = [
                    "\n".join(db.connection().exec_driver_sql("EXPLAIN " + sql, params).scalars())
                    for sql, params in statements
                ]
            # the FHIR Patient search by name (issue 14): a prefix every patient has, a rare one, a family name
            for name, params in {"fhir common": [("name", "r")], "fhir rare": [("name", "patient 12345")],
                                 "fhir family": [("family", "patient 2"), ("_count", "10")]}.items():
                statements = _captured_statements(
                    engine, lambda params=params: fhir_rest.search(db, actor, "Patient", params, "http://x"))
                plans[name] = [
                    "\n".join(db.connection().exec_driver_sql("EXPLAIN " + sql, params).scalars())
                    for sql, params in statements
                ]
            db.rollback()
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'patient'")) == 0
        # once analysed, a rare FHIR name (count and page) comes from the trigram index, not the organisation's
        # 30,000 rows (without statistics the planner reads those through an index, checked below)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE patient"))
        with factory() as db:
            statements = _captured_statements(
                engine, lambda: fhir_rest.search(db, actor, "Patient", [("name", "patient 12345")], "http://x"))
            analysed = ["\n".join(db.connection().exec_driver_sql("EXPLAIN " + sql, params).scalars())
                        for sql, params in statements]
            db.rollback()
        assert len(analysed) == 2 and all("Bitmap Index Scan on ix_patient_search_trgm" in p for p in analysed), analysed
        engine.dispose()
        for name, explained in plans.items():
            for plan in explained:
                assert "Seq Scan on patient" not in plan, (name, plan)
                assert "Seq Scan on episode_of_care" not in plan, (name, plan)
                assert "GroupAggregate" not in plan and "HashAggregate" not in plan, (name, plan)  # nothing per patient
        used = {name: "\n".join(explained) for name, explained in plans.items()}
        by_organisation = ("ix_patient_org_name", "uq_patient_organization_id")  # which one is the planner's guess
        # a term: the count and (a rare term) the page come from the trigram index; a common term's page
        # from the name-ordered window, through an index that leads with the organisation (a rare term,
        # whose capped count already fits on the page, skips that window)
        for name in ("rare", "common"):
            assert "Bitmap Index Scan on ix_patient_search_trgm" in used[name], used[name]
        assert any(index in used["common"] for index in by_organisation), used["common"]
        assert "ix_patient_stage_org_name" in used["stage"], used["stage"]
        assert any(index in used["plain"] for index in by_organisation), used["plain"]
    finally:
        drop_postgres_database(url)


def test_sqlite_lists_patients_through_the_name_indexes(db):
    if db.bind.dialect.name != "sqlite":
        pytest.skip("SQLite's own plan (PostgreSQL's is checked above)")
    org = make_org(db)
    account = _clinician(db, org)
    make_patient(db, org)
    db.flush()
    actor = Actor.from_account(account)
    for kwargs, index in (({}, "ix_patient_org_name"), ({"stage": "assessment"}, "ix_patient_stage_org_name")):
        statements = _captured_statements(db.bind, lambda kwargs=kwargs: patients_service.list_patients(
            db, actor, **kwargs))
        page_sql, params = statements[-2]  # the page's ids in name order (then its rows by id)
        plan = " ".join(str(r) for r in db.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + page_sql, params))
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # read in the index's order, not sorted
    assert db.scalar(select(Patient.current_stage)) == "assessment"


def test_the_record_answer_keeps_each_observation_as_its_read_model(client, db):
    """The record is written straight from the rows: the same fields and values (times in UTC with
    a Z, ids as strings) that ObservationRead gives."""
    from hindfoot.db.models import Observation
    from hindfoot.patients.schemas import ObservationRead

    org = make_org(db)
    _clinician(db, org)
    patient = make_patient(db, org)
    episode_id = db.scalar(select(EpisodeOfCare.id).where(EpisodeOfCare.patient_id == patient.id))
    db.add_all([
        Observation(patient_id=patient.id, episode_id=episode_id, category="exam", code="hyperplantarflexion_test_positive",
                    value_boolean=True, effective_at=datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=UTC), note="sore"),
        Observation(patient_id=patient.id, episode_id=None, category="measurement", code="pain.nrs",
                    value_quantity=6.5, value_unit="/10", effective_at=datetime(2026, 5, 2, tzinfo=UTC)),
    ])
    db.commit()
    login(client, "doc@example.org")
    answer = client.get(f"/api/patients/{patient.id}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    expected = [ObservationRead.model_validate(o).model_dump(mode="json") for o in db.scalars(
        select(Observation).where(Observation.patient_id == patient.id).order_by(Observation.effective_at.desc()))]
    assert answer.json()["observations"] == expected
    assert expected[1]["effective_at"] == "2026-05-01T09:30:15.123456Z"


def test_migration_0010_fills_the_new_columns_from_the_record(db, database_url):
    from alembic.script import ScriptDirectory

    from hindfoot.db.migrate import alembic_config, downgrade

    before_0010 = ScriptDirectory.from_config(alembic_config(database_url)).get_revision("0010").down_revision
    org = make_org(db)
    ada = make_patient(db, org, "Ada", "Lovelace", sport="ballet", stage="post_op")
    make_patient(db, org, "Mary", "Seacole", stage=None)
    db.commit()
    episode_id = db.scalar(select(EpisodeOfCare.id).where(EpisodeOfCare.patient_id == ada.id))
    db.close()
    downgrade(database_url, str(before_0010))
    upgrade(database_url)
    rows = db.execute(select(Patient.family_name, Patient.current_episode_id, Patient.current_stage,
                             Patient.search_text).order_by(Patient.family_name)).all()
    assert [r[:3] for r in rows] == [("Lovelace", episode_id, "post_op"), ("Seacole", None, None)]
    assert rows[0].search_text == search_text_of("Ada", "Lovelace", ada.identifier, ada.email, "ballet")


def _all_statements(engine, fn):  # type: ignore[no-untyped-def]
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        response = fn()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.text
    return seen


def test_the_record_reads_a_fixed_number_of_statements_and_writes_its_audit_event_once(client, db):
    """The record API and page ask the database the same number of statements for a record with one care
    plan as for one with three (their activities ride along, in order), and the audited read is one INSERT
    of its event, hash included (no INSERT then UPDATE)."""
    from hindfoot.db.models import AuditEvent, CarePlan, CarePlanActivity

    org = make_org(db)
    _clinician(db, org)
    small, large = make_patient(db, org, "Ada", "Small"), make_patient(db, org, "Bea", "Large")
    for patient, plans in ((small, 1), (large, 3)):
        for n in range(plans):
            db.add(CarePlan(patient_id=patient.id, title=f"Plan {n}", kind="recovery", period_start=date(2026, 1, 1 + n),
                            activities=[CarePlanActivity(position=k, code=f"m{k}", title=f"Milestone {k}")
                                        for k in (2, 0, 1)]))
    db.commit()
    login(client, "doc@example.org")
    assert client.get("/api/patients").status_code == 200  # the audit chain's head row exists from here on
    counts: dict[str, list[int]] = {}
    for path in ("/api/patients/{}", "/patients/{}"):
        for patient in (small, large):
            statements = _all_statements(client.app.state.engine,  # type: ignore[attr-defined]
                                         lambda p=patient, path=path: client.get(path.format(p.id)))
            # (on PostgreSQL the event's INSERT, with the chain head's move, goes to the driver with the COMMIT
            # in one pipeline, which SQLAlchemy's events do not see; its row is checked below)
            postgres = db.get_bind().dialect.name == "postgresql"
            assert not any("UPDATE AUDIT_EVENT" in sql.upper() for sql, _ in statements), statements
            assert sum("INSERT INTO AUDIT_EVENT" in sql.upper() for sql, _ in statements) == (0 if postgres else 1)
            counts.setdefault(path, []).append(len(statements))
        assert counts[path][0] == counts[path][1], counts
    answer = client.get(f"/api/patients/{large.id}").json()
    assert [p["title"] for p in answer["care_plans"]] == ["Plan 2", "Plan 1", "Plan 0"]
    assert all([a["title"] for a in p["activities"]] == ["Milestone 0", "Milestone 1", "Milestone 2"]
               for p in answer["care_plans"])
    db.expire_all()
    viewed = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == large.id,
                                                 AuditEvent.description == "full record viewed")).all()
    assert len(viewed) == 3 and all(e.hash and e.seq for e in viewed)
