"""The audit trail is tamper-evident: `hindfoot audit verify` catches an edited, deleted or inserted row."""

from __future__ import annotations

import itertools
import threading

import pytest
from factories import login, make_account, make_org, make_patient
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from hindfoot.audit import service as audit
from hindfoot.cli.main import app as cli
from hindfoot.db.models import AuditChainHead, AuditEvent, Organization
from hindfoot.settings import get_settings


@pytest.fixture
def cli_env(database_url, monkeypatch):
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _verify():  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["audit", "verify"])


def _trail(client, db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    org = make_org(db)
    patients = [make_patient(db, org, f"P{n}", "Chain") for n in range(3)]
    make_account(db, org, "clinician", email="doc@example.org")
    db.commit()
    login(client, "doc@example.org")
    for p in patients:
        assert client.get(f"/api/patients/{p.id}").status_code == 200
    db.expire_all()
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_events_are_chained_in_order_and_verify_passes(cli_env, client, db):
    events = _trail(client, db)
    assert [e.seq for e in events] == list(range(1, len(events) + 1)) and len(events) >= 3
    assert events[0].prev_hash == "" and all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    result = _verify()
    assert result.exit_code == 0, result.output
    assert f"intact: {len(events)} audit events" in result.output


def test_an_edited_row_is_caught_and_named(cli_env, client, db):
    events = _trail(client, db)
    victim = events[1]
    db.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(user_email="someone.else@example.org"))
    db.commit()
    result = _verify()
    assert result.exit_code == 1
    assert f"broken at event 2 (id {victim.id})" in result.output and "edited" in result.output
    assert "1 events before it hold" in result.output


def test_a_deleted_row_is_caught(cli_env, client, db):
    events = _trail(client, db)
    db.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    db.commit()
    gap = _verify()
    assert gap.exit_code == 1 and "event 2 is missing" in gap.output


def test_a_cut_tail_is_caught(cli_env, client, db):
    events = _trail(client, db)
    db.execute(delete(AuditEvent).where(AuditEvent.id == events[-1].id))
    db.commit()
    cut = _verify()
    assert cut.exit_code == 1 and "deleted" in cut.output


def test_a_row_inserted_behind_the_apps_back_is_caught(cli_env, client, db):
    _trail(client, db)
    db.execute(text("INSERT INTO audit_event (id, recorded_at, action, entity_type, outcome, description) "
                    "VALUES (:id, CURRENT_TIMESTAMP, 'R', 'Patient', '0', 'forged')"),
               {"id": "0" * 32 if db.get_bind().dialect.name == "sqlite" else "00000000-0000-0000-0000-000000000000"})
    db.commit()
    result = _verify()
    assert result.exit_code == 1 and "not on the chain" in result.output


def test_concurrent_writers_keep_one_unbroken_chain(session_factory, db):
    org = make_org(db)
    patient = make_patient(db, org)
    db.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer() -> None:
        try:
            start.wait()
            for _ in range(10):
                with session_factory() as s:
                    audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id)
                    audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id)
                    s.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        checked, broken = audit.verify_chain(s)
    assert broken is None and checked == 120


def test_single_event_commits_race_into_one_chain_with_the_same_hashes(session_factory, db):
    """One event per transaction is linked by one statement on PostgreSQL (the server moves the head and
    hashes the link): racing writers, a description the canonical JSON must escape, and an event an
    earlier flush wrote without its hash all verify with the Python chain."""
    org = make_org(db)
    patient = make_patient(db, org)
    db.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with session_factory() as s:
                    e = audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id,
                                     description=f'café "{n}" \\ {i}\n…')
                    if i % 3 == 0:
                        s.flush()  # written without its hash: linked by an UPDATE at commit
                    s.commit()
                    assert e.seq is not None and e.hash is not None
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        checked, broken = audit.verify_chain(s)
        last = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        head = s.get(AuditChainHead, 1)
    assert broken is None and checked == 60
    assert head is not None and (head.seq, head.hash, head.prev_hash) == (last.seq, last.hash, last.prev_hash)


def test_an_edited_single_event_is_caught(cli_env, session_factory, db):
    org = make_org(db)
    patient = make_patient(db, org)
    db.commit()
    for i in range(3):
        with session_factory() as s:
            audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id, description=f"read {i}")
            s.commit()
    db.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(description="read nothing"))
    db.commit()
    result = _verify()
    assert result.exit_code == 1 and "broken at event 2" in result.output and "edited" in result.output


def test_a_failed_link_commits_nothing_of_its_transaction(session_factory, db):
    """On PostgreSQL the link statement and the COMMIT go together: if the link fails, the COMMIT is not
    run and nothing the transaction wrote is stored. SQLite does not check a column's length: there the
    same event is stored, linked like any other."""
    postgres = db.get_bind().dialect.name == "postgresql"
    org = make_org(db)
    patient = make_patient(db, org)
    db.commit()
    with session_factory() as s:
        audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id)
        s.commit()
    with session_factory() as s:
        s.add(Organization(name="Never stored"))
        audit.record(s, None, audit.READ, "X" * 60, patient.id, patient_id=patient.id)  # entity_type holds 40
        if postgres:
            with pytest.raises(DBAPIError):
                s.commit()
        else:
            s.commit()
    stored = 0 if postgres else 1
    with session_factory() as s:
        assert (s.scalar(select(Organization).where(Organization.name == "Never stored")) is None) is postgres
        assert audit.verify_chain(s) == (1 + stored, None)
        audit.record(s, None, audit.READ, "Patient", patient.id, patient_id=patient.id)  # the chain goes on
        s.commit()
        assert audit.verify_chain(s) == (2 + stored, None)
