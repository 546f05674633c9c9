"""DocumentReference -> http://hl7.org/fhir/StructureDefinition/DocumentReference (R4 4.0.1)."""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import coding, instant, narrative, ref, resource


def document_reference_to_fhir(doc: Any) -> dict[str, Any]:
    attachment = {k: v for k, v in (
        ("contentType", doc.content_type), ("data", doc.data), ("url", doc.url), ("size", doc.size),
        ("title", doc.title or None), ("creation", instant(doc.date)),
    ) if v is not None}
    kind = doc.type_display or "Document"
    return resource(
        "DocumentReference", doc,
        narrative(f"{kind}: {doc.title or doc.description or doc.content_type}",
                  f"From {doc.author_display}" if doc.author_display else None,
                  doc.description or None),
        status=doc.status,
        type=({"coding": [coding(codes.LOINC, doc.type_code, doc.type_display)], "text": kind}
              if doc.type_code else None),
        subject=ref("Patient", doc.patient_id),
        date=instant(doc.date),
        author=[{"display": doc.author_display}] if doc.author_display else None,
        description=doc.description or None,
        content=[{"attachment": attachment}],
    )
