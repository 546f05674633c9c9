"""Organization, Location, Practitioner and PractitionerRole (R4 4.0.1).

Profiles: http://hl7.org/fhir/StructureDefinition/{Organization,Location,Practitioner,PractitionerRole}.
A practitioner row holds one role, so its PractitionerRole shares the practitioner's id.
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import coding, narrative, ref, resource

ROLE_LABELS = {
    "surgeon": "Foot and ankle surgeon", "sports_physician": "Sports physician",
    "physiotherapist": "Physiotherapist", "nurse": "Nurse", "radiologist": "Musculoskeletal radiologist",
    "admin": "Clinic administrator", "receptionist": "Receptionist", "manager": "Clinic manager",
}


def _telecom(row: Any) -> list[dict[str, str]]:
    out = []
    for system, attr in (("phone", "phone"), ("email", "email"), ("url", "website")):
        value = getattr(row, attr, None)
        if value:
            out.append({"system": system, "value": value})
    return out


def organization_to_fhir(org: Any) -> dict[str, Any]:
    return resource(
        "Organization", org, narrative(org.name),
        active=True, name=org.name, telecom=_telecom(org),
    )


def location_to_fhir(location: Any) -> dict[str, Any]:
    address = {k: v for k, v in (("line", [location.address_line] if location.address_line else None),
                                 ("city", location.city or None), ("postalCode", location.postcode or None))
               if v}
    return resource(
        "Location", location,
        narrative(location.name, ", ".join(p for p in (location.address_line, location.city, location.postcode) if p)),
        status="active" if location.active else "inactive",
        name=location.name,
        description=location.description,
        telecom=_telecom(location),
        address=address,
        managingOrganization=ref("Organization", location.organization_id),
    )


def _display(practitioner: Any) -> str:
    return " ".join(p for p in (practitioner.prefix, practitioner.given_name, practitioner.family_name) if p)


def practitioner_to_fhir(practitioner: Any) -> dict[str, Any]:
    display = _display(practitioner)
    name = {"family": practitioner.family_name, "given": [practitioner.given_name], "text": display}
    if practitioner.prefix:
        name["prefix"] = [practitioner.prefix]
    role = ROLE_LABELS.get(practitioner.role, practitioner.role)
    return resource(
        "Practitioner", practitioner,
        narrative(display, f"{role}; {practitioner.qualification}".rstrip("; ")),
        active=practitioner.active,
        name=[name],
        telecom=[{"system": "email", "value": practitioner.email, "use": "work"}] if practitioner.email else None,
        qualification=[{"code": {"text": practitioner.qualification}}] if practitioner.qualification else None,
    )


def practitioner_role_to_fhir(practitioner: Any) -> dict[str, Any]:
    role = ROLE_LABELS.get(practitioner.role, practitioner.role)
    return resource(
        "PractitionerRole", practitioner,
        narrative(f"{_display(practitioner)}: {role}"),
        active=practitioner.active,
        practitioner=ref("Practitioner", practitioner.id, _display(practitioner)),
        organization=ref("Organization", practitioner.organization_id),
        code=[{"coding": [coding(codes.HINDFOOT_ROLE, practitioner.role, role)], "text": role}],
    )
