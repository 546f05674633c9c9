"""Resolve source keys ("[S1]", "EE") in advice and plan texts to their citations in sources.yaml.

Pure apart from reading the packaged file once. Next-step rules list keys like "[S0]"; recovery
milestones carry free text such as "[S1] crutches 10-15 days; [S2] ...; evidence.md 6.1". Both
show the reader the same thing: each key with the citation it stands for. An unknown key is
kept (label "unknown source") rather than dropped, so a typo stays visible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

__all__ = ["Citation", "cite", "keys_in", "source_labels"]

_BRACKETED = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")
_EXPERT = re.compile(r"\bEE\b")


@dataclass(frozen=True)
class Citation:
    key: str
    label: str
    url: str | None = None


@lru_cache(maxsize=1)
def source_labels() -> dict[str, tuple[str, str | None]]:
    """key -> (label, url) from knowledge/data/sources.yaml, read once."""
    path = Path(str(resources.files("hindfoot.knowledge").joinpath("data/sources.yaml")))
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    return {
        str(key): (str(value.get("label", "")), value.get("url"))
        for key, value in (data.get("sources") or {}).items()
    }


def keys_in(text: str) -> list[str]:
    """Source keys named in a free-text source string, in order of first mention."""
    found = _BRACKETED.findall(text)
    if _EXPERT.search(_BRACKETED.sub("", text)):
        found.append("EE")
    return list(dict.fromkeys(found))


def cite(items: Iterable[str]) -> list[Citation]:
    """Citations for keys ("[S1]", "S1") or free-text source strings, deduplicated, in order."""
    labels = source_labels()
    keys: list[str] = []
    for item in items:
        bare = item.strip().strip("[]")
        keys.extend([bare] if bare in labels else keys_in(item))
    out: list[Citation] = []
    for key in dict.fromkeys(keys):
        label, url = labels.get(key, ("unknown source", None))
        out.append(Citation(key=key, label=label, url=url))
    return out
