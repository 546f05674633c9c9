"""Record and query AuditEvents.

Successful reads and writes are recorded in the request's own unit of work, so a write and its
audit entry commit or roll back together. Denials are recorded in a separate transaction that
commits at once: the request itself fails, but the attempt must stay on the record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import psycopg
from sqlalchemy import Table, Uuid, bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RootTransaction
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from hindfoot.audit import chain
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import AuditChainHead, AuditEvent, Organization, Patient

READ, CREATE, UPDATE, DELETE, EXECUTE = "R", "C", "U", "D", "E"
SUCCESS, DENIED, ERROR = "0", "4", "8"


def record(
    db: Session,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    *,
    patient_id: uuid.UUID | None = None,
    outcome: str = SUCCESS,
    description: str = "",
    organization_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add an event to `db`'s unit of work. Its organisation is the actor's; without an actor, the one
    given, else the patient's, else the clinic this server runs (the one anonymous visitors meet)."""
    if actor is not None:
        organization_id = actor.organization_id
    if organization_id is None and patient_id is not None:
        patient = db.get(Patient, patient_id)
        organization_id = patient.organization_id if patient is not None else None
    if organization_id is None:
        organization_id = home_organization_id(db)
    event = AuditEvent(
        recorded_at=utcnow(),  # when it happened, not when the unit of work flushes
        organization_id=organization_id,
        user_id=actor.user_id if actor else None,
        user_email=actor.email if actor else None,
        user_role=actor.role if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        patient_id=patient_id,
        outcome=outcome,
        description=description[:500],
        source_ip=actor.source_ip if actor else None,
        path=actor.path[:300] if actor and actor.path else None,
    )
    db.add(event)
    return event


def home_organization_id(db: Session) -> uuid.UUID | None:
    """The first clinic set up on this server: where anonymous visitors book and sign in."""
    return db.scalar(select(Organization.id).order_by(Organization.created_at, Organization.id).limit(1))


# --------------------------------------------------------------------------- the hash chain

_PENDING = "hindfoot.audit_unchained"


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context: object, instances: object) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.hash is None]
    if new:
        session.info.setdefault(_PENDING, []).extend(new)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: object) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _chain_on_commit(session: Session) -> None:
    """Link the transaction's new events onto the chain just before it commits. Locking the head row
    (an UPDATE: a row lock on PostgreSQL, the write lock on SQLite) makes concurrent committers queue
    for the few milliseconds between here and their commit, so links never fork.

    Events not flushed yet are linked before their INSERT, so they are written once, hash included;
    only events an earlier flush wrote (collected by :func:`_collect`) need an UPDATE."""
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    pending += [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.hash is None]
    if not pending:
        return  # the commit flushes whatever else is pending
    append(session, pending)


def _column_defaults(e: AuditEvent) -> None:
    """The values a flush would give an event not written yet, so its hash covers what is stored."""
    if e.id is None:
        e.id = uuid.uuid4()
    if e.recorded_at is None:
        e.recorded_at = utcnow()
    if e.outcome is None:
        e.outcome = SUCCESS
    if e.description is None:
        e.description = ""


# Built once: every audited request runs these (a no-op UPDATE takes the head's row lock and reads it).
_HEAD = cast(Table, AuditChainHead.__table__)
_LOCK_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq).returning(_HEAD.c.seq, _HEAD.c.hash)
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev"),
                                                         hash=bindparam("new_hash"))

# PostgreSQL: ONE statement links one event: it moves the head (or, on a fresh or wiped table, creates it
# after the last chained event) and computes the link's hash on the server, over the same text
# chain.payload builds (the same SHA-256). The head keeps the hash it moved from (prev_hash), so the event
# gets its previous hash from the same row version, whoever committed last. Sent with the COMMIT in one
# pipeline, the head's row lock is held for no client round trip at all. The driver's SQL (psycopg).
def _link_hash_sql(seq: str, prev: str) -> str:
    return (f"encode(sha256(convert_to('[' || ({seq}) || ',\"' || {prev} || '\",' || CAST(%(body)s AS text) || ']', "
            "'UTF8')), 'hex')")


