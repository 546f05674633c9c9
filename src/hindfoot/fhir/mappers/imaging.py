"""ImagingStudy and DiagnosticReport (R4 4.0.1).

Profiles: http://hl7.org/fhir/StructureDefinition/{ImagingStudy,DiagnosticReport}
"""

from __future__ import annotations

from typing import Any

from hindfoot.fhir import codes
from hindfoot.fhir.mappers.common import coding, instant, laterality, narrative, ref, resource

IMAGING_STATUS = {"registered", "available", "cancelled", "entered-in-error", "unknown"}
REPORT_STATUS = {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended", "cancelled",
                 "entered-in-error", "unknown"}
REPORT_CATEGORY = {"imaging": ("RAD", "Radiology"), "laboratory": ("LAB", "Laboratory"),
                   "procedure": ("OTH", "Other")}


def imaging_study_to_fhir(study: Any) -> dict[str, Any]:
    modality = codes.DICOM_MODALITY.get(study.modality, study.modality)
    side = laterality(study.laterality)
    return resource(
        "ImagingStudy", study,
        narrative(f"{study.description} ({modality}, {study.body_site}"
                  + (f", {study.laterality})" if study.laterality else ")"), f"Started {instant(study.started_at)}"),
        status=study.status if study.status in IMAGING_STATUS else "unknown",
        modality=[coding(codes.DICOM_DCM, study.modality, modality)],
        subject=ref("Patient", study.patient_id),
        started=instant(study.started_at),
        location=ref("Location", study.location_id),
        description=study.description,
        note=[{"text": f"Body site: {study.body_site}" + (f", {side['text']}" if side else "")}],
    )


def diagnostic_report_to_fhir(report: Any) -> dict[str, Any]:
    cat_code, cat_display = REPORT_CATEGORY.get(report.category, ("OTH", "Other"))
    label = report.code.replace("_", " ")
    return resource(
        "DiagnosticReport", report,
        narrative(f"{label} ({report.status})", report.conclusion),
        status=report.status if report.status in REPORT_STATUS else "unknown",
        category=[{"coding": [coding(codes.DIAGNOSTIC_SERVICE, cat_code, cat_display)]}],
        code={"coding": [coding(codes.HINDFOOT_REPORT, report.code, label)], "text": label},
        subject=ref("Patient", report.patient_id),
        issued=instant(report.issued_at),
        performer=[ref("Practitioner", report.performer_id)] if report.performer_id else None,
        imagingStudy=[ref("ImagingStudy", report.imaging_study_id)] if report.imaging_study_id else None,
        conclusion=report.conclusion,
    )
