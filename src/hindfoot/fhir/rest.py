"""The FHIR RESTful API's reads: read and search (with paging and _include).

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

Where the rest lives: `rows.py` (statements built once, children, a patient's compartment),
`pipeline.py` (running them, several in one round trip), `bundles.py` (paging and entries),
`patient_everything.py` (Patient/$everything).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.errors import AccessDenied, BadRequest, Forbidden, NotFound
from hindfoot.fhir import bundles, scopes
from hindfoot.fhir.mappers.common import utc_text
from hindfoot.fhir.pipeline import batch, run
from hindfoot.fhir.registry import TYPES, ResourceType
from hindfoot.fhir.rows import statement_for, with_children

# Result parameters every search understands; anything else must be a declared search parameter.
CONTROL = ("_count", "_offset", "_include", "_format", "_total")
# A search counts its matches up to here (as the patient list does): Bundle.total is exact up to the cap
# and left out beyond it, unless `_total=accurate` asks for the full count (http://hl7.org/fhir/R4/search.html#total)
COUNT_CAP = 1000
TOTALS = ("none", "estimate", "accurate")


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


def read(db: Session, actor: Actor, type_name: str, ident: str) -> Found:
    rt = resource_type(type_name)
    require_scope(actor, type_name, "r")
    rid = _parse_id(ident)
    rows = with_children(db, rt, run(db, statement_for(type_name, "id").where(rt.scope(actor)), {"id": rid}))
    if not rows:
        if rt.is_patient_data and db.scalar(select(rt.model.id).where(rt.model.id == rid)) is not None:
            raise AccessDenied(f"{type_name} not found", entity_type=type_name, entity_id=rid)
        raise NotFound(f"{type_name}/{ident} is not known")
    found = Found(rt, rows[0], MAPPED.map(rt, rows[0]))
    if found.patient_id is not None:
        audit.record(db, actor, audit.READ, type_name, rid, patient_id=found.patient_id,
                     description=f"FHIR read {type_name}/{rid}")
    return found


def audit_patients(db: Session, actor: Actor, found: Iterable[Found], what: str) -> None:
    counts: dict[uuid.UUID, int] = {}
    for f in found:
        if f.patient_id is not None:
            counts[f.patient_id] = counts.get(f.patient_id, 0) + 1
    for patient_id, n in counts.items():
        audit.record(db, actor, audit.READ, "Bundle", patient_id, patient_id=patient_id,
                     description=f"{what}: {n} resources")


def load(db: Session, actor: Actor, rt: ResourceType, ids: Iterable[uuid.UUID]) -> list[Found]:
    """The resources of one type with these ids that the actor may see (others are left out)."""
    wanted = sorted(set(ids))
    out: list[Found] = []
    scoped = statement_for(rt.name, "ids").where(rt.scope(actor))
    for start in range(0, len(wanted), 500):
        rows = with_children(db, rt, run(db, scoped, {"ids": wanted[start:start + 500]}))
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
    count, offset = bundles.count_and_offset(params)
    table = rt.model.__table__
    total = _total(db, table, conditions, _total_mode(params))
    found: list[Found] = []
    more = False
    if count and (total is None or offset < total):
        # one row past the page says whether a next page exists when the total is not known
        page = select(*table.columns).where(*conditions).order_by(rt.order, table.c.id).limit(count + 1).offset(offset)
        rows = run(db, page, {})
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
        "link": bundles.paging_links(base, type_name, params, offset, count, total, more),
        "entry": [bundles.entry(base, f, "match") for f in found] + [bundles.entry(base, f, "include") for f in included],
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
