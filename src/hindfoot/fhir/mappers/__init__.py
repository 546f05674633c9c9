"""One pure function per resource: a row (any object with the model's attributes) -> FHIR dict.

Mappers do no I/O and import no database code; they read attributes of the rows they are given.
"""
