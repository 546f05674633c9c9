"""The vocabulary contract's ids, read from the packaged copy of vocabulary.yaml."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FINDING_CATEGORIES = ("history", "exam", "imaging", "tests")  # the vocabulary's finding groups
# FHIR status of an observation recorded in error; a finding set back to "not known" gets it too
WITHDRAWN = "entered-in-error"

VOCABULARY = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "vocabulary.yaml"


@lru_cache
def vocabulary() -> dict[str, Any]:
    with VOCABULARY.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache
def known_finding_ids() -> frozenset[str]:
    return frozenset(f["id"] for group in vocabulary()["findings"].values() for f in group)


@lru_cache
def finding_texts() -> dict[str, str]:
    """The text of each finding a record can hold: the vocabulary's, and for the knowledge base's findings
    outside it (asked by the symptom check, so saved to a patient's record) their `text`."""
    from hindfoot.knowledge.loader import load_kb

    extra = {f.id: f.text for f in load_kb().findings if f.text}
    return {**extra, **{f["id"]: f["text"] for group in vocabulary()["findings"].values() for f in group}}


@lru_cache
def condition_names() -> dict[str, str]:
    return {c["id"]: c["name"] for c in vocabulary()["conditions"]}
