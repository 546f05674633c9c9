"""FHIR Bulk Data Access 2.0 `$export` (https://hl7.org/fhir/uv/bulkdata/export.html): system,
Group and Patient level, asynchronous (kick-off, status polling, NDJSON files per resource type).

Who may export: a backend service whose token carries `system/` read scopes (SMART Backend
Services), or an admin signed in. What it sees is what the same actor would see through the REST
API (its organisation; the types its scopes may read). A Group is a clinic: `Group/<organisation
id>` holds every patient of that organisation, the one group each client can export.

The kick-off records the job and answers at once; the files are built after the response (in the
same process, with a fresh database session) from the same mappers as the REST API, and kept in the
database until the client deletes the job (or for a week). Every patient whose data an export holds gets one audit
entry, as for a search.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hindfoot.audit import service as audit
from hindfoot.auth.actor import Actor
from hindfoot.db.base import utcnow
from hindfoot.db.models import BulkExport, BulkExportFile
from hindfoot.errors import BadRequest, Forbidden, NotFound
from hindfoot.fhir import patient_everything, rest, rows
from hindfoot.fhir.registry import TYPES
from hindfoot.fhir.search import parse_date_range

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}
PARAMS = ("_outputFormat", "_type", "_since")
KEEP = timedelta(days=7)


def owner(actor: Actor) -> str:
    return actor.client_id if actor.client_id and actor.user_id is None else f"user:{actor.user_id}"


def require_bulk(actor: Actor) -> None:
    if actor.scopes is None:
        if actor.role != "admin":
            raise Forbidden("bulk export is for backend services (system/ scopes) and admins", field="scope")
        return
    if not any(s.startswith("system/") for s in actor.scopes):
        raise Forbidden("bulk export needs a backend service token with system/ scopes", field="scope")


def kick_off(db: Session, actor: Actor, level: str, params: Sequence[tuple[str, str]], request_url: str,
             group_id: str | None = None) -> BulkExport:
    """Check the request and record the job (202 follows); `run` builds its files."""
    require_bulk(actor)
    for name, _ in params:
        if name not in PARAMS:
            raise BadRequest(f"$export has no parameter {name!r} (known: {', '.join(PARAMS)})", field=name)
    values = dict(params)
    fmt = values.get("_outputFormat", NDJSON)
    if fmt not in OUTPUT_FORMATS:
        raise BadRequest(f"_outputFormat {fmt!r} is not offered; use {NDJSON}", field="_outputFormat")
    types: list[str] = []
    if "_type" in values:
        types = [t.strip() for t in values["_type"].split(",") if t.strip()]
        unknown = sorted(set(types) - set(TYPES))
        if unknown:
            raise BadRequest(f"_type: this server does not serve {', '.join(unknown)}", field="_type")
        refused = [t for t in types if not rest.may(actor, t, "r")]
        if refused:
            raise Forbidden(f"_type: the token's scopes do not allow reading {', '.join(refused)}", field="_type")
    since: datetime | None = None
    if "_since" in values:
        _, since, _ = parse_date_range(values["_since"], "_since")
    if level == "group" and group_id != str(actor.organization_id):
        raise NotFound(f"Group/{group_id} is not known (your clinic's group is Group/{actor.organization_id})")
    # finished exports are kept a week for the client to fetch, then forgotten
    stale = select(BulkExport.id).where(BulkExport.created_at < utcnow() - KEEP)
    db.execute(delete(BulkExportFile).where(BulkExportFile.export_id.in_(stale)))
    db.execute(delete(BulkExport).where(BulkExport.created_at < utcnow() - KEEP))
    job = BulkExport(client_id=owner(actor), organization_id=actor.organization_id, level=level,
                     group_id=group_id, types=types, since=since, request_url=request_url)
    db.add(job)
    db.flush()
    audit.record(db, actor, audit.CREATE, "BulkExport", job.id, description=f"FHIR $export ({level}) started")
    return job


def _types_for(job: BulkExport, actor: Actor) -> list[str]:
    if job.types:
        return list(job.types)
    wanted = [t for t in TYPES if rest.may(actor, t, "r")]
    if job.level == "system":
        return wanted
    return [t for t in wanted if TYPES[t].is_patient_data]


def build(db: Session, actor: Actor, job: BulkExport) -> None:
    """Make the job's NDJSON files (one per type with resources) and audit each patient exported."""
    found: list[rest.Found] = []
    for name in _types_for(job, actor):
        rt = TYPES[name]
        where = [rt.scope(actor)]
        if job.since is not None and rt.since_column is not None:
            where.append(rt.since_column >= job.since)
        found += [rest.Found(rt, row, rest.MAPPED.map(rt, row)) for row in rows.plain_rows(db, rt, *where)]
    if job.level != "system" and not job.types:
        # what the patients' records point to outside their compartments, so no reference dangles
        found += patient_everything.closure(db, actor, found, None)
    by_type: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, Any]] = set()
    for f in found:
        if (f.type.name, f.row.id) not in seen:
            seen.add((f.type.name, f.row.id))
            by_type.setdefault(f.type.name, []).append(f.resource)
    for name, resources in by_type.items():
        content = b"\n".join(orjson.dumps(r) for r in resources).decode() + "\n"
        db.add(BulkExportFile(export_id=job.id, type=name, count=len(resources), content=content))
    rest.audit_patients(db, actor, found, f"FHIR $export ({job.level})")
    job.status = "complete"
    job.completed_at = utcnow()


