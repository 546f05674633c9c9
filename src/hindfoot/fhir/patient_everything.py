"""Patient/$everything: a patient's compartment and what it points to outside it.

(http://hl7.org/fhir/R4/patient-operation-everything.html) The compartment is read in one round
trip (`rows.compartment`); `closure` adds the practitioners, locations, organisation, schedules,
slots and questionnaires the record points to (the bulk export uses it too). Audited as one read
of the patient's record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.errors import BadRequest
from hindfoot.fhir import bundles
from hindfoot.fhir.mappers.common import utc_text
from hindfoot.fhir.registry import TYPES, ResourceType
from hindfoot.fhir.rest import MAPPED, Found, load_many, may, read
from hindfoot.fhir.rows import compartment
from hindfoot.fhir.search import parse_date_range

EVERYTHING_PARAMS = ("_since", "_type", "_count", "_offset", "_format")
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
    count, offset = bundles.count_and_offset(params)
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
        "link": bundles.paging_links(base, f"Patient/{pid}/$everything", params, offset, count, len(found)),
        "entry": [bundles.entry(base, f, "match") for f in page],
    }
