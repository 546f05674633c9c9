"""Session hooks that keep the registry (`hindfoot.db.models.registry`) in step with every ORM write.

Every flush that changes an Observation, a QuestionnaireResponse, a Procedure, a conservative-care
PathwayEvent, an episode's patient / organisation / start, or a patient's sport or restriction
notes the affected episodes; just before the transaction commits (or when it reads the dashboard
itself, `apply_pending`) their rows are rebuilt and the totals moved (`hindfoot.db.registry_sync`),
in that transaction. Deleting an episode or a patient through the ORM subtracts its shares first.

The listeners are registered on `Session` when this module is imported, which
`hindfoot.db.models` does once, after the models (so the order relative to the other hooks is
fixed: the before-commit hook is inserted ahead of the audit chain's).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

# the module, not its names: it imports the models, whose package imports this module
from hindfoot.db import registry_sync
from hindfoot.db.models.audit import AuditEvent
from hindfoot.db.models.episode import EpisodeOfCare, PathwayEvent
from hindfoot.db.models.observation import Observation
from hindfoot.db.models.patient import Patient
from hindfoot.db.models.procedure import Procedure
from hindfoot.db.models.questionnaire import QuestionnaireResponse
from hindfoot.db.models.registry import RTS_CODES, RegistryEpisode, RegistryScore
from hindfoot.outcomes import tallies

__all__ = ["apply_pending"]

_CHUNK: Final = 500


# what, when it changes, moves an episode in the registry (besides being added or deleted)
_WATCHED: Final[dict[type[Any], tuple[str, ...]]] = {
    Observation: ("code", "value_quantity", "value_string", "effective_at", "episode_id", "questionnaire_response_id"),
    QuestionnaireResponse: ("status", "timepoint", "episode_id"),
    Procedure: ("code", "status", "performed_at", "complication", "episode_id"),
    PathwayEvent: ("to_stage", "recorded_at", "episode_id"),
}


def _touched(session: Session) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(episodes, patients whose every episode) the flushed changes move in the registry."""
    episodes: set[uuid.UUID] = set()
    patients: set[uuid.UUID] = set()
    for bucket, dirty in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for obj in bucket:
            if isinstance(obj, EpisodeOfCare):
                keys = ("patient_id", "organization_id", "period_start")
                if dirty and not _changed(obj, keys):
                    continue
                episodes.add(obj.id)
                patients.update(v for v in _values(obj, "patient_id") if v is not None)
                continue
            if isinstance(obj, Patient):
                if dirty and _changed(obj, ("sport", "restricted_at")):
                    patients.add(obj.id)
                continue
            watched = _WATCHED.get(type(obj))
            if watched is None or (dirty and not _changed(obj, watched)):
                continue
            if not dirty and isinstance(obj, Observation):
                codes = _values(obj, "code")
                responses = _values(obj, "questionnaire_response_id")
                if not (any(c in RTS_CODES for c in codes) or any(v is not None for v in responses)):
                    continue
            if not dirty and isinstance(obj, PathwayEvent) and "conservative_care" not in _values(obj, "to_stage"):
                continue
            episodes.update(v for v in _values(obj, "episode_id") if v is not None)
    return episodes, patients


def _changed(obj: Any, keys: Iterable[str]) -> bool:
    for key in keys:
        h = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
        if h.added or h.deleted:
            return True
    return False


def _values(obj: Any, key: str) -> list[Any]:
    history = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
    return [*history.added, *history.unchanged, *history.deleted]


# A flush only notes which episodes it touched; the transaction brings their rows and the totals
# up to date once, just before it commits (`apply_pending`, also run by any reader of the registry
# inside a writing transaction). The totals are hot rows (every ballet patient's 6-week FAOS adds to
# the same one): this way their locks are held only for the commit, taken under the clinic's
# registry lock before the audit chain's head (every committer in that order: no deadlock), and a
# transaction of many flushes (the demo loader) refreshes each episode once. Deleted episodes are
# the exception: their rows say where they counted, so they leave the totals before the flush
# deletes them (`_forget_deleted`). A rolled-back savepoint drops the moves made inside it and
# marks everything refreshed so far for refreshing again (refreshing is idempotent).
_TOUCHED: Final = "hindfoot.registry_touched"  # (episode ids, patient ids) to refresh
_REFRESHED: Final = "hindfoot.registry_refreshed"  # (episode ids, patient ids) refreshed in this transaction
_PENDING: Final = "hindfoot.registry_pending"  # [(transaction, totals move)] not applied yet


