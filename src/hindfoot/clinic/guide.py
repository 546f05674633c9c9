"""The plain-language patient guide shown on the home page (data in knowledge/data/patient_guide.yaml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

GUIDE = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "patient_guide.yaml"


@lru_cache
def patient_guide() -> dict[str, Any]:
    with GUIDE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


SOURCES = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "sources.yaml"


@lru_cache
def sources() -> dict[str, dict[str, str]]:
    """Source key -> {label, url?}: the bibliography every clinical number in hindfoot cites."""
    with SOURCES.open(encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh)["sources"])
