"""FHIR writes: create and update of the resources a referral brings (Patient, Condition,
Observation, DocumentReference: the referral letter), and a `transaction` Bundle that imports them all or nothing.

An incoming resource is first checked against the R4 structure (the R4B pydantic models, the same
library the tests validate with), then turned into rows: what hindfoot cannot represent (an
Observation code it has no concept for, a Condition with no code at all) is refused with 422 naming
the element, never stored half-understood. Writes need a staff actor (or a token whose scopes grant
create/update on the type), are authorised per patient like every other write, and are audited.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.auth.policy import require_staff
from hindfoot.db.base import utcnow
from hindfoot.db.models import Condition, DocumentReference, Observation, Patient
from hindfoot.errors import BadRequest, Conflict, HindfootError, InvalidInput, NotFound
from hindfoot.fhir import codes, r4, rest
from hindfoot.fhir.registry import TYPES
from hindfoot.patients import service as patients_service
from hindfoot.patients.schemas import PatientCreate, PatientUpdate

WRITABLE = ("Patient", "Condition", "Observation", "DocumentReference")
DOCUMENT_STATUS = {"current", "superseded", "entered-in-error"}
MAX_DOCUMENT_BYTES = 5_000_000  # a referral letter, not an imaging archive
CLINICAL_STATUS = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
VERIFICATION_STATUS = {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}
FINDING_CATEGORY = {"history": "history", "exam": "exam", "imaging": "imaging", "tests": "tests"}
LOCAL_FOR_LOINC = {loinc: local for local, (loinc, _) in codes.LOINC_FOR_SCORE.items()}


@dataclass
class Refs:
    """References inside a transaction: `urn:uuid:...` fullUrls of entries created in it -> their ids."""

    placeholders: dict[str, tuple[str, uuid.UUID]] = field(default_factory=dict)


def _structure(body: Any, type_name: str, where: str = "") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a FHIR resource (a JSON object)", field=where or "body")
    if body.get("resourceType") != type_name:
        raise BadRequest(f"resourceType must be {type_name}", field=f"{where}resourceType")
    try:
        r4.validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-after"))
        raise BadRequest(f"{type_name}.{path}: {first['msg']}", field=f"{where}{type_name}.{path}") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise BadRequest(f"not a valid {type_name}: {exc}", field=f"{where}{type_name}") from None
    return body


def _patient_ref(db: Session, actor: Actor, value: Any, name: str, refs: Refs) -> uuid.UUID:
    reference = (value or {}).get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        raise InvalidInput(f"{name} must reference the Patient", field=name)
    if reference in refs.placeholders:
        kind, ident = refs.placeholders[reference]
        if kind != "Patient":
            raise InvalidInput(f"{name} must reference a Patient, not a {kind}", field=name)
        return ident
    parts = reference.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != "Patient":
        raise InvalidInput(f"{name} must be Patient/<id> (or the fullUrl of a Patient in this transaction)",
                           field=name)
    try:
        pid = uuid.UUID(parts[-1])
    except ValueError:
        raise InvalidInput(f"{name}: no patient {parts[-1]!r}", field=name) from None
    patients_service.get_patient(db, actor, pid)  # authorises (404 and an audited denial otherwise)
    return pid


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a dateTime", field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date(int(value[:4]), 1, 1)
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not a date", field=name) from None


# -------------------------------------------------------------------------------------- Patient
def _patient_fields(body: dict[str, Any]) -> dict[str, Any]:
    names = body.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = (official.get("given") or [None])[0]
    telecom = body.get("telecom") or []
    email = next((t.get("value") for t in telecom if t.get("system") == "email"), None)
    phone = next((t.get("value") for t in telecom if t.get("system") in ("phone", "sms")), None)
    identifier = next((i.get("value") for i in body.get("identifier") or []
                       if i.get("system") == codes.IDENTIFIER_SYSTEM), None)
    return {"given_name": given, "family_name": official.get("family"), "birth_date": body.get("birthDate"),
            "sex": body.get("gender") or "unknown", "email": email, "phone": phone, "identifier": identifier}


def _schema_error(exc: ValidationError, type_name: str) -> InvalidInput:
    first = exc.errors()[0]
    element = {"given_name": "name.given", "family_name": "name.family", "birth_date": "birthDate",
               "sex": "gender", "email": "telecom", "phone": "telecom", "identifier": "identifier"}
    name = element.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else ""
    return InvalidInput(f"{type_name}.{name}: {str(first['msg']).removeprefix('Value error, ')}",
                        field=f"{type_name}.{name}")


def create_patient(db: Session, actor: Actor, body: dict[str, Any]) -> Patient:
    fields = _patient_fields(body)
    try:
        data = PatientCreate(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise _schema_error(exc, "Patient") from None
    return patients_service.create_patient(db, actor, data)


def update_patient(db: Session, actor: Actor, patient: Patient, body: dict[str, Any]) -> Patient:
    fields = _patient_fields(body)
    if fields["birth_date"] and fields["birth_date"] != patient.birth_date.isoformat():
        raise InvalidInput("Patient.birthDate cannot be changed through the API (ask the clinic)",
                           field="Patient.birthDate")
    try:
        data = PatientUpdate(given_name=fields["given_name"], family_name=fields["family_name"],
                             email=fields["email"], phone=fields["phone"])
    except ValidationError as exc:
        raise _schema_error(exc, "Patient") from None
    return patients_service.update_patient(db, actor, patient.id, data)


# ------------------------------------------------------------------------------------ Condition
@lru_cache(maxsize=1)
def _conditions_by_code() -> dict[tuple[str, str], tuple[str, str]]:
    """(system, code) -> (hindfoot condition id, its name), for the SNOMED CT and ICD-10 codes the
    knowledge base gives each condition."""
    from hindfoot.knowledge.loader import load_kb

    out: dict[tuple[str, str], tuple[str, str]] = {}
    for c in load_kb().conditions:
        out[(codes.HINDFOOT_CONDITION, c.id)] = (c.id, c.name)
        for code in c.codes.snomed:
            out.setdefault((codes.SNOMED, code.code), (c.id, c.name))
        for code in c.codes.icd10:
            out.setdefault((codes.ICD10, code.code), (c.id, c.name))
    return out


def _condition_fields(db: Session, actor: Actor, body: dict[str, Any], refs: Refs) -> dict[str, Any]:
    codings = (body.get("code") or {}).get("coding") or []
    text = (body.get("code") or {}).get("text")
    known = _conditions_by_code()
    local: tuple[str, str] | None = None
    snomed = icd10 = None
    for c in codings:
        system, code = c.get("system"), c.get("code")
        if system == codes.HINDFOOT_CONDITION and (system, code) not in known:
            raise InvalidInput(f"Condition.code: {code!r} is not a hindfoot condition", field="Condition.code")
        if (system, code) in known and local is None:
            local = known[(system, code)]
        if system == codes.SNOMED:
            snomed = code
        elif system == codes.ICD10:
            icd10 = code
    if local is None and not (snomed or icd10):
        raise InvalidInput("Condition.code needs a SNOMED CT, ICD-10 or hindfoot coding", field="Condition.code")
    display = (local[1] if local else None) or text or next((c.get("display") for c in codings if c.get("display")),
                                                            None)
    if not display:
        raise InvalidInput("Condition.code needs a display or text for a condition hindfoot does not know",
                           field="Condition.code")
    clinical = _first_code(body.get("clinicalStatus")) or "active"
    verification = _first_code(body.get("verificationStatus")) or "provisional"
    if clinical not in CLINICAL_STATUS:
        raise InvalidInput(f"Condition.clinicalStatus: {clinical!r} is not a condition-clinical code",
                           field="Condition.clinicalStatus")
    if verification not in VERIFICATION_STATUS:
        raise InvalidInput(f"Condition.verificationStatus: {verification!r} is not a condition-ver-status code",
                           field="Condition.verificationStatus")
    notes = "\n".join(n.get("text", "") for n in body.get("note") or [] if n.get("text"))
    return {
        "patient_id": _patient_ref(db, actor, body.get("subject"), "Condition.subject", refs),
        "code": local[0] if local else codes.EXTERNAL_CONDITION, "display": display[:200],
        "snomed_code": snomed, "icd10_code": icd10, "clinical_status": clinical,
        "verification_status": verification,
        "onset_date": _day(body.get("onsetDateTime"), "Condition.onsetDateTime"),
        "recorded_at": _when(body.get("recordedDate"), "Condition.recordedDate") or utcnow(), "note": notes,
    }


def _first_code(concept: Any) -> str | None:
    for c in (concept or {}).get("coding") or []:
        if c.get("code"):
            return str(c["code"])
    return None


# ---------------------------------------------------------------------------------- Observation
@lru_cache(maxsize=1)
def _finding_categories() -> dict[str, str]:
    from hindfoot.knowledge.loader import load_kb

    vocabulary = load_kb().vocabulary
    return {f.id: FINDING_CATEGORY.get(group, "exam") for group, items in vocabulary.findings.items() for f in items}


def _observation_fields(db: Session, actor: Actor, body: dict[str, Any], refs: Refs) -> dict[str, Any]:
    codings = (body.get("code") or {}).get("coding") or []
    local: tuple[str, str] | None = None  # (code, category)
    findings = _finding_categories()
    for c in codings:
        system, code = c.get("system"), c.get("code")
        if system == codes.LOINC and code in LOCAL_FOR_LOINC:
            local = (LOCAL_FOR_LOINC[code], "score")
        elif system == codes.HINDFOOT_SCORE and code in codes.SCORE_DISPLAY:
            local = (code, "score")
        elif system == codes.HINDFOOT_FINDING and code in findings:
            local = (code, findings[code])
        if local:
            break
    if local is None:
        raise InvalidInput("Observation.code: hindfoot stores the pain score (LOINC 72514-3), its PROM scores and "
                           "the findings of its vocabulary; this code is none of them", field="Observation.code")
    status = body.get("status", "final")
    if status not in OBSERVATION_STATUS:
        raise InvalidInput(f"Observation.status: {status!r}", field="Observation.status")
    values: dict[str, Any] = {"value_boolean": None, "value_quantity": None, "value_unit": None, "value_string": None}
    if "valueBoolean" in body:
        values["value_boolean"] = bool(body["valueBoolean"])
    elif "valueQuantity" in body:
        q = body["valueQuantity"]
        if not isinstance(q.get("value"), int | float):
            raise InvalidInput("Observation.valueQuantity.value is required", field="Observation.valueQuantity")
        values["value_quantity"] = float(q["value"])
        values["value_unit"] = (q.get("unit") or q.get("code") or None)
        if local[0] == "pain.nrs" and not 0 <= values["value_quantity"] <= 10:
            raise InvalidInput("Observation.valueQuantity: a pain score is 0 to 10", field="Observation.valueQuantity")
    elif "valueString" in body:
        values["value_string"] = str(body["valueString"])[:300]
    elif "valueCodeableConcept" in body and local[1] != "score":
        values["value_boolean"] = True  # a coded finding stated: present
    else:
        raise InvalidInput("Observation needs valueBoolean, valueQuantity or valueString", field="Observation.value[x]")
    if local[0] == "pain.nrs" and values["value_unit"] in (None, "{score}", "1"):
        values["value_unit"] = "/10"
    notes = "\n".join(n.get("text", "") for n in body.get("note") or [] if n.get("text"))
    return {
        "patient_id": _patient_ref(db, actor, body.get("subject"), "Observation.subject", refs),
        "code": local[0], "category": local[1], "status": status,
        "effective_at": _when(body.get("effectiveDateTime"), "Observation.effectiveDateTime") or utcnow(),
        "note": notes, **values,
    }


# ---------------------------------------------------------------------------- DocumentReference
def _document_fields(db: Session, actor: Actor, body: dict[str, Any], refs: Refs) -> dict[str, Any]:
    status = body.get("status", "current")
    if status not in DOCUMENT_STATUS:
        raise InvalidInput(f"DocumentReference.status: {status!r}", field="DocumentReference.status")
    contents = body.get("content") or []
    if len(contents) != 1:
        raise InvalidInput("DocumentReference.content: hindfoot keeps one attachment per document",
                           field="DocumentReference.content")
    attachment = contents[0].get("attachment") or {}
    where = "DocumentReference.content.attachment"
    content_type = attachment.get("contentType")
    if not content_type:
        raise InvalidInput(f"{where}.contentType is required", field=f"{where}.contentType")
    data, url, size = attachment.get("data"), attachment.get("url"), None
    if not data and not url:
        raise InvalidInput(f"{where} needs data (base64) or a url", field=where)
    if data:
        if len(data) > MAX_DOCUMENT_BYTES * 4 // 3 + 4:
            raise InvalidInput(f"{where}.data: at most {MAX_DOCUMENT_BYTES // 1_000_000} MB", field=f"{where}.data")
        try:
            size = len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{where}.data is not base64", field=f"{where}.data") from None
    if url and not str(url).startswith(("https://", "http://")):
        raise InvalidInput(f"{where}.url must be an http(s) URL", field=f"{where}.url")
    loinc = next((c for c in (body.get("type") or {}).get("coding") or [] if c.get("system") == codes.LOINC), None)
    authors = [a.get("display") for a in body.get("author") or [] if a.get("display")]
    return {
        "patient_id": _patient_ref(db, actor, body.get("subject"), "DocumentReference.subject", refs),
        "status": status, "type_code": loinc.get("code") if loinc else None,
        "type_display": ((loinc.get("display") if loinc else None) or (body.get("type") or {}).get("text")),
        "description": str(body.get("description") or "")[:500],
        "author_display": authors[0][:200] if authors else None,
        "date": _when(body.get("date"), "DocumentReference.date") or utcnow(),
        "content_type": str(content_type)[:100], "title": str(attachment.get("title") or "")[:200],
        "data": data or None, "url": url or None, "size": size,
    }


def _fields(type_name: str, db: Session, actor: Actor, body: dict[str, Any], refs: Refs) -> dict[str, Any]:
    builder = {"Condition": _condition_fields, "Observation": _observation_fields,
               "DocumentReference": _document_fields}[type_name]
    return builder(db, actor, body, refs)


# --------------------------------------------------------------------------------- interactions
def _require(actor: Actor, type_name: str, permission: str) -> None:
    if type_name not in WRITABLE:
        raise BadRequest(f"{type_name} cannot be written here (writable: {', '.join(WRITABLE)})",
                         field="resourceType")
    require_staff(actor)
    rest.require_scope(actor, type_name, permission)


def create(db: Session, actor: Actor, type_name: str, body: Any, refs: Refs | None = None,
           where: str = "") -> rest.Found:
    """POST [base]/[type]: a new resource; its id is the server's (any id sent is ignored, as the spec says)."""
    _require(actor, type_name, "c")
    body = _structure(body, type_name, where)
    refs = refs or Refs()
    row: Any
    if type_name == "Patient":
        row = create_patient(db, actor, body)
    elif type_name == "Condition":
        row = Condition(**_condition_fields(db, actor, body, refs), recorder_id=actor.practitioner_id)
        db.add(row)
    elif type_name == "Observation":
        row = Observation(**_observation_fields(db, actor, body, refs), performer_id=actor.practitioner_id)
        db.add(row)
    else:
        row = DocumentReference(**_document_fields(db, actor, body, refs))
        db.add(row)
    db.flush()
    if type_name != "Patient":  # create_patient audits its own
        audit.record(db, actor, audit.CREATE, type_name, row.id, patient_id=row.patient_id,
                     description=f"FHIR create {type_name}/{row.id}")
    return _found(type_name, row)


