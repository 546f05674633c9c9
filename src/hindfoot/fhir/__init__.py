"""HL7 FHIR R4 (4.0.1) export: pure mappers from rows to resources, validated with fhir.resources."""
