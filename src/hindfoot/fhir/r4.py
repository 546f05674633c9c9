"""The only import of fhir.resources in hindfoot.

fhir.resources 8 (pydantic 2) ships R5 at its root and R4B under `fhir.resources.R4B`; there is no
pure R4 package. The resources hindfoot emits (Patient, Practitioner, Organization, Location,
EpisodeOfCare, Encounter, Condition, Observation, Procedure, Bundle, CapabilityStatement) have the
same shape in R4 and R4B for the elements we fill, so we validate with R4B and declare 4.0.1.
Switching to another model package is a change to this one file.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

FHIR_VERSION = "4.0.1"


def validate(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate a resource dict against its R4B model; return the canonical JSON-ready dict."""
    model = get_fhir_model_class(resource["resourceType"])
    return model.model_validate(resource).model_dump(mode="json", exclude_none=True)