_LINK_HEAD_PG = (
    "WITH last AS (SELECT seq, hash FROM audit_event WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1), "
    "head AS (INSERT INTO audit_chain_head AS h (id, seq, prev_hash, hash) "
    f"SELECT 1, s.seq + 1, s.hash, {_link_hash_sql('s.seq + 1', 's.hash')} "
    "FROM (SELECT COALESCE((SELECT seq FROM last), 0) AS seq, COALESCE((SELECT hash FROM last), '') AS hash) s "
    f"ON CONFLICT (id) DO UPDATE SET seq = h.seq + 1, prev_hash = h.hash, hash = {_link_hash_sql('h.seq + 1', 'h.hash')} "
    "RETURNING seq, prev_hash, hash) "
)
_EVENT_COLUMNS = ("id", *chain.FIELDS)
_PG_TYPES = {name: ("uuid" if isinstance(c.type, Uuid) else "timestamptz" if name == "recorded_at" else "text")
             for name, c in AuditEvent.__table__.c.items() if name in _EVENT_COLUMNS}
_INSERT_LINKED_PG = (
    _LINK_HEAD_PG + "INSERT INTO audit_event (" + ", ".join(_EVENT_COLUMNS) + ", seq, prev_hash, hash) "
    "SELECT " + ", ".join(f"CAST(%({name})s AS {_PG_TYPES[name]})" for name in _EVENT_COLUMNS)
    + ", head.seq, head.prev_hash, head.hash FROM head RETURNING seq, prev_hash, hash"
)
_UPDATE_LINKED_PG = (
    _LINK_HEAD_PG + "UPDATE audit_event SET seq = head.seq, prev_hash = head.prev_hash, hash = head.hash FROM head "
    "WHERE audit_event.id = %(id)s RETURNING audit_event.seq, audit_event.prev_hash, audit_event.hash"
)


def append(session: Session, events: list[AuditEvent]) -> None:
    """Link `events` onto the chain (head row locked) and flush: new events are inserted with their
    hash, already-written ones updated."""
    for e in events:
        _column_defaults(e)
    # Core statements on the session's connection: the head is a plain row, no ORM object to sync.
    conn = session.connection()
    if len(events) == 1 and conn.dialect.name == "postgresql":
        _link_one(session, events[0])
        return
    head = conn.execute(_LOCK_HEAD).first()
    if head is None:  # a fresh or wiped table: start after the last chained event, if any
        with session.no_autoflush:  # unwritten events stay unwritten until they carry their hash
            last = session.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.prev_hash)
                                   .where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc()).limit(1)).first()
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        conn.execute(insert(_HEAD).values(id=1, seq=last[0] if last else 0, hash=last[1] if last else chain.GENESIS,
                                          prev_hash=(last[2] or "") if last else "")
                     .on_conflict_do_nothing(index_elements=["id"]))  # a concurrent first writer may win
        head = conn.execute(_LOCK_HEAD).first()
        assert head is not None
    seq, prev = head[0], head[1]
    before = prev
    for e in sorted(events, key=lambda e: (e.recorded_at, str(e.id))):
        seq += 1
        e.seq, e.prev_hash = seq, prev
        before, e.hash = prev, chain.link_hash(seq, prev, {name: getattr(e, name) for name in chain.FIELDS})
        prev = e.hash
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_prev": before, "new_hash": prev})
    session.flush()


def _link_one(session: Session, e: AuditEvent) -> None:
    """PostgreSQL, one event: link it (and insert it, if no flush wrote it yet) in ONE statement, after
    everything else the transaction holds is flushed.

    When this hook is the last thing before the session's own COMMIT (the outermost transaction, the last
    ``before_commit`` listener), the COMMIT is sent in the same pipeline: the chain's head is locked and
    released by the server without waiting for this process in between. The session's COMMIT then finds
    the connection's transaction already ended (psycopg's ``commit()`` on an idle connection is a no-op).
    If the statement fails, the COMMIT is skipped with it and the error propagates: the session rolls back."""
    unwritten = e in session.new
    if unwritten:
        session.expunge(e)  # written below, hash included: the flush must not insert it again
    session.flush()  # the rest first (an event may name a user account this transaction adds)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a checked-out connection always has its driver's
    body = chain.body_json({name: getattr(e, name) for name in chain.FIELDS})
    if unwritten:
        sql, params = _INSERT_LINKED_PG, {"body": body, **{name: getattr(e, name) for name in _EVENT_COLUMNS}}
    else:
        sql, params = _UPDATE_LINKED_PG, {"body": body, "id": e.id}
    commit_too = _commits_next(session)
    try:
        with raw.pipeline():
            cur = raw.execute(sql, params)
            if commit_too:  # as a statement: the pipeline's one Sync covers both (commit() would add its own)
                raw.execute("COMMIT")
    except psycopg.Error as exc:  # as SQLAlchemy would raise it (DataError, OperationalError...), for the error mapping
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
    row = cur.fetchone()
    assert row is not None  # the head is moved or created: the statement always links the event
    if unwritten:
        e.seq, e.prev_hash, e.hash = row[0], row[1], row[2]
    else:  # the row was written behind the ORM's back: the object holds the old values
        set_committed_value(e, "seq", row[0])
        set_committed_value(e, "prev_hash", row[1])
        set_committed_value(e, "hash", row[2])


