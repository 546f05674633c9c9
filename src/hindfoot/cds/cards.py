"""Pure: decision-support results -> CDS Hooks 2.0 cards (https://cds-hooks.hl7.org/2.0/#cards).

No database and no web imports here: the service hands over the assessment result, the pathway's
recommendations with their citations and the proposed appointment times; this module decides which
cards to show. It is an adapter over the assessment and pathway engines, not a second engine.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

# How soon each triage disposition needs to be seen (knowledge/data/vocabulary.yaml, dispositions):
# emergency = an emergency department now (no clinic booking is soon enough); urgent = the same day or
# within 24 hours; routine = usually within 2 weeks; self_care = book if not better within 2 to 6 weeks.
SEEN_WITHIN = {"emergency": timedelta(0), "urgent": timedelta(hours=24), "routine": timedelta(days=14),
               "self_care": timedelta(weeks=6)}
DISPOSITION_TEXT = {
    "emergency": "go to an emergency department now",
    "urgent": "be seen the same day or within 24 hours",
    "routine": "a specialist consultation, usually within 2 weeks",
    "self_care": "self-management; book if not better within 2 to 6 weeks",
}
SOURCE = {"label": "hindfoot decision support", "topic": {
    "system": "https://hindfoot.org/fhir/CodeSystem/cds-topic", "code": "posterior-ankle-impingement",
    "display": "Posterior ankle impingement and its look-alikes"}}
DISCLAIMER = "Decision support, not a diagnosis: only a clinician who has examined the patient can diagnose."


def _card(summary: str, indicator: str, detail: str, *, sources: Sequence[dict[str, Any]] = (),
          links: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    card: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": summary[:140], "indicator": indicator,
                            "detail": detail, "source": dict(SOURCE)}
    if sources:
        first = sources[0]
        card["source"] = {**SOURCE, "label": first["label"][:200], **({"url": first["url"]} if first.get("url") else {})}
    if links:
        card["links"] = list(links)
    return card


def differential_card(ranking: Sequence[Any], disposition: str, link: dict[str, str], *, top: int = 3) -> dict[str, Any]:
    """The ranked differential (probabilities with the findings for and against the leader)."""
    lines = [f"{i}. **{r.name}**: {r.probability:.0%}" for i, r in enumerate(ranking[:top], start=1)]
    leader = ranking[0]
    why = ", ".join(c.finding.replace("_", " ") for c in leader.for_[:3])
    if why:
        lines.append(f"\nFor {leader.name}: {why}.")
    lines += [f"\nTriage: {DISPOSITION_TEXT.get(disposition, disposition)}.", DISCLAIMER]
    indicator = {"emergency": "critical", "urgent": "warning"}.get(disposition, "info")
    return _card(f"Differential: {leader.name} {leader.probability:.0%}", indicator, "\n".join(lines), links=[link])


def red_flag_cards(red_flags: Sequence[Any], citations: dict[str, dict[str, Any]], link: dict[str, str]) -> list[dict[str, Any]]:
    cards = []
    for rule in red_flags:
        suspected = f" (possible {rule.suspected.replace('_', ' ')})" if rule.suspected else ""
        sources = [citations[s] for s in rule.sources if s in citations]
        cards.append(_card(f"Red flag{suspected}: {DISPOSITION_TEXT.get(rule.disposition, rule.disposition)}",
                           "critical" if rule.disposition == "emergency" else "warning",
                           f"{rule.advice}\n\nFindings: {', '.join(f.replace('_', ' ') for f in rule.findings)}.",
                           sources=sources, links=[link]))
    return cards


def next_step_cards(recommendations: Sequence[tuple[Any, Sequence[dict[str, Any]]]], link: dict[str, str],
                    *, top: int = 2) -> list[dict[str, Any]]:
    """The care pathway's next steps (highest priority first), each with its sources."""
    cards = []
    for rec, sources in list(recommendations)[:top]:
        due = f"\n\nDue by {rec.due.isoformat()}." if rec.due else ""
        cards.append(_card(f"Next step: {rec.title}", "info", rec.explanation + due, sources=sources, links=[link]))
    return cards


def appointment_cards(disposition: str, proposed: Sequence[tuple[str, datetime]], now: datetime,
                      link: dict[str, str]) -> list[dict[str, Any]]:
    """A warning for each proposed appointment later than the triage says the patient must be seen."""
    deadline = now + SEEN_WITHIN[disposition]
    cards = []
    for label, start in proposed:
        if start > deadline:
            how_late = start - deadline
            days = how_late.days + (1 if how_late.seconds else 0)
            cards.append(_card(
                f"Not soon enough: the triage says {DISPOSITION_TEXT[disposition]}",
                "critical" if disposition in ("emergency", "urgent") else "warning",
                f"{label} starts {start.isoformat()}, about {days} day(s) after the patient should be seen "
                f"({DISPOSITION_TEXT[disposition]}). Offer an earlier slot or escalate.\n\n{DISCLAIMER}",
                links=[link]))
    return cards
