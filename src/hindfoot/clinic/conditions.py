"""Condition pages for patients (/conditions): one page per condition in the knowledge base.

What a condition is, how it is diagnosed and its usual symptoms come from the knowledge base itself
(``conditions.yaml`` patient wording; symptoms are the history findings that most people with the
condition report, in the vocabulary's own words), so each fact has one text. Causes, stepped treatment
and recovery for the conditions the clinic treats are in ``knowledge/data/condition_pages.yaml``.
Pure apart from reading those packaged files once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from hindfoot.clinic.guide import sources
from hindfoot.knowledge.loader import load_kb
from hindfoot.pathway.citations import Citation, cite
from hindfoot.patients.codes import finding_texts

PAGES = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "condition_pages.yaml"
SYMPTOM_THRESHOLD = 0.6  # a history finding at least this likely in the condition is one of its usual symptoms
MAX_SYMPTOMS = 6


class _Extra(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    treated_here: bool = True
    causes: list[str] = Field(min_length=1)
    treatment: list[str] = Field(min_length=1)
    recovery: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


class _PagesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pages: dict[str, _Extra]


@dataclass(frozen=True)
class ConditionPage:
    id: str
    slug: str
    name: str
    explanation: str
    consultation: str
    symptoms: tuple[str, ...]
    causes: tuple[str, ...]
    treatment: tuple[str, ...]
    recovery: str
    sources: tuple[Citation, ...]
    treated_here: bool
    urgent: bool  # usually needs to be seen the same day (or in an emergency department)


def _extras() -> dict[str, _Extra]:
    with PAGES.open(encoding="utf-8") as fh:
        return _PagesFile.model_validate(yaml.safe_load(fh)).pages


def _public_citations(keys: list[str]) -> tuple[Citation, ...]:
    """Readable citations for patients: no specialists' estimates as a source, no coding references."""
    known = sources()
    shown = [k for k in dict.fromkeys(keys) if k != "EE" and known.get(k, {}).get("audience", "all") == "all"]
    return tuple(cite(shown))


@lru_cache(maxsize=1)
def condition_pages() -> tuple[ConditionPage, ...]:
    """Every condition's page: those the clinic treats first (in the file's order), then the rest by name."""
    kb = load_kb()
    extras = _extras()
    texts = finding_texts()
    pages = []
    for c in kb.conditions:
        extra = extras.get(c.id)
        history = sorted(
            ((fid, sp) for fid, sp in c.likelihoods.items()
             if kb.finding_by_id[fid].group == "history" and sp.p >= SYMPTOM_THRESHOLD),
            key=lambda item: -item[1].p)
        symptoms = tuple(texts.get(fid) or kb.finding_by_id[fid].question for fid, _ in history[:MAX_SYMPTOMS])
        evidence = [k for sp in (c.prior, *c.likelihoods.values()) for k in sp.src]
        pages.append(ConditionPage(
            id=c.id, slug=extra.slug if extra else c.id.replace("_", "-"), name=c.patient.name,
            explanation=c.patient.explanation, consultation=c.patient.consultation, symptoms=symptoms,
            causes=tuple(extra.causes) if extra else (), treatment=tuple(extra.treatment) if extra else (),
            recovery=extra.recovery if extra else "",
            sources=_public_citations((extra.sources if extra else []) + evidence),
            treated_here=bool(extra and extra.treated_here),
            urgent=c.default_disposition in ("urgent", "emergency"),
        ))
    order = list(extras)
    return tuple(sorted(pages, key=lambda p: (order.index(p.id) if p.id in order else len(order), p.name.lower())))


def condition_page(slug: str) -> ConditionPage | None:
    return next((p for p in condition_pages() if p.slug == slug), None)