def update(db: Session, actor: Actor, type_name: str, ident: str, body: Any, if_match: str | None) -> rest.Found:
    """PUT [base]/[type]/[id]: replace what hindfoot keeps of it (If-Match with the ETag guards against
    lost updates; 412 when it changed since)."""
    _require(actor, type_name, "u")
    body = _structure(body, type_name)
    if body.get("id") != ident:
        raise BadRequest(f"the resource's id must be {ident!r}, the id in the URL", field=f"{type_name}.id")
    current = rest.read(db, actor, type_name, ident)  # authorises (404) and audits the read
    if if_match is not None and if_match.strip() != f'W/"{current.resource["meta"]["versionId"]}"':
        error = Conflict(f"{type_name}/{ident} changed since {if_match}; read it again", field="If-Match")
        error.status_code = 412
        raise error
    row: Any = db.get(TYPES[type_name].model, current.row.id)
    if type_name == "Patient":
        row = update_patient(db, actor, row, body)
    else:
        fields = _fields(type_name, db, actor, body, Refs())
        if fields["patient_id"] != row.patient_id:
            raise InvalidInput(f"{type_name}.subject cannot move to another patient", field=f"{type_name}.subject")
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        audit.record(db, actor, audit.UPDATE, type_name, row.id, patient_id=row.patient_id,
                     description=f"FHIR update {type_name}/{row.id}")
    db.flush()
    return _found(type_name, row)


