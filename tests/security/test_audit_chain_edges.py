"""The audit chain's one-statement link (PostgreSQL: the head moved and the event written in one statement,
sent with the COMMIT) in the cases around it: a deleted head, a listener that runs after the chain's hook,
a session that does not own its transaction, and SQLAlchemy's own COMMIT after the pipeline's."""

from __future__ import annotations

import threading
import warnings

import pytest
from factories import make_org, make_patient
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hindfoot.audit import service as audit
from hindfoot.cli.main import app as cli
from hindfoot.db.models import AuditChainHead, AuditEvent, Organization
from hindfoot.settings import get_settings


@pytest.fixture(autouse=True)
def cli_env(database_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HINDFOOT_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _verified(s: Session, events: int) -> bool:
    """The chain holds `events` events, by the service and by `hindfoot audit verify`."""
    assert audit.verify_chain(s) == (events, None)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and f"intact: {events} audit events" in result.output, result.output
    return True


def _read(s: Session, patient_id: object, description: str = "") -> AuditEvent:
    return audit.record(s, None, audit.READ, "Patient", patient_id, patient_id=patient_id,  # type: ignore[arg-type]
                        description=description)


def _driver_in_transaction(s: Session) -> bool:
    """Whether the driver's connection (not SQLAlchemy's view of it) is inside a transaction."""
    raw = s.connection().connection.driver_connection
    if s.get_bind().dialect.name == "postgresql":
        return bool(raw.info.transaction_status.name == "INTRANS")
    return bool(raw.in_transaction)


def _setup(db: Session, session_factory, events: int = 3):  # type: ignore[no-untyped-def]
    org = make_org(db)
    patient = make_patient(db, org)
    db.commit()
    for i in range(events):
        with session_factory() as s:
            _read(s, patient.id, f"read {i}")
            s.commit()
    return patient


def _head(session_factory) -> tuple[int, str, str] | None:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        head = s.get(AuditChainHead, 1)
        return None if head is None else (head.seq, head.hash, head.prev_hash)


def _last(session_factory) -> AuditEvent:  # type: ignore[no-untyped-def]
    with session_factory() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()


@pytest.mark.parametrize("batch", [1, 2], ids=["one event", "two events"])
def test_a_deleted_head_is_rebuilt_from_the_last_event_and_writes_go_on(session_factory, db, batch):
    """The head row deleted while chained events remain: the next commit starts after the last chained
    event (as on a fresh table), every later write succeeds, and the chain verifies."""
    patient = _setup(db, session_factory)
    db.execute(delete(AuditChainHead))
    db.commit()
    for i in range(3):
        with session_factory() as s:
            events = [_read(s, patient.id, f"after {i}.{n}") for n in range(batch)]
            s.commit()
            assert all(e.seq is not None for e in events)
    with session_factory() as s:
        assert _verified(s, 3 + 3 * batch)
    last = _last(session_factory)
    assert _head(session_factory) == (last.seq, last.hash, last.prev_hash)


def test_a_deleted_head_and_an_event_written_without_its_hash(session_factory, db):
    """The UPDATE form of the link (an event an earlier flush wrote) rebuilds a deleted head too."""
    patient = _setup(db, session_factory)
    db.execute(delete(AuditChainHead))
    db.commit()
    with session_factory() as s:
        e = _read(s, patient.id, "flushed first")
        s.flush()
        s.commit()
        assert e.seq == 4
    with session_factory() as s:
        assert _verified(s, 4)


def test_a_before_commit_listener_after_the_chain_hook_runs_and_its_writes_are_kept(session_factory, db):
    """A listener added after the chain's hook runs between it and the COMMIT: the COMMIT must then not be
    sent early with the link (it would commit before the listener's write, which would be lost or land in a
    transaction of its own). What the listener adds is stored with the event, and the chain verifies."""
    patient = _setup(db, session_factory, events=1)
    seen: list[bool] = []

    def late(session: Session) -> None:
        seen.append(_driver_in_transaction(session))
        session.add(Organization(name="Added by a late listener"))

    event.listen(Session, "before_commit", late)
    try:
        with session_factory() as s:
            _read(s, patient.id, "with a late listener")
            s.commit()
    finally:
        event.remove(Session, "before_commit", late)
    assert seen == [True]  # the listener ran inside the transaction: nothing was committed before it
    with session_factory() as s:
        assert s.scalar(select(Organization).where(Organization.name == "Added by a late listener")) is not None
        assert _verified(s, 2)


def test_a_late_listener_that_fails_rolls_back_the_link_too(session_factory, db):
    """If a listener after the chain's hook raises, nothing of the transaction is stored: the event
    is not linked, the head did not move, and the next write continues the chain."""
    patient = _setup(db, session_factory, events=1)
    head_before = _head(session_factory)

    def failing(session: Session) -> None:
        raise RuntimeError("a late listener refuses")

    event.listen(Session, "before_commit", failing)
    try:
        with session_factory() as s:
            s.add(Organization(name="Never stored"))
            _read(s, patient.id, "never stored")
            with pytest.raises(RuntimeError):
                s.commit()
    finally:
        event.remove(Session, "before_commit", failing)
    assert _head(session_factory) == head_before
    with session_factory() as s:
        assert s.scalar(select(Organization).where(Organization.name == "Never stored")) is None
        _read(s, patient.id, "goes on")
        s.commit()
        assert _verified(s, 2)


@pytest.mark.parametrize("mode", ["conditional_savepoint", "create_savepoint", "rollback_only"])
def test_a_session_inside_an_outer_transaction_does_not_commit_it(engine, session_factory, db, mode):
    """A session joined to a transaction its caller began (tests, scripts) does not own the COMMIT: the
    link must not commit the caller's transaction, which rolls back everything, event included."""
    if mode == "create_savepoint" and engine.dialect.name == "sqlite":
        pytest.skip("pysqlite's own transaction handling does not keep a SAVEPOINT in a caller's transaction")
    patient = _setup(db, session_factory, events=1)
    with engine.connect() as conn:
        outer = conn.begin()
        s = Session(bind=conn, join_transaction_mode=mode)
        s.add(Organization(name="Rolled back by the caller"))
        _read(s, patient.id, "rolled back by the caller")
        s.commit()
        s.close()
        outer.rollback()
    with session_factory() as s:
        assert s.scalar(select(Organization).where(Organization.name == "Rolled back by the caller")) is None
        assert _verified(s, 1)
        _read(s, patient.id, "goes on")
        s.commit()
        assert _verified(s, 2)


def test_the_sessions_own_commit_after_the_pipelines_is_silent_and_keeps_everything(session_factory, db):
    """On PostgreSQL the COMMIT goes with the link; SQLAlchemy's COMMIT then finds the transaction ended.
    No warning in Python, no notice from the server ("there is no transaction in progress"), every row
    stored, and the session and its connection usable at once for the next transaction."""
    patient = _setup(db, session_factory, events=1)
    notices: list[str] = []
    with session_factory() as s, warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = s.connection().connection.driver_connection
        postgres = s.get_bind().dialect.name == "postgresql"
        if postgres:
            raw.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        s.add(Organization(name="Kept"))
        _read(s, patient.id, "kept")
        s.commit()
        if postgres:
            assert raw.info.transaction_status.name == "IDLE"
        _read(s, patient.id, "next transaction, same session")
        s.commit()
    assert notices == []
    with session_factory() as s:
        assert s.scalar(select(Organization).where(Organization.name == "Kept")) is not None
        assert _verified(s, 3)


def test_writers_racing_to_rebuild_a_deleted_head_keep_one_chain(session_factory, db):
    """Several single-event writers find the head deleted at once: one rebuilds it after the last event,
    the others queue behind it (ON CONFLICT ... DO UPDATE waits for the row), no duplicate sequence number."""
    patient = _setup(db, session_factory)
    db.execute(delete(AuditChainHead))
    db.commit()
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                with session_factory() as s:
                    _read(s, patient.id, f"writer {n} read {i}")
                    s.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        assert _verified(s, 23)