def _ids(session: Session, key: str) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    got: tuple[set[uuid.UUID], set[uuid.UUID]] = session.info.setdefault(key, (set(), set()))
    return got


def _defer(session: Session, delta: tallies.Tally) -> None:
    if any(any(v) for v in delta.values()):
        tx = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).append((tx, delta))


@event.listens_for(Session, "before_flush")
def _forget_deleted(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Episodes about to go (with their patient or on their own) leave the totals while their rows
    still say where they counted; their patients' other episodes are refreshed later."""
    episodes = {obj.id for obj in session.deleted if isinstance(obj, EpisodeOfCare) and obj.id is not None}
    patients = {obj.id for obj in session.deleted if isinstance(obj, Patient) and obj.id is not None}
    if not (episodes or patients):
        return
    conn = session.connection()
    if patients:
        e = EpisodeOfCare.__table__.c
        ordered = sorted(patients)
        for i in range(0, len(ordered), _CHUNK):
            episodes.update(conn.scalars(select(e.id).where(e.patient_id.in_(ordered[i: i + _CHUNK]))))
    siblings = {obj.patient_id for obj in session.deleted if isinstance(obj, EpisodeOfCare)} - patients
    _ids(session, _TOUCHED)[1].update(p for p in siblings if p is not None)
    delta: tallies.Tally = {}
    registry_sync.forget_registry(conn, episodes, into=delta)
    _defer(session, delta)


@event.listens_for(Session, "after_flush")
def _note_touched(session: Session, _flush_context: Any) -> None:
    episodes, patients = _touched(session)
    if episodes or patients:
        touched = _ids(session, _TOUCHED)
        touched[0].update(episodes)
        touched[1].update(patients)


def apply_pending(session: Session) -> None:
    """Bring the registry rows of the episodes this transaction touched, and the totals, up to date."""
    touched = session.info.pop(_TOUCHED, None)
    if touched and (touched[0] or touched[1]):
        delta: tallies.Tally = {}
        registry_sync.refresh_registry(session.connection(), touched[0], touched[1], into=delta)
        _defer(session, delta)
        done = _ids(session, _REFRESHED)
        done[0].update(touched[0])
        done[1].update(touched[1])
        for obj in list(session.identity_map.values()):  # loaded rows were rewritten underneath
            if isinstance(obj, RegistryEpisode | RegistryScore):
                session.expire(obj)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    total: tallies.Tally = {}
    for _, part in pending:
        tallies.add_into(total, part)
    registry_sync.add_totals(session.connection(), total)


def _apply_before_commit(session: Session) -> None:
    # Audit events alone are left for the chain's hook, which writes them once, hash included.
    if any(not isinstance(obj, AuditEvent) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.flush()
    apply_pending(session)


event.listen(Session, "before_commit", _apply_before_commit, insert=True)  # before the audit chain's hook


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_REFRESHED, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction: nothing of it stays
        for key in (_TOUCHED, _REFRESHED, _PENDING):
            session.info.pop(key, None)
        return
    # a savepoint: what was refreshed may have been undone with it, so refresh it again
    done = session.info.pop(_REFRESHED, None)
    if done:
        touched = _ids(session, _TOUCHED)
        touched[0].update(done[0])
        touched[1].update(done[1])
    pending = session.info.get(_PENDING)
    if pending:

        def inside(tx: Any) -> bool:
            while tx is not None:
                if tx is previous_transaction:
                    return True
                tx = tx.parent
            return False

        session.info[_PENDING] = [(tx, delta) for tx, delta in pending if not inside(tx)]
