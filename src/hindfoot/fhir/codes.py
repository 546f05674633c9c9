"""Code systems, codes and displays used in the resources hindfoot publishes.

Sources: /work/shared/clinical/evidence.md section 8 (SNOMED CT, ICD-10, CPT, LOINC, each with its
verification status). A code the evidence marks as a parent or proxy concept is published with the
ConceptMap equivalence extension `wider` so a receiving system does not take it as exact.
"""

from __future__ import annotations

from functools import lru_cache

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
HINDFOOT_FINDING = "https://hindfoot.org/fhir/CodeSystem/finding"
HINDFOOT_CONDITION = "https://hindfoot.org/fhir/CodeSystem/condition"
HINDFOOT_PROCEDURE = "https://hindfoot.org/fhir/CodeSystem/procedure"
HINDFOOT_STAGE = "https://hindfoot.org/fhir/CodeSystem/pathway-stage"
HINDFOOT_SCORE = "https://hindfoot.org/fhir/CodeSystem/score"
HINDFOOT_ENCOUNTER_TYPE = "https://hindfoot.org/fhir/CodeSystem/encounter-type"
HINDFOOT_SERVICE = "https://hindfoot.org/fhir/CodeSystem/service"
HINDFOOT_ROLE = "https://hindfoot.org/fhir/CodeSystem/practitioner-role"
HINDFOOT_CARE_PLAN = "https://hindfoot.org/fhir/CodeSystem/care-plan-activity"
HINDFOOT_REPORT = "https://hindfoot.org/fhir/CodeSystem/diagnostic-report"
# a Condition imported from elsewhere (a referral) with no hindfoot counterpart: SNOMED CT / ICD-10 only
EXTERNAL_CONDITION = "external"
IDENTIFIER_SYSTEM = "https://hindfoot.org/fhir/NamingSystem/record-number"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CODING_EQUIVALENCE = "https://hindfoot.org/fhir/StructureDefinition/coding-equivalence"

LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right"), "bilateral": ("51440002", "Bilateral")}

CATEGORY_DISPLAY = {
    "social-history": "Social History", "exam": "Exam", "imaging": "Imaging", "laboratory": "Laboratory",
    "survey": "Survey", "vital-signs": "Vital Signs",
}
CONDITION_CLINICAL_DISPLAY = {
    "active": "Active", "recurrence": "Recurrence", "relapse": "Relapse", "inactive": "Inactive",
    "remission": "Remission", "resolved": "Resolved",
}
CONDITION_VERIFICATION_DISPLAY = {
    "unconfirmed": "Unconfirmed", "provisional": "Provisional", "differential": "Differential",
    "confirmed": "Confirmed", "refuted": "Refuted", "entered-in-error": "Entered in Error",
}

# LOINC where a code exists (evidence.md 8.2): pain NRS 0-10 is 72514-3 (V). FAOS, FAAM and VISA-A
# have no LOINC code, so their scores stay in hindfoot's published score code system.
LOINC_FOR_SCORE = {"pain.nrs": ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")}
SCORE_DISPLAY = {
    "pain.nrs": "Pain, numeric rating scale 0-10",
    "faos.pain": "FAOS Pain subscale score", "faos.symptoms": "FAOS Symptoms subscale score",
    "faos.adl": "FAOS Activities of daily living subscale score",
    "faos.sport": "FAOS Sport and recreation subscale score",
    "faos.sport_rec": "FAOS Sport and recreation subscale score",
    "faos.qol": "FAOS Foot and ankle-related quality of life subscale score",
    "faam.adl": "FAAM Activities of daily living subscale score", "faam.sports": "FAAM Sports subscale score",
    "rts.status": "Return-to-sport status", "rts.date": "Date of return to sport",
}
# UCUM for the units hindfoot stores ("/10" pain, "score" 0-100 scales, degrees, days ...)
UCUM_UNITS = {
    "/10": ("{score}", "score (0-10)"), "score": ("{score}", "score"), "deg": ("deg", "degree"),
    "degrees": ("deg", "degree"), "cm": ("cm", "centimeter"), "mm": ("mm", "millimeter"),
    "kg": ("kg", "kilogram"), "days": ("d", "day"), "d": ("d", "day"), "s": ("s", "second"),
    "%": ("%", "percent"),
}
# Procedures: evidence.md 8.2 found CPT codes (V for open excision and arthroscopic debridement; U for the
# unlisted-arthroscopy convention) and no SNOMED CT procedure concept; we publish what was found.
PROCEDURE_CPT = {
    "open_excision": ("28120", "Partial excision of bone; talus or calcaneus"),
    "posterior_arthroscopic_debridement": ("29898", "Arthroscopy, ankle, surgical; debridement, extensive"),
    "posterior_arthroscopic_excision": ("29999", "Unlisted procedure, arthroscopy"),
}
DICOM_MODALITY = {"XR": "X-Ray", "MR": "Magnetic Resonance", "CT": "Computed Tomography",
                  "NM": "Nuclear Medicine", "US": "Ultrasound", "DX": "Digital Radiography"}


def equivalence(code: str) -> list[dict[str, str]]:
    """How exactly a coding matches the record's concept (ConceptMap equivalence codes:
    `equivalent`, or `wider` for a parent or proxy concept)."""
    return [{"url": CODING_EQUIVALENCE, "valueCode": code}]


@lru_cache(maxsize=1)
def _snomed_terms() -> dict[str, tuple[str, str]]:
    from hindfoot.knowledge.loader import load_kb

    terms: dict[str, tuple[str, str]] = {}
    for condition in load_kb().conditions:
        for code in condition.codes.snomed:
            terms.setdefault(code.code, (code.display, code.status))
    return terms


def known_snomed(code: str) -> bool:
    return code in _snomed_terms()


def snomed_term(code: str) -> tuple[str, bool]:
    """(display, is_proxy) of a SNOMED CT code from the knowledge base; a parent, proxy or
    one-source (P/U) code counts as a proxy."""
    display, status = _snomed_terms().get(code, (code, "U"))
    proxy = status != "V" or "parent" in display or "proxy" in display
    clean = display.replace(" (parent concept)", "").replace(" (proxy)", "")
    return clean, proxy


@lru_cache(maxsize=1)
def _finding_texts() -> dict[str, str]:
    from hindfoot.knowledge.loader import load_kb

    vocabulary = load_kb().vocabulary
    return {f.id: f.text for items in vocabulary.findings.values() for f in items}


def finding_display(code: str) -> str:
    """The vocabulary's wording of a finding, or a score's name; the code itself as a last resort."""
    return SCORE_DISPLAY.get(code) or _finding_texts().get(code) or code.replace("_", " ").replace(".", " ")
