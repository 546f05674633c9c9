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
    preferred = getattr(patient, "preferred_contact", None)
    for point in telecom:
        if preferred == point["system"] or (preferred == "sms" and point["system"] == "phone"):
            point["rank"] = 1
    address = getattr(patient, "address", None)
    gp = getattr(patient, "gp_practice", None)
    emergency, emergency_phone = getattr(patient, "emergency_contact", None), getattr(patient, "emergency_phone", None)
    contact = None
    if emergency or emergency_phone:
        contact = [{k: v for k, v in (
            ("relationship", [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C",
                                           "display": "Emergency Contact"}]}]),
            ("name", {"text": emergency} if emergency else None),
            ("telecom", [{"system": "phone", "value": emergency_phone}] if emergency_phone else None),
        ) if v}]
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
        address=[{"text": address}] if address else None,
        contact=contact,
        generalPractitioner=[{"display": gp}] if gp else None,  # the GP practice as recorded (no resource)
        managingOrganization=ref("Organization", patient.organization_id),
    )
