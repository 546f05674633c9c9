"""CDS Hooks 2.0 service: the decision support and the care pathway, as cards inside an EHR."""
