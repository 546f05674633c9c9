"""The FHIR RESTful API's reads: read, search (with paging and _include) and Patient/$everything.

Resources are built as plain dicts straight from the rows (the mappers) and written with orjson;
nothing is validated per request. The tests validate every resource type the server returns with
the R4B models (the output must equal the models' own round trip) and with Medplum's independent
validator instead.

Rows are read as plain column tuples (no ORM objects) by statements built once per type with bound
parameters, run on the session's connection: per request there is no statement building, the
compiled-statement cache answers, and nothing autoflushes (reads see what the transaction has
flushed; the writes flush before they read back). One round trip per type (per related collection).

Every read of patient data is audited in the request's transaction: a read names its patient; a
search or $everything records one entry per patient whose data it returned.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.bounds import MAX_OFFSET
from hindfoot.db.base import utcnow
from hindfoot.db.models import CarePlan, CarePlanActivity, Questionnaire, QuestionnaireResponse
from hindfoot.errors import AccessDenied, BadRequest, Forbidden, NotFound
from hindfoot.fhir import scopes
from hindfoot.fhir.mappers.common import utc_text
from hindfoot.fhir.registry import TYPES, ResourceType
from hindfoot.fhir.search import parse_date_range

DEFAULT_COUNT = 50
MAX_COUNT = 500
# Result parameters every search understands; anything else must be a declared search parameter.
CONTROL = ("_count", "_offset", "_include", "_format", "_total")
# A search counts its matches up to here (as the patient list does): Bundle.total is exact up to the cap
# and left out beyond it, unless `_total=accurate` asks for the full count (http://hl7.org/fhir/R4/search.html#total)
COUNT_CAP = 1000
TOTALS = ("none", "estimate", "accurate")
EVERYTHING_PARAMS = ("_since", "_type", "_count", "_offset", "_format")


@dataclass(frozen=True)
class Found:
    """A resource and the row it came from (for its patient and version)."""

    type: ResourceType
    row: Any
    resource: dict[str, Any]

    @property
    def patient_id(self) -> uuid.UUID | None:
        if self.type.patient_column is None:
            return None
        return self.row.id if self.type.name == "Patient" else self.row.patient_id


class MappedCache:
    """Resources already built, by (type, id, last update): a row that has not changed maps to the
    same JSON, so a repeated read of a record skips the mapping. Bounded; the oldest go first.
    Entries are shared and never mutated (the API serialises them as they are)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, Any, Any, Any], dict[str, Any]] = OrderedDict()

    def map(self, rt: ResourceType, row: Any) -> dict[str, Any]:
        updated = getattr(row, "updated_at", None)
        if updated is None:
            return rt.mapper(row)
        # a response's answer displays come from its questionnaire: that version is part of the key
        key = (rt.name, row.id, updated, getattr(getattr(row, "questionnaire", None), "updated_at", None))
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            return hit
        resource = self.entries[key] = rt.mapper(row)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return resource


MAPPED = MappedCache()


def resource_type(name: str) -> ResourceType:
    try:
        return TYPES[name]
    except KeyError:
        raise NotFound(f"this server does not serve {name} resources") from None


PERMISSION_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def may(actor: Actor, type_name: str, permission: str) -> bool:
    """Whether a SMART token's scopes allow this (a signed-in session: always; its role limits it)."""
    return actor.scopes is None or scopes.permits(actor.scopes, type_name, permission)


def require_scope(actor: Actor, type_name: str, permission: str) -> None:
    if not may(actor, type_name, permission):
        raise Forbidden(f"the access token's scopes do not allow {PERMISSION_WORDS[permission]} on {type_name}",
                        field="scope")


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no resource with id {value!r}") from None


# ------------------------------------------------------------------------- rows, statements built once
@cache
def _statement(type_name: str, key: str, since: bool = False) -> Select[Any]:
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


