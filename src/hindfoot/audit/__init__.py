"""The audit trail: an AuditEvent for every read or write of patient data."""
