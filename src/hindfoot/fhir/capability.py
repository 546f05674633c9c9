"""The CapabilityStatement, generated from what is routed.

The API module hands over the interactions its router actually serves (type, interaction) and the
operations; the search parameters and includes come from the same registry the searches use. So
the statement cannot declare an interaction or a parameter that does not answer; a test walks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hindfoot.db.base import utcnow
from hindfoot.fhir import r4
from hindfoot.fhir.mappers.common import narrative
from hindfoot.fhir.registry import TYPES

OPERATION_DEFINITIONS = {
    ("Patient", "everything"): "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    ("", "export"): "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    ("Patient", "export"): "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    ("Group", "export"): "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
}


def capability_statement(base_url: str, interactions: Iterable[tuple[str, str]],
                         operations: Iterable[tuple[str, str]], oauth: dict[str, str] | None = None) -> dict[str, Any]:
    """`interactions`: (resource type, read|search-type); `operations`: (resource type, name)."""
    by_type: dict[str, set[str]] = {}
    system_interactions: set[str] = set()
    for kind, interaction in interactions:
        if kind:
            by_type.setdefault(kind, set()).add(interaction)
        else:  # on the whole server (transaction)
            system_interactions.add(interaction)
    ops: dict[str, list[str]] = {}
    for kind, name in operations:
        ops.setdefault(kind, []).append(name)
    resources = []
    for kind in sorted(by_type):
        rt = TYPES[kind]
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": code} for code in sorted(by_type[kind])],
            "versioning": "versioned",
            "readHistory": False,
            "updateCreate": False,
        }
        if "search-type" in by_type[kind]:
            entry["searchParam"] = [
                {"name": p.name, "type": p.type, "documentation": p.documentation} for p in rt.params.values()
            ]
            if rt.includes:
                entry["searchInclude"] = [f"{kind}:{name}" for name in rt.includes]
        if kind in ops:
            entry["operation"] = [{"name": n, "definition": OPERATION_DEFINITIONS[(kind, n)]} for n in ops[kind]]
        resources.append(entry)
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": "A SMART on FHIR access token (Authorization: Bearer; see .well-known/smart-configuration) "
                         "or a signed-in session. A patient sees their own record; clinicians and admins see "
                         "their organisation's patients. Every read of patient data is audited.",
        "resource": resources,
    }
    # operations on the whole server, and on types it does not otherwise serve (Group: the clinic)
    system_ops = [{"name": n, "definition": OPERATION_DEFINITIONS[(kind, n)]}
                  for kind, names in sorted(ops.items()) if kind not in by_type for n in names]
    if system_interactions:
        rest["interaction"] = [{"code": code} for code in sorted(system_interactions)]
    if system_ops:
        rest["operation"] = system_ops
    if oauth:
        rest["security"] = {
            "cors": False,
            "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                     "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}]}],
            "extension": [{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                           "extension": [{"url": k, "valueUri": v} for k, v in oauth.items()]}],
            "description": "SMART App Launch 2.0 (authorization code with PKCE) and SMART Backend Services.",
        }
    return {
        "resourceType": "CapabilityStatement",
        "text": narrative("hindfoot FHIR R4 server: read and search; create, update and transaction for a "
                          "referral's Patient, Condition, Observation and DocumentReference; Patient/$everything; Bulk Data $export; "
                          "SMART on FHIR"),
        "status": "active",
        "date": utcnow().date().isoformat(),
        "publisher": "hindfoot project",
        "kind": "instance",
        "software": {"name": "hindfoot", "version": "0.1.0"},
        "implementation": {"description": "hindfoot FHIR R4 API", "url": base_url},
        "fhirVersion": r4.FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [rest],
    }
