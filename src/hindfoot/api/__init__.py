"""The JSON API under /api: thin routes over the domain services."""
