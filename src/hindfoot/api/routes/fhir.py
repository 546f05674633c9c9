"""HL7 FHIR R4 (4.0.1) RESTful API at /api/fhir: read and search for every type in the registry,
Patient/$everything, and the CapabilityStatement generated from these very routes.

Only JSON is served (`application/fhir+json`); asking for XML gets 406. Errors are
OperationOutcomes (api/errors.py). `fullUrl`s and paging links use the address the request came
to, so they work behind any host name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from hindfoot.auth.actor import Actor
from hindfoot.deps import DbSession, client_ip, get_optional_actor
from hindfoot.errors import BadRequest, NotAcceptable, NotAuthenticated
from hindfoot.fhir import bulk, capability, patient_everything, rest, smart, write
from hindfoot.fhir.registry import TYPES

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
ANY_JSON = ("json", "*/*", "application/*")


def negotiate(request: Request) -> None:
    """Refuse XML (and anything else but JSON) with 406, by `_format` or by the Accept header."""
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt.split(";")[0].strip() not in JSON_FORMATS:
        raise NotAcceptable(f"_format={fmt} is not served; this server speaks application/fhir+json", field="_format")
    accept = request.headers.get("accept", "")
    if fmt is None and accept and not any(a in accept for a in ANY_JSON):
        raise NotAcceptable(f"Accept: {accept} is not served; this server speaks application/fhir+json",
                            field="Accept")


router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(negotiate)])


def fhir_actor(request: Request, db: DbSession) -> Actor:
    """A SMART access token (Authorization: Bearer) or, failing that, the signed-in session."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        try:
            actor = smart.actor_for_token(db, authorization[7:].strip(), source_ip=client_ip(request),
                                          path=request.url.path)
        except NotAuthenticated as exc:
            exc.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            raise
        request.state.actor = actor
        return actor
    session_actor = get_optional_actor(request, db)
    if session_actor is None:
        refusal = NotAuthenticated("sign in, or present a SMART access token (Authorization: Bearer)")
        refusal.headers = {"WWW-Authenticate": "Bearer"}
        raise refusal
    return session_actor


FhirActor = Annotated[Actor, Depends(fhir_actor)]


def fhir_response(data: dict[str, Any], *, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=FHIR_JSON, headers=headers)


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/fhir"


def _served() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    interactions, operations = [], []
    for route in router.routes:
        if isinstance(route, APIRoute) and route.name.startswith("fhir:"):
            _, kind, interaction = route.name.split(":")
            if interaction.startswith("$"):
                operations.append((kind, interaction[1:]))
            else:
                interactions.append((kind, interaction))
    return interactions, operations


@router.get("/.well-known/smart-configuration", name="fhir-smart-configuration")
def smart_configuration(request: Request) -> Response:
    """SMART App Launch 2.0 discovery: the authorization and token endpoints, scopes, capabilities."""
    root = str(request.base_url).rstrip("/")
    return Response(orjson.dumps(smart.configuration(base_of(request), f"{root}/oauth/authorize",
                                                     f"{root}/api/oauth/token", f"{root}/api/oauth/jwks")),
                    media_type="application/json")


@router.get("/metadata", name="fhir-metadata")
def metadata(request: Request) -> Response:
    interactions, operations = _served()
    root = str(request.base_url).rstrip("/")
    return fhir_response(capability.capability_statement(base_of(request), interactions, operations,
                                                         oauth={"authorize": f"{root}/oauth/authorize",
                                                                "token": f"{root}/api/oauth/token"}))


# the path parameter of a read is named like the app's other routes where one exists (patient_id ...)
ID_NAMES = {"Patient": "patient_id", "EpisodeOfCare": "episode_id", "Appointment": "appointment_id"}


def _read_route(kind: str) -> Callable[..., Response]:
    name = ID_NAMES.get(kind, "ident")

    def read(request: Request, db: DbSession, actor: FhirActor) -> Response:
        found = rest.read(db, actor, kind, request.path_params[name])
        etag = f'W/"{found.resource["meta"]["versionId"]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        headers = {"ETag": etag}
        if "lastUpdated" in found.resource["meta"]:
            headers["Last-Modified"] = found.row.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return fhir_response(found.resource, headers=headers)

    read.__doc__ = f"Read one {kind} (ETag: W/\"versionId\"; If-None-Match answers 304)."
    return read


def _search_route(kind: str) -> Callable[..., Response]:
    def search(request: Request, db: DbSession, actor: FhirActor) -> Response:
        params = request.query_params.multi_items()
        return fhir_response(rest.search(db, actor, kind, params, base_of(request)))

    search.__doc__ = f"Search {kind}: " + ", ".join(TYPES[kind].params) + "; _count, _offset, _include."
    return search


@router.get("/Patient/{patient_id}/$everything", name="fhir:Patient:$everything")
def everything(patient_id: str, request: Request, db: DbSession, actor: FhirActor) -> Response:
    """Patient/$everything: a searchset of the patient's record and everything it references
    (_since, _type, _count and _offset for paging)."""
    params = request.query_params.multi_items()
    return fhir_response(patient_everything.everything(db, actor, patient_id, params, base_of(request)))


# ------------------------------------------------------------------------------------- writes
async def _body(request: Request) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise BadRequest("send the resource as application/fhir+json", field="Content-Type")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}", field="body") from None