def _found(type_name: str, row: Any) -> rest.Found:
    rt = TYPES[type_name]
    return rest.Found(rt, row, rt.mapper(row))


def transaction(db: Session, actor: Actor, bundle: Any, base: str) -> dict[str, Any]:
    """A `transaction` Bundle of creates (POST) and updates (PUT): all or nothing. Entries may refer
    to each other by their `urn:uuid:` fullUrls (a referral's Patient and its Conditions). Patients
    go first, so the references to them resolve whatever the order of the entries."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base takes a Bundle", field="resourceType")
    if bundle.get("type") != "transaction":
        raise BadRequest("only a transaction Bundle is processed here (type: transaction)", field="Bundle.type")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not entries:
        raise BadRequest("the transaction has no entries", field="Bundle.entry")
    if len(entries) > 500:
        raise BadRequest("at most 500 entries per transaction", field="Bundle.entry")
    refs = Refs()
    order = sorted(range(len(entries)), key=lambda i: ((entries[i] or {}).get("resource") or {}).get("resourceType")
                   != "Patient")
    for i in order:  # placeholders first: every urn:uuid gets its id before any entry is read
        entry = entries[i] or {}
        full_url = entry.get("fullUrl")
        kind = (entry.get("resource") or {}).get("resourceType")
        if isinstance(full_url, str) and full_url.startswith("urn:uuid:") and \
                (entry.get("request") or {}).get("method") == "POST":
            refs.placeholders[full_url] = (str(kind), uuid.uuid4())  # replaced by the real id when created
    results: dict[int, dict[str, Any]] = {}
    with db.begin_nested():  # all or nothing: the first refusal undoes every entry before it
        for i in order:
            entry = entries[i] or {}
            where = f"Bundle.entry[{i}]."
            request = entry.get("request") or {}
            method, url = request.get("method"), str(request.get("url") or "")
            resource = entry.get("resource")
            try:
                if method == "POST":
                    found = create(db, actor, url.split("?")[0].strip("/"), resource, refs, where)
                    status = "201 Created"
                    if entry.get("fullUrl") in refs.placeholders:
                        kind = refs.placeholders[entry["fullUrl"]][0]
                        refs.placeholders[entry["fullUrl"]] = (kind, found.row.id)
                elif method == "PUT":
                    kind, _, ident = url.strip("/").partition("/")
                    found = update(db, actor, kind, ident, resource, request.get("ifMatch"))
                    status = "200 OK"
                else:
                    raise BadRequest("each entry's request.method must be POST or PUT",
                                     field=f"{where}request.method")
            except NotFound:
                raise
            except HindfootError as exc:
                exc.message = f"entry {i}: {exc.message}"
                if exc.field and not exc.field.startswith("Bundle."):
                    exc.field = where + exc.field
                raise
            results[i] = {"response": {"status": status, "location": f"{found.type.name}/{found.row.id}",
                                       "etag": f'W/"{found.resource["meta"]["versionId"]}"',
                                       "lastModified": found.resource["meta"]["lastUpdated"]},
                          "fullUrl": f"{base}/{found.type.name}/{found.row.id}"}
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "transaction-response",
            "entry": [results[i] for i in range(len(entries))]}
