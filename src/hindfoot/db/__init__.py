"""Database: declarative base, engine, sessions, FHIR-shaped models and migrations."""
