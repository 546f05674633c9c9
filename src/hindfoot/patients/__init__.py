"""Patients and their record: search, the full record view, and record writes."""
