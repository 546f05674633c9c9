"""Patient -> http://hl7.org/fhir/StructureDefinition/Patient (R4 4.0.1)."""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import day, drop_none, ref

GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
SPORT_EXTENSION = "https://hindfoot.org/fhir/StructureDefinition/sport"


def to_fhir(patient: Any) -> dict[str, Any]:
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    return drop_none({
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"system": codes.IDENTIFIER_SYSTEM, "value": patient.identifier}],
        "active": patient.active,
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": day(patient.birth_date),
        "telecom": telecom,
        "managingOrganization": ref("Organization", patient.organization_id),
        "extension": [
            {"url": SPORT_EXTENSION, "extension": [
                {"url": "sport", "valueCode": patient.sport},
                {"url": "level", "valueCode": patient.level},
            ]},
        ],
    })