def _rows(db: Session, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """A statement's rows, run on the session's connection (no ORM layer, no autoflush)."""
    return list(db.connection().execute(stmt, params).all())


def read(db: Session, actor: Actor, type_name: str, ident: str) -> Found:
    rt = resource_type(type_name)
    require_scope(actor, type_name, "r")
    rid = _parse_id(ident)
    rows = with_children(db, rt, _rows(db, _statement(type_name, "id").where(rt.scope(actor)), {"id": rid}))
    if not rows:
        if rt.is_patient_data and db.scalar(select(rt.model.id).where(rt.model.id == rid)) is not None:
            raise AccessDenied(f"{type_name} not found", entity_type=type_name, entity_id=rid)
        raise NotFound(f"{type_name}/{ident} is not known")
    found = Found(rt, rows[0], MAPPED.map(rt, rows[0]))
    if found.patient_id is not None:
        audit.record(db, actor, audit.READ, type_name, rid, patient_id=found.patient_id,
                     description=f"FHIR read {type_name}/{rid}")
    return found


def _count(params: Sequence[tuple[str, str]]) -> tuple[int, int]:
    values = dict(params)
    try:
        count = int(values.get("_count", DEFAULT_COUNT))
        offset = int(values.get("_offset", 0))
    except ValueError:
        raise BadRequest("_count and _offset must be whole numbers", field="_count") from None
    if count < 0 or offset < 0:
        raise BadRequest("_count and _offset cannot be negative", field="_count")
    if offset > MAX_OFFSET:
        raise BadRequest(f"_offset must be at most {MAX_OFFSET}", field="_offset")
    return min(count, MAX_COUNT), offset


def _link(base: str, path: str, params: Sequence[tuple[str, str]], offset: int | None = None) -> str:
    kept = [(k, v) for k, v in params if k not in ("_offset", "_format")]
    if offset:
        kept.append(("_offset", str(offset)))
    query = urlencode(kept)
    return f"{base}/{path}" + (f"?{query}" if query else "")


def _links(base: str, path: str, params: Sequence[tuple[str, str]], offset: int, count: int,
           total: int | None, more: bool = False) -> list[dict[str, str]]:
    """Paging links; with no total (not counted, or past the cap) `next` follows a full page that
    has more after it (`more`), and there is no `last`."""
    links = [{"relation": "self", "url": _link(base, path, params, offset)},
             {"relation": "first", "url": _link(base, path, params, 0)}]
    if count and offset > 0:
        links.append({"relation": "previous", "url": _link(base, path, params, max(0, offset - count))})
    if count and (offset + count < total if total is not None else more):
        links.append({"relation": "next", "url": _link(base, path, params, offset + count)})
    if count and total is not None:
        links.append({"relation": "last", "url": _link(base, path, params, ((max(total, 1) - 1) // count) * count)})
    return links


def _entry(base: str, found: Found, mode: str) -> dict[str, Any]:
    return {"fullUrl": f"{base}/{found.type.name}/{found.row.id}", "resource": found.resource,
            "search": {"mode": mode}}


def audit_patients(db: Session, actor: Actor, found: Iterable[Found], what: str) -> None:
    counts: dict[uuid.UUID, int] = {}
    for f in found:
        if f.patient_id is not None:
            counts[f.patient_id] = counts.get(f.patient_id, 0) + 1
    for patient_id, n in counts.items():
        audit.record(db, actor, audit.READ, "Bundle", patient_id, patient_id=patient_id,
                     description=f"{what}: {n} resources")


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
        versions = _rows(db, _QUESTIONNAIRE_VERSIONS, {"ids": sorted(ids)})
    out: dict[uuid.UUID, SimpleNamespace] = {}
    for qid, updated in versions:
        questionnaire = _QUESTIONNAIRES.get((qid, updated))
        if questionnaire is None:
            if len(_QUESTIONNAIRES) > 64:
                _QUESTIONNAIRES.clear()
            row = _rows(db, _QUESTIONNAIRE, {"id": qid})[0]
            questionnaire = _QUESTIONNAIRES[(qid, updated)] = SimpleNamespace(**row._asdict())
        out[qid] = questionnaire
    return out


def with_children(db: Session, rt: ResourceType, rows: list[Any], children: list[Any] | None = None) -> list[Any]:
    """The rows with the children two mappers need, one query per collection: a care plan's
    activities, a response's questionnaire. `children`: those rows (activities, or questionnaire
    versions), when the caller has read them already."""
    if rt.name == "CarePlan" and rows:
        if children is None:
            children = _rows(db, _ACTIVITIES, {"ids": [r.id for r in rows]})
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
    return with_children(db, rt, _rows(db, stmt, {}))


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
        queries.append((_statement(name, "patient", changed), {"pid": pid, "since": since} if changed else {"pid": pid}))
        if name in _CHILDREN:
            queries.append((_CHILDREN[name], {"pid": pid}))
    results = iter(batch(db, queries))
    out: dict[str, list[Any]] = {}
    for name in names:
        rows = next(results)
        children = next(results) if name in _CHILDREN else None
        out[name] = with_children(db, TYPES[name], rows, children)
    return out


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: dict[str, Any]  # bound parameter -> its type's bind processor (or None)
    columns: tuple[Any, ...]  # the selected columns' types, in order
    names: tuple[str, ...]
    params: dict[str, Any]  # the values built into the statement (a statement built per request)


_COMPILED: dict[tuple[Any, str], _Compiled] = {}


def _compile(stmt: Any, dialect: Any, *, built_in: bool = False) -> _Compiled:
    """A statement compiled for the driver. A statement built once (a module constant or cached) is
    compiled once per dialect and takes its values as bound parameters; one built for this request
    (`built_in`) carries its values, expanded lists (IN) included, and is compiled each time."""
    key = (stmt, dialect.name)
    if not built_in and key in _COMPILED:
        return _COMPILED[key]
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": built_in})
    binds = {name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()}
    params = dict(compiled.params) if built_in else {}
    for name in params:  # an expanded list's values are `<its name>_<n>`
        if name not in binds:
            binds[name] = binds.get(name.rsplit("_", 1)[0])
    out = _Compiled(compiled.string, binds, tuple(c.type for c in stmt.selected_columns),
                    tuple(c.key for c in stmt.selected_columns), params)
    if not built_in:
        _COMPILED[key] = out
    return out


def batch(db: Session, queries: Sequence[tuple[Any, dict[str, Any] | None]]) -> list[list[Any]]:
    """The rows of several independent statements (plain columns, no ORM objects). A statement
    comes with its bound parameters, or with None when it was built for this request with its values.

    On PostgreSQL (psycopg) they are sent together in one pipeline and their answers read back after
    one synchronisation: one network round trip for all of them, not one each. The driver's values
    go through each column type's result processor, as SQLAlchemy's own results do (UTC datetimes).
    Elsewhere (SQLite, in process) they run one after another on the session's connection."""
    conn = db.connection()
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg" or len(queries) < 2:
        return [_rows(db, stmt, params or {}) for stmt, params in queries]
    raw = conn.connection.driver_connection
    assert raw is not None
    compiled = [_compile(stmt, conn.dialect, built_in=params is None) for stmt, params in queries]
    cursors = []
    with raw.pipeline():
        for c, (_, params) in zip(compiled, queries, strict=True):
            values = c.params if params is None else params
            cursor = raw.cursor()
            cursor.execute(c.sql, {k: (c.binds[k](v) if c.binds.get(k) else v) for k, v in values.items()})
            cursors.append(cursor)
    out: list[list[Any]] = []
    for c, cursor in zip(compiled, cursors, strict=True):
        codes = tuple(d.type_code for d in cursor.description or ())
        processors = _processors(c.columns, codes, conn.dialect)
        record = _record(c.names)
        out.append([record(*(p(v) if p else v for p, v in zip(processors, values, strict=True)))
                    for values in cursor.fetchall()])
        cursor.close()
    return out


_PROCESSORS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _processors(columns: tuple[Any, ...], codes: tuple[int, ...], dialect: Any) -> tuple[Any, ...]:
    """Each column type's result processor for the driver's type code (None: the value as it is)."""
    key = (*columns, *codes, dialect.name)
    processors = _PROCESSORS.get(key)
    if processors is None:
        if len(_PROCESSORS) > 256:
            _PROCESSORS.clear()
        processors = _PROCESSORS[key] = tuple(t.dialect_impl(dialect).result_processor(dialect, code)
                                              for t, code in zip(columns, codes, strict=True))
    return processors


@cache
def _record(names: tuple[str, ...]) -> Any:
    """A row class with the columns as attributes (and `_asdict`, as SQLAlchemy's rows have)."""
    return namedtuple("Row", names)  # type: ignore[misc]  # noqa: PYI024


def load(db: Session, actor: Actor, rt: ResourceType, ids: Iterable[uuid.UUID]) -> list[Found]:
    """The resources of one type with these ids that the actor may see (others are left out)."""
    wanted = sorted(set(ids))
    out: list[Found] = []
    scoped = _statement(rt.name, "ids").where(rt.scope(actor))
    for start in range(0, len(wanted), 500):
        rows = with_children(db, rt, _rows(db, scoped, {"ids": wanted[start:start + 500]}))
        out += [Found(rt, row, MAPPED.map(rt, row)) for row in rows]
    return out


def load_many(db: Session, actor: Actor, wanted: dict[str, set[uuid.UUID]]) -> list[Found]:
    """The resources of several types by id that the actor may see, all read together (:func:`batch`)."""
    queries: list[tuple[Any, dict[str, Any] | None]] = []
    kinds: list[ResourceType] = []
    for kind, ids in wanted.items():
        rt, ordered = TYPES[kind], sorted(ids)
        table = rt.model.__table__
        for start in range(0, len(ordered), 500):
            queries.append((select(*table.columns).where(table.c.id.in_(ordered[start:start + 500]), rt.scope(actor))
                            .order_by(rt.order, table.c.id), None))
            kinds.append(rt)
    out: list[Found] = []
    for rt, rows in zip(kinds, batch(db, queries), strict=True):
        out += [Found(rt, row, MAPPED.map(rt, row)) for row in with_children(db, rt, rows)]
    return out


def _includes(db: Session, actor: Actor, rt: ResourceType, found: list[Found], values: list[str],
              seen: set[tuple[str, str]]) -> list[Found]:
    out: list[Found] = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (2, 3) or parts[0] != rt.name or parts[1] not in rt.includes:
            allowed = ", ".join(f"{rt.name}:{p}" for p in rt.includes) or "none"
            raise BadRequest(f"_include={value} is not supported here (supported: {allowed})", field="_include")
        param = rt.params[parts[1]]
        targets = param.target if len(parts) == 2 else (parts[2],)
        key = param.column.key
        ids = {getattr(f.row, key) for f in found if getattr(f.row, key, None) is not None}
        for target in targets:
            if target not in param.target:
                raise BadRequest(f"_include={value}: {parts[1]} does not point to {target}", field="_include")
            if not may(actor, target, "r"):
                continue  # the token may not read that type: included resources are left out
            for inc in load(db, actor, TYPES[target], ids):
                if (target, str(inc.row.id)) not in seen:
                    seen.add((target, str(inc.row.id)))
                    out.append(inc)
    return out


def search(db: Session, actor: Actor, type_name: str, params: Sequence[tuple[str, str]], base: str) -> dict[str, Any]:
    rt = resource_type(type_name)
    require_scope(actor, type_name, "s")
    conditions = [rt.scope(actor)]
    for name, value in params:
        if name in CONTROL:
            continue
        if name not in rt.params:
            known = ", ".join(sorted(rt.params))
            raise BadRequest(f"{type_name} has no search parameter {name!r} (known: {known})", field=name)
        conditions.append(rt.params[name].clause(value))
    count, offset = _count(params)
    table = rt.model.__table__
    total = _total(db, table, conditions, _total_mode(params))
    found: list[Found] = []
    more = False
    if count and (total is None or offset < total):
        # one row past the page says whether a next page exists when the total is not known
        page = select(*table.columns).where(*conditions).order_by(rt.order, table.c.id).limit(count + 1).offset(offset)
        rows = _rows(db, page, {})
        more = len(rows) > count
        found = [Found(rt, row, MAPPED.map(rt, row)) for row in with_children(db, rt, rows[:count])]
    seen = {(rt.name, str(f.row.id)) for f in found}
    included = _includes(db, actor, rt, found, [v for k, v in params if k == "_include"], seen)
    audit_patients(db, actor, [*found, *included], f"FHIR search {type_name}")
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": utc_text(utcnow())},
        "type": "searchset",
        **({} if total is None else {"total": total}),
        "link": _links(base, type_name, params, offset, count, total, more),
        "entry": [_entry(base, f, "match") for f in found] + [_entry(base, f, "include") for f in included],
    }


def _total_mode(params: Sequence[tuple[str, str]]) -> str:
    mode = dict(params).get("_total", "estimate")
    if mode not in TOTALS:
        raise BadRequest(f"_total must be one of {', '.join(TOTALS)}, not {mode!r}", field="_total")
    return mode


def _total(db: Session, table: Any, conditions: Sequence[Any], mode: str) -> int | None:
    """Bundle.total: None (left out) for `_total=none`, and beyond `COUNT_CAP` matches unless `accurate`.
    The capped count stops reading at the cap + 1st match, so a search that matches most of a large
    registry costs no more to count than one that matches a thousand."""
    if mode == "none":
        return None
    matches = select(table.c.id).where(*conditions)
    if mode != "accurate":
        matches = matches.limit(COUNT_CAP + 1)
    total = db.connection().scalar(select(func.count()).select_from(matches.subquery())) or 0
    return None if mode != "accurate" and total > COUNT_CAP else total


# ------------------------------------------------------------------------------ $everything
SKIP_KEYS = frozenset(("text", "meta", "coding", "extension", "item", "identifier", "telecom", "valueQuantity"))


def references(resource: Any, out: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every relative `Type/id` reference inside a resource (narrative, codings, answers and other
    parts that never hold a reference are not walked)."""
    if isinstance(resource, dict):
        ref = resource.get("reference")
        if isinstance(ref, str) and ref.count("/") == 1:
            kind, ident = ref.split("/")
            out.add((kind, ident))
        for key, value in resource.items():
            if key not in SKIP_KEYS and isinstance(value, dict | list):
                references(value, out)
    elif isinstance(resource, list):
        for value in resource:
            if isinstance(value, dict | list):
                references(value, out)
    return out


# The tables outside the patient compartment a record points to, by their foreign keys
DIRECTORY_TABLES = {"practitioner": "Practitioner", "location": "Location", "organization": "Organization",
                    "schedule": "Schedule", "slot": "Slot"}


def _pointers(rt: ResourceType) -> list[tuple[str, str]]:
    """(column, resource type) of every foreign key of `rt`'s table into the directory."""
    return [(fk.parent.name, DIRECTORY_TABLES[fk.column.table.name]) for fk in rt.model.__table__.foreign_keys
            if fk.column.table.name in DIRECTORY_TABLES]


def closure(db: Session, actor: Actor, found: list[Found], types: set[str] | None) -> list[Found]:
    """Add what the found resources point to outside the patient's compartment (practitioners,
    locations, the organisation, schedules and slots, the questionnaires answered), following the
    rows' foreign keys until nothing points outside the set. Read from the rows, not the JSON."""
    present = {(f.type.name, f.row.id) for f in found}
    extra: list[Found] = []
    # QuestionnaireResponse.questionnaire is a canonical, not a reference: add the definitions too
    questionnaires = {f.row.questionnaire.id: f.row.questionnaire for f in found
                      if f.type.name == "QuestionnaireResponse"}
    if types is None or "Questionnaire" in types:
        qt = TYPES["Questionnaire"]
        for q in questionnaires.values():
            extra.append(Found(qt, q, qt.mapper(q)))
            present.add(("Questionnaire", q.id))
    frontier = found
    pointers = {rt.name: _pointers(rt) for rt in TYPES.values()}
    while frontier:
        wanted: dict[str, set[uuid.UUID]] = {}
        for f in frontier:
            for column, kind in pointers[f.type.name]:
                ident = getattr(f.row, column)
                if ident is not None and (kind, ident) not in present and (types is None or kind in types):
                    wanted.setdefault(kind, set()).add(ident)
        frontier = load_many(db, actor, wanted)
        for kind, ids in wanted.items():
            present.update((kind, i) for i in ids)  # anything not loadable is marked too, so the loop ends
        extra += frontier
    return extra


def everything(db: Session, actor: Actor, patient_id: str, params: Sequence[tuple[str, str]],
               base: str) -> dict[str, Any]:
    """Patient/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html)."""
    for name, _ in params:
        if name not in EVERYTHING_PARAMS:
            raise BadRequest(f"$everything has no parameter {name!r} (known: {', '.join(EVERYTHING_PARAMS)})",
                             field=name)
    values = dict(params)
    since: datetime | None = None
    if "_since" in values:
        _, since, _ = parse_date_range(values["_since"], "_since")
    types: set[str] | None = None
    if "_type" in values:
        types = {t.strip() for t in values["_type"].split(",") if t.strip()}
        unknown = types - set(TYPES)
        if unknown:
            raise BadRequest(f"_type: this server does not serve {', '.join(sorted(unknown))}", field="_type")
    if actor.scopes is not None:  # a SMART token: only the types its scopes may read
        types = {t for t in (types if types is not None else set(TYPES)) if may(actor, t, "r")}
    patient = read(db, actor, "Patient", patient_id)  # authorises (404 + audited denial) and audits
    pid = patient.row.id
    found: list[Found] = [patient] if types is None or "Patient" in types else []
    names = [rt.name for rt in TYPES.values() if rt.patient_column is not None and rt.name != "Patient"
             and (types is None or rt.name in types)]
    for name, rows in compartment(db, names, pid, since).items():
        found += [Found(TYPES[name], row, MAPPED.map(TYPES[name], row)) for row in rows]
    found += closure(db, actor, found, types)
    count, offset = _count(params)
    if "_count" not in values:
        count = len(found)
    page = found[offset:offset + count] if count else []
    audit.record(db, actor, audit.READ, "Bundle", pid, patient_id=pid,
                 description=f"FHIR Patient/$everything: {len(found)} resources")
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": utc_text(utcnow())},
        "type": "searchset",
        "total": len(found),
        "link": _links(base, f"Patient/{pid}/$everything", params, offset, count, len(found)),
        "entry": [_entry(base, f, "match") for f in page],
    }
