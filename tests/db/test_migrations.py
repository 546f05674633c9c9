"""The Alembic history builds exactly the models' schema, both ways, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, delete, insert, inspect, table, text

from hindfoot.audit import chain
from hindfoot.audit import service as audit
from hindfoot.db.base import Base
from hindfoot.db.engine import make_engine
from hindfoot.db.migrate import current_revision, downgrade, upgrade
from hindfoot.db.models import AuditChainHead, AuditEvent
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


def test_0016_keeps_an_existing_audit_chain(database_url, engine, session_factory):
    """Migration 0016 gives the chain's head the previous hash of its last link; the chain still verifies
    and new events carry on from it."""
    downgrade(database_url, "0015")
    try:
        old = make_engine(database_url)
        head = table("audit_chain_head", column("id"), column("seq"), column("hash"))
        with old.begin() as conn:
            conn.execute(delete(AuditEvent.__table__))
            conn.execute(delete(head))
            prev, hashes = chain.GENESIS, []
            for seq in (1, 2, 3):
                fields = {"recorded_at": datetime(2026, 12, seq, 9, tzinfo=UTC), "action": "R", "entity_type": "Patient",
                          "outcome": "0", "description": f"read {seq}"}
                link = chain.link_hash(seq, prev, fields)
                conn.execute(insert(AuditEvent.__table__).values(id=uuid.uuid4(), seq=seq, prev_hash=prev, hash=link,
                                                                 **fields))
                prev = link
                hashes.append(link)
            conn.execute(insert(head).values(id=1, seq=3, hash=prev))
        old.dispose()
    finally:
        upgrade(database_url)
    engine.dispose()  # pooled connections prepared statements against the old table
    with session_factory() as s:
        head_row = s.get(AuditChainHead, 1)
        assert head_row is not None and (head_row.seq, head_row.hash, head_row.prev_hash) == (3, hashes[2], hashes[1])
        audit.record(s, None, audit.READ, "Patient", description="after the migration", organization_id=uuid.uuid4())
        s.commit()
    with session_factory() as s:
        assert audit.verify_chain(s) == (4, None)
        head_row = s.get(AuditChainHead, 1)
        assert head_row is not None and head_row.seq == 4 and head_row.prev_hash == hashes[2]


def test_lookups_by_patient_and_episode_read_the_composite_indexes(database_url, engine):
    """Migration 0017 dropped ix_observation_patient_id and ix_questionnaire_response_episode_id: a
    patient's observations and an episode's questionnaire responses are still found through an index
    (the composite that starts with the column), not by reading the whole table."""
    names = {ix["name"] for t in ("observation", "questionnaire_response") for ix in inspect(engine).get_indexes(t)}
    assert "ix_observation_patient_id" not in names and "ix_questionnaire_response_episode_id" not in names
    lookups = {"ix_observation_patient_code": "SELECT id, code FROM observation WHERE patient_id = :x",
               "ix_questionnaire_response_episode_timepoint":
                   "SELECT id FROM questionnaire_response WHERE episode_id = :x"}
    with engine.begin() as conn:
        for index, sql in lookups.items():
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # an empty table: ask for an index plan
                plan = "\n".join(conn.execute(text("EXPLAIN " + sql), {"x": uuid.uuid4()}).scalars())
            else:
                plan = " ".join(str(r) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"x": uuid.uuid4().hex}))
            assert index in plan and "Seq Scan" not in plan and "SCAN observation" not in plan, plan