def run(sessionmaker: Callable[[], Session], job_id: uuid.UUID, actor: Actor) -> None:
    """Build the export in its own transaction (after the kick-off answered); a failure is recorded."""
    with sessionmaker() as db:
        job = db.get(BulkExport, job_id)
        if job is None:  # deleted before it started
            return
        try:
            build(db, actor, job)
            db.commit()
        except Exception as exc:  # the client polls and must learn that it failed, not wait forever
            db.rollback()
            job = db.get(BulkExport, job_id)
            if job is not None:
                job.status = "error"
                job.error = f"the export failed: {type(exc).__name__}"
                db.commit()
            raise


def job_for(db: Session, actor: Actor, job_id: str) -> BulkExport:
    try:
        ident = uuid.UUID(job_id)
    except ValueError:
        raise NotFound(f"no export {job_id!r}") from None
    job = db.get(BulkExport, ident)
    if job is None or job.client_id != owner(actor) or job.organization_id != actor.organization_id:
        raise NotFound(f"no export {job_id!r}")
    return job


def manifest(db: Session, job: BulkExport, file_url: Callable[[uuid.UUID], str]) -> dict[str, Any]:
    files = db.execute(select(BulkExportFile.id, BulkExportFile.type, BulkExportFile.count)
                       .where(BulkExportFile.export_id == job.id).order_by(BulkExportFile.type)).all()
    return {
        "transactionTime": job.created_at.isoformat(),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [{"type": kind, "url": file_url(fid), "count": count} for fid, kind, count in files],
        "error": [],
    }


def file_for(db: Session, actor: Actor, file_id: str) -> BulkExportFile:
    try:
        ident = uuid.UUID(file_id)
    except ValueError:
        raise NotFound(f"no export file {file_id!r}") from None
    row = db.get(BulkExportFile, ident)
    if row is None:
        raise NotFound(f"no export file {file_id!r}")
    job_for(db, actor, str(row.export_id))  # the same client only
    return row


def cancel(db: Session, actor: Actor, job_id: str) -> None:
    job = job_for(db, actor, job_id)
    db.execute(delete(BulkExportFile).where(BulkExportFile.export_id == job.id))
    db.delete(job)
    audit.record(db, actor, audit.DELETE, "BulkExport", job.id, description="FHIR $export deleted")