def _written(request: Request, found: rest.Found, status: int) -> Response:
    version = found.resource["meta"]["versionId"]
    headers = {"ETag": f'W/"{version}"', "Last-Modified": found.row.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
               "Location": f"{base_of(request)}/{found.type.name}/{found.row.id}"}
    return fhir_response(found.resource, headers=headers, status=status)


def _create_route(kind: str) -> Callable[..., Any]:
    async def create(request: Request, db: DbSession, actor: FhirActor) -> Response:
        found = write.create(db, actor, kind, await _body(request))
        return _written(request, found, 201)

    create.__doc__ = f"Create a {kind} (201, Location, ETag); the server assigns the id."
    return create


def _update_route(kind: str) -> Callable[..., Any]:
    name = ID_NAMES.get(kind, "ident")

    async def update(request: Request, db: DbSession, actor: FhirActor) -> Response:
        found = write.update(db, actor, kind, request.path_params[name], await _body(request),
                             request.headers.get("if-match"))
        return _written(request, found, 200)

    update.__doc__ = f"Update a {kind} (If-Match: W/\"versionId\" answers 412 when it changed since)."
    return update


@router.post("", name="fhir::transaction")
async def transaction(request: Request, db: DbSession, actor: FhirActor) -> Response:
    """A transaction Bundle of creates and updates (Patient, Condition, Observation, DocumentReference):
    all or nothing.
    Entries may refer to each other by urn:uuid fullUrls (a referral's patient and findings)."""
    return fhir_response(write.transaction(db, actor, await _body(request), base_of(request)))


# ------------------------------------------------------------------------------ Bulk Data $export
def _kick_off(request: Request, db: Any, actor: Actor, tasks: BackgroundTasks, level: str,
              group_id: str | None = None) -> Response:
    if request.headers.get("prefer", "").replace(" ", "").lower() != "respond-async":
        raise BadRequest("$export is asynchronous: send Prefer: respond-async", field="Prefer")
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "_format"]
    job = bulk.kick_off(db, actor, level, params, str(request.url), group_id)
    db.commit()  # the job exists before its builder starts
    tasks.add_task(bulk.run, request.app.state.sessionmaker, job.id, actor)
    return Response(status_code=202, headers={"Content-Location": f"{base_of(request)}/$export-status/{job.id}"})


@router.get("/$export", name="fhir::$export")
def system_export(request: Request, db: DbSession, actor: FhirActor, tasks: BackgroundTasks) -> Response:
    """System-level Bulk Data export (Prefer: respond-async; _type, _since, _outputFormat): 202 and a status URL."""
    return _kick_off(request, db, actor, tasks, "system")


@router.get("/Patient/$export", name="fhir:Patient:$export")
def patient_export(request: Request, db: DbSession, actor: FhirActor, tasks: BackgroundTasks) -> Response:
    """Patient-level Bulk Data export: every patient's compartment (and what it references)."""
    return _kick_off(request, db, actor, tasks, "patient")


@router.get("/Group/{group_id}/$export", name="fhir:Group:$export")
def group_export(group_id: str, request: Request, db: DbSession, actor: FhirActor,
                 tasks: BackgroundTasks) -> Response:
    """Group-level Bulk Data export; the group is the clinic (Group/<organisation id>)."""
    return _kick_off(request, db, actor, tasks, "group", group_id)


@router.get("/$export-status/{job_id}", name="fhir-export-status")
def export_status(job_id: str, request: Request, db: DbSession, actor: FhirActor) -> Response:
    """202 (X-Progress, Retry-After) while the export runs; 200 and the manifest when it is done."""
    job = bulk.job_for(db, actor, job_id)
    if job.status == "in-progress":
        return Response(status_code=202, headers={"X-Progress": "building the files", "Retry-After": "2"})
    if job.status == "error":
        return fhir_response({"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "exception", "diagnostics": job.error or "the export failed"}]},
            status=500)
    body = bulk.manifest(db, job, lambda fid: f"{base_of(request)}/$export-file/{fid}")
    return Response(orjson.dumps(body), media_type="application/json")


@router.delete("/$export-status/{job_id}", name="fhir-export-delete")
def export_delete(job_id: str, db: DbSession, actor: FhirActor) -> Response:
    """Cancel an export or delete its files (202)."""
    bulk.cancel(db, actor, job_id)
    return Response(status_code=202)


@router.get("/$export-file/{file_id}", name="fhir-export-file")
def export_file(file_id: str, db: DbSession, actor: FhirActor) -> Response:
    """One NDJSON file of a finished export (the same client's token only)."""
    row = bulk.file_for(db, actor, file_id)
    return Response(row.content, media_type=bulk.NDJSON)


for _kind in write.WRITABLE:
    router.add_api_route(f"/{_kind}", _create_route(_kind), methods=["POST"], name=f"fhir:{_kind}:create",
                         summary=f"Create {_kind}")
    router.add_api_route(f"/{_kind}/{{{ID_NAMES.get(_kind, 'ident')}}}", _update_route(_kind), methods=["PUT"],
                         name=f"fhir:{_kind}:update", summary=f"Update {_kind}")
for _kind in TYPES:
    router.add_api_route(f"/{_kind}", _search_route(_kind), methods=["GET"], name=f"fhir:{_kind}:search-type",
                         summary=f"Search {_kind}")
    router.add_api_route(f"/{_kind}/{{{ID_NAMES.get(_kind, 'ident')}}}", _read_route(_kind), methods=["GET"], name=f"fhir:{_kind}:read",
                         summary=f"Read {_kind}")