def _commits_next(session: Session) -> bool:
    """Whether the session's COMMIT follows this hook with nothing else to run or write in between."""
    if session.in_nested_transaction() or session.twophase:
        return False  # a savepoint's release: the transaction goes on (two-phase: prepared first)
    if not _owns_its_transaction(session):
        return False  # a caller's transaction (a session bound to a Connection that began one): not ours to end
    listeners = list(session.dispatch.before_commit)
    return bool(listeners) and listeners[-1] is _chain_on_commit and not (session.new or session.dirty or session.deleted)


def _owns_its_transaction(session: Session) -> bool:
    """Whether the session's COMMIT ends the database transaction: one connection, whose outermost
    transaction the session commits (not a savepoint in a caller's transaction, nor a caller's transaction
    joined "rollback only")."""
    trans = session.get_transaction()
    if trans is None:
        return False
    joined = set(trans._connections.values())  # (connection, its transaction, should_commit, autoclose)
    if len(joined) != 1:
        return False
    _conn, db_trans, should_commit, _autoclose = next(iter(joined))
    return bool(should_commit) and isinstance(db_trans, RootTransaction) and db_trans.is_active


def verify_chain(db: Session, *, progress: Callable[[int], object] | None = None) -> tuple[int, chain.Broken | None]:
    """Walk the whole trail in sequence: (events that hold, the first broken link or None).
    `progress(n)` is told of every n events read (for a progress bar)."""
    unchained = db.scalar(select(AuditEvent.id).where(AuditEvent.seq.is_(None)).limit(1))
    if unchained is not None:
        return 0, chain.Broken(None, str(unchained), "the event is not on the chain (no sequence number)")

    def links() -> Iterator[chain.Link]:
        for i, e in enumerate(db.scalars(select(AuditEvent).order_by(AuditEvent.seq)
                                         .execution_options(yield_per=1000)), 1):
            if progress is not None and i % 1000 == 0:
                progress(1000)
            yield chain.Link(id=str(e.id), seq=e.seq, prev_hash=e.prev_hash, hash=e.hash,
                             fields={name: getattr(e, name) for name in chain.FIELDS})

    checked, broken = chain.verify(links())
    if broken is not None:
        return checked, broken
    head = db.get(AuditChainHead, 1)
    if head is not None and head.seq != checked:
        return checked, chain.Broken(head.seq, "-", f"the chain ends at event {checked} but its head says {head.seq} "
                                                    "(events at the end were deleted)")
    return checked, None


def record_denial(
    factory: sessionmaker[Session],
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    *,
    patient_id: uuid.UUID | None = None,
    description: str = "",
) -> None:
    with factory() as db:
        record(db, actor, action, entity_type, entity_id, patient_id=patient_id, outcome=DENIED,
               description=description)
        db.commit()


@dataclass(frozen=True)
class AuditQuery:
    organization_id: uuid.UUID  # an admin sees their own clinic's trail only
    user_email: str | None = None
    patient_id: uuid.UUID | None = None
    outcome: str | None = None
    action: str | None = None
    entity_type: str | None = None  # e.g. Patient, EpisodeOfCare, UserAccount (sign-ins), Registry
    since: datetime | None = None
    limit: int = 100
    offset: int = 0


def entity_types(db: Session, organization_id: uuid.UUID) -> list[str]:
    """The kinds of record the clinic's trail holds, for a filter."""
    return list(db.scalars(select(AuditEvent.entity_type).where(AuditEvent.organization_id == organization_id)
                           .distinct().order_by(AuditEvent.entity_type)))


def search(db: Session, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    stmt = select(AuditEvent).where(AuditEvent.organization_id == query.organization_id)
    if query.user_email:
        stmt = stmt.where(func.lower(AuditEvent.user_email).contains(query.user_email.lower()))
    if query.patient_id:
        stmt = stmt.where(AuditEvent.patient_id == query.patient_id)
    if query.outcome:
        stmt = stmt.where(AuditEvent.outcome == query.outcome)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.entity_type:
        stmt = stmt.where(AuditEvent.entity_type == query.entity_type)
    if query.since:
        stmt = stmt.where(AuditEvent.recorded_at >= query.since)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(AuditEvent.recorded_at.desc(), AuditEvent.id).limit(query.limit).offset(query.offset)
    ).all()
    return list(rows), total
