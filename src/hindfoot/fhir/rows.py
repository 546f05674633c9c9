"""A resource type's rows as the mappers need them: statements built once, children attached.

Rows are read as plain column tuples (no ORM objects) by statements built once per type with bound
parameters (`statement_for`), run on the session's connection (`pipeline.run`): per request there
is no statement building and the compiled-statement cache answers. Two mappers need children: a
care plan its activities, a response its questionnaire (`with_children`, one query per collection).
A patient's compartment is read in one round trip (`compartment`, `pipeline.batch`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from hindfoot.db.models import CarePlan, CarePlanActivity, Questionnaire, QuestionnaireResponse
from hindfoot.fhir.pipeline import batch, run
from hindfoot.fhir.registry import TYPES, ResourceType


@cache
def statement_for(type_name: str, key: str, since: bool = False) -> Select[Any]:
    """Every column of `type_name`'s rows, newest first, where (bound parameters):
    key "id": the id is :id; "ids": the id is one of :ids; "patient": the patient is :pid (and,
    with `since`, the row changed at or after :since)."""
    rt = TYPES[type_name]
    table = rt.model.__table__
    conditions: list[ColumnElement[bool]]
    if key == "id":
        conditions = [table.c.id == bindparam("id")]
    elif key == "ids":
        conditions = [table.c.id.in_(bindparam("ids", expanding=True))]
    else:
        conditions = [rt.patient_column == bindparam("pid")]
        if since:
            conditions.append(rt.since_column >= bindparam("since"))
    return select(*table.columns).where(*conditions).order_by(rt.order, table.c.id)


_QUESTIONNAIRES: dict[tuple[uuid.UUID, datetime], SimpleNamespace] = {}
_QUESTIONNAIRE_VERSIONS = select(Questionnaire.id, Questionnaire.updated_at).where(
    Questionnaire.id.in_(bindparam("ids", expanding=True)))
_QUESTIONNAIRE = select(*Questionnaire.__table__.columns).where(Questionnaire.id == bindparam("id"))
_ACTIVITIES = (select(*CarePlanActivity.__table__.columns)
               .where(CarePlanActivity.care_plan_id.in_(bindparam("ids", expanding=True)))
               .order_by(CarePlanActivity.position))


def _questionnaires(db: Session, ids: set[uuid.UUID],
                    versions: list[Any] | None = None) -> dict[uuid.UUID, SimpleNamespace]:
    """Questionnaire rows by id; a version's (large) definition is read from the database once.
    `versions`: the (id, updated_at) rows, when the caller has read them already."""
    if versions is None:
        versions = run(db, _QUESTIONNAIRE_VERSIONS, {"ids": sorted(ids)})
    out: dict[uuid.UUID, SimpleNamespace] = {}
    for qid, updated in versions:
        questionnaire = _QUESTIONNAIRES.get((qid, updated))
        if questionnaire is None:
            if len(_QUESTIONNAIRES) > 64:
                _QUESTIONNAIRES.clear()
            row = run(db, _QUESTIONNAIRE, {"id": qid})[0]
            questionnaire = _QUESTIONNAIRES[(qid, updated)] = SimpleNamespace(**row._asdict())
        out[qid] = questionnaire
    return out


def with_children(db: Session, rt: ResourceType, rows: list[Any], children: list[Any] | None = None) -> list[Any]:
    """The rows with the children two mappers need, one query per collection: a care plan's
    activities, a response's questionnaire. `children`: those rows (activities, or questionnaire
    versions), when the caller has read them already."""
    if rt.name == "CarePlan" and rows:
        if children is None:
            children = run(db, _ACTIVITIES, {"ids": [r.id for r in rows]})
        activities: dict[uuid.UUID, list[Any]] = {}
        for act in children:
            activities.setdefault(act.care_plan_id, []).append(act)
        return [SimpleNamespace(**r._asdict(), activities=activities.get(r.id, [])) for r in rows]
    if rt.name == "QuestionnaireResponse" and rows:
        questionnaires = _questionnaires(db, {r.questionnaire_id for r in rows}, children)
        return [SimpleNamespace(**r._asdict(), questionnaire=questionnaires[r.questionnaire_id]) for r in rows]
    return rows


def plain_rows(db: Session, rt: ResourceType, *where: Any) -> list[Any]:
    """Rows as plain column tuples (no ORM objects: several times cheaper for a whole record), with
    their children (:func:`with_children`), for conditions built by the caller (bulk export)."""
    stmt = select(*rt.model.__table__.columns).where(*where).order_by(rt.order, rt.model.id)
    return with_children(db, rt, run(db, stmt, {}))


# ------------------------------------------------------------------ a patient's compartment, one trip
# The children of a compartment's care plans and responses, by patient (so they need not wait for
# the parents' ids): every activity of the patient's care plans, the versions of the questionnaires
# the patient answered.
_PATIENT_ACTIVITIES = (select(*CarePlanActivity.__table__.columns)
                       .join(CarePlan, CarePlan.id == CarePlanActivity.care_plan_id)
                       .where(CarePlan.patient_id == bindparam("pid"))
                       .order_by(CarePlanActivity.position))
_PATIENT_QUESTIONNAIRES = select(Questionnaire.id, Questionnaire.updated_at).where(Questionnaire.id.in_(
    select(QuestionnaireResponse.questionnaire_id).where(QuestionnaireResponse.patient_id == bindparam("pid"))))
_CHILDREN = {"CarePlan": _PATIENT_ACTIVITIES, "QuestionnaireResponse": _PATIENT_QUESTIONNAIRES}


def compartment(db: Session, names: list[str], pid: uuid.UUID, since: datetime | None) -> dict[str, list[Any]]:
    """The rows (with their children) of these compartment types for one patient, changed at or
    after `since` if given: one statement per type, all sent together (:func:`batch`)."""
    queries: list[tuple[Any, dict[str, Any]]] = []
    for name in names:
        changed = since is not None and TYPES[name].since_column is not None
        queries.append((statement_for(name, "patient", changed), {"pid": pid, "since": since} if changed else {"pid": pid}))
        if name in _CHILDREN:
            queries.append((_CHILDREN[name], {"pid": pid}))
    results = iter(batch(db, queries))
    out: dict[str, list[Any]] = {}
    for name in names:
        rows = next(results)
        children = next(results) if name in _CHILDREN else None
        out[name] = with_children(db, TYPES[name], rows, children)
    return out
