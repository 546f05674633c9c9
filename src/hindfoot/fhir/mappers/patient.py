"""Patient -> http://hl7.org/fhir/StructureDefinition/Patient (R4 4.0.1)."""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import day, narrative, ref, resource

GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
SPORT_EXTENSION = "https://hindfoot.org/fhir/StructureDefinition/sport"


def to_fhir(patient: Any) -> dict[str, Any]:
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    gender = GENDER.get(patient.sex, "unknown")
    return resource(
        "Patient", patient,
        narrative(f"{patient.given_name} {patient.family_name} ({gender}, born {day(patient.birth_date)})",
                  f"Record number {patient.identifier}; sport: {patient.sport} ({patient.level})"),
        extension=[
            {"url": SPORT_EXTENSION, "extension": [
                {"url": "sport", "valueCode": patient.sport},
                {"url": "level", "valueCode": patient.level},
            ]},
        ],
        identifier=[{"system": codes.IDENTIFIER_SYSTEM, "value": patient.identifier}],
        active=patient.active,
        name=[{"use": "official", "family": patient.family_name, "given": [patient.given_name],
               "text": f"{patient.given_name} {patient.family_name}"}],
        telecom=telecom,
        gender=gender,
        birthDate=day(patient.birth_date),
        managingOrganization=ref("Organization", patient.organization_id),
    )
